"""The private directory where query answers wait, complete, until the API has sent them.

A query worker writes its whole answer into a new file here (the answer is complete before any
status line is sent) and hands back the path; the API streams the file in small chunks and
deletes it, so a slow or absent reader pins a file on disk, not the API process's memory. The
directory is made by :func:`tempfile.mkdtemp` (mode 0700) and each file is created 0600.

The total is bounded: a new answer is refused (:class:`SpoolFull`, 503) while the files on
disk plus one whole answer (``max_bytes``) would pass ``max_total`` (an empty spool always
takes one). The usage is the size on disk of the complete answers this spool's users said
they left in files (:meth:`Spool.settled`), as long as those files exist: a file deleted by
anyone gives its space back at once, and the directory (private to this user) is not listed
per request. Answers being written are not counted until they are complete, so the spool may
overshoot by at most one answer (``max_bytes``) per worker writing one.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import BinaryIO

from coprod_kg.errors import CoprodError


class SpoolFull(CoprodError):
    """Too many answers are waiting on disk for their clients."""

    status = 503


def open_spool_file(path: Path) -> BinaryIO:
    """Create ``path`` for an answer: new, readable and writable by this user only."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


class Spool:
    """A private directory of answer files with a bound on their total size."""

    def __init__(self, max_total: int, max_bytes: int, parent: Path | None = None) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="coprod-answers-", dir=parent))
        self.max_total = max_total
        self.max_bytes = max_bytes
        self._count = itertools.count()
        self._lock = threading.Lock()
        #: The complete answers waiting in files to be sent (until they are gone).
        self._kept: set[str] = set()

    def used(self) -> int:
        """Bytes held by the files now in the spool.

        >>> spool = Spool(10, 5)
        >>> path = spool.new_path()
        >>> _ = path.write_bytes(b"abc"); spool.settled(path, kept=True); spool.used()
        3
        >>> path.unlink(); spool.used(), spool.close()
        (0, None)
        """
        with self._lock:
            return self._used()

    def _used(self) -> int:
        total = 0
        for name in list(self._kept):
            try:
                total += os.stat(name).st_size
            except FileNotFoundError:  # sent, or deleted by anyone: its space is free
                self._kept.discard(name)
        return total

    def new_path(self) -> Path:
        """A fresh file name for one answer; :class:`SpoolFull` if the spool has no room."""
        with self._lock:
            used = self._used()
            if used and used + self.max_bytes > self.max_total:
                raise SpoolFull(f"{used} bytes of answers are waiting for their clients; "
                                "try again later")
            return self.directory / f"answer-{os.getpid()}-{next(self._count)}"

    def settled(self, path: Path | str | None, kept: bool) -> None:
        """The answer meant for ``path`` is complete (``kept``: in that file, which waits to
        be sent) or failed; no one writes the file from now on."""
        if path is not None and kept:
            with self._lock:
                self._kept.add(str(path))

    def close(self) -> None:
        """Remove the directory and every file left in it."""
        shutil.rmtree(self.directory, ignore_errors=True)
