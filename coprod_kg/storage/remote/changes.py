"""A count of the writes this process made to the remote server, so that its readers know at
once that the published state they hold may be old (writes by other processes are seen when the
reader's cached state expires: ``COPROD_REMOTE_STATE_TTL``).

>>> changes = WriteCounter()
>>> before = changes.value
>>> changes.bump()
>>> changes.value == before + 1
True
"""

from __future__ import annotations

import threading


class WriteCounter:
    """A thread-safe counter that every remote write of this process bumps once it is done."""

    def __init__(self) -> None:
        self._value = 0
        self._lock = threading.Lock()

    @property
    def value(self) -> int:
        """How many writes have completed so far."""
        return self._value

    def bump(self) -> None:
        """Record that a write completed."""
        with self._lock:
            self._value += 1
