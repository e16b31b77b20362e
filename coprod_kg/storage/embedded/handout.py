"""Idle query workers, and the requests waiting for one: threads and event loops in one line.

A query pool hands its idle workers out through a :class:`Handout`, the most recently given
back first (its caches are warm: a worker idle for long answers a light query about 0.1 ms
later, ``bench/README.md``). A request that finds none
waits in one first-come-first-served line, whether it waits in a thread (:meth:`Handout.take`)
or on an event loop (:meth:`Handout.take_async`, without a thread: a waiting coroutine costs
no thread hand-off, and one that is cancelled leaves the line at once). A worker given back
goes straight to the first one waiting that has not given up.

Who holds what is decided under one lock: a waiter that gives up (timeout, cancellation) and
a worker offered to it at the same moment never both happen, so a worker is never lost and
never handed to two requests.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from contextlib import suppress
from typing import Generic, TypeVar

T = TypeVar("T")


class _Waiting(Generic[T]):
    """One request waiting for an item; ``item`` and ``gone`` change under the handout's lock."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self.item: T | None = None
        self.gone = False
        self.loop = loop
        self.thread = threading.get_ident()
        self.event = threading.Event() if loop is None else None
        self.future: asyncio.Future[None] | None = (
            None if loop is None else loop.create_future())

    def offer(self, item: T) -> bool:
        """Give ``item`` to this waiter, unless it has given up (called under the lock)."""
        if self.gone:
            return False
        if self.loop is None:
            assert self.event is not None
            self.item = item
            self.event.set()
            return True
        try:
            if threading.get_ident() == self.thread:
                self.loop.call_soon(_wake, self.future)
            else:
                self.loop.call_soon_threadsafe(_wake, self.future)
        except RuntimeError:  # its loop is closed: nobody is waiting any more
            self.gone = True
            return False
        self.item = item
        return True


def _wake(future: asyncio.Future[None] | None) -> None:
    if future is not None and not future.done():
        future.set_result(None)


class Handout(Generic[T]):
    """Idle items and a first-come-first-served line of waiters.

    >>> handout: Handout[str] = Handout()
    >>> handout.put("w1"); len(handout), handout.take(0.1), handout.take(0.01)
    (1, 'w1', None)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: deque[T] = deque()
        self._line: deque[_Waiting[T]] = deque()

    def __len__(self) -> int:
        """How many items are idle now."""
        with self._lock:
            return len(self._idle)

    def put(self, item: T) -> None:
        """Give ``item`` back: to the first waiter still waiting, else to the idle ones."""
        with self._lock:
            while self._line:
                if self._line.popleft().offer(item):
                    return
            self._idle.append(item)

    def take_nowait(self) -> T | None:
        """An idle item, or ``None``."""
        with self._lock:
            return self._idle.pop() if self._idle else None

    def _join(self, loop: asyncio.AbstractEventLoop | None) -> T | _Waiting[T]:
        with self._lock:
            if self._idle:  # (then nobody is waiting: put serves the line first)
                return self._idle.pop()
            waiting: _Waiting[T] = _Waiting(loop)
            self._line.append(waiting)
            return waiting

    def _leave(self, waiting: _Waiting[T]) -> T | None:
        """Give up waiting, unless an item came meanwhile (then it is returned)."""
        with self._lock:
            if waiting.item is None:
                waiting.gone = True
                with suppress(ValueError):  # its loop closed as an item was offered
                    self._line.remove(waiting)
            return waiting.item

    def take(self, timeout: float) -> T | None:
        """An item, waiting in this thread up to ``timeout`` seconds (``None``: none came)."""
        joined = self._join(None)
        if not isinstance(joined, _Waiting):
            return joined
        assert joined.event is not None
        joined.event.wait(timeout)
        return self._leave(joined)

    async def take_async(self, timeout: float) -> T | None:
        """An item, awaited on the running loop up to ``timeout`` seconds (``None``: none
        came). Cancelled while waiting, it leaves the line; an item that reached it at that
        moment is given back."""
        joined = self._join(asyncio.get_running_loop())
        if not isinstance(joined, _Waiting):
            return joined
        assert joined.future is not None
        try:  # not wait_for: it returns a result that came with a cancellation (3.11)
            async with asyncio.timeout(timeout):
                await joined.future
        except TimeoutError:
            pass
        except asyncio.CancelledError:
            item = self._leave(joined)
            if item is not None:
                self.put(item)
            raise
        return self._leave(joined)
