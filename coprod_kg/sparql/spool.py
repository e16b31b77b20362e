"""The private directory where query answers wait, complete, until the API has sent them.

A query worker writes its whole answer into a new file here (the answer is complete before any
status line is sent) and hands back the path; the API streams the file in small chunks and
deletes it, so a slow or absent reader pins a file on disk, not the API process's memory. The
directory is made by :func:`tempfile.mkdtemp` (mode 0700) and each file is created 0600.

The total is bounded: a new answer is refused (:class:`SpoolFull`, 503) while the files on
disk plus one whole answer (``max_bytes``) would pass ``max_total`` (an empty spool always
takes one). The usage is read from the
directory itself, so a file deleted by anyone gives its space back at once; answers being
written at that moment may overshoot by at most one answer per worker.
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

    def used(self) -> int:
        """Bytes held by the files now in the spool."""
        total = 0
        with os.scandir(self.directory) as entries:
            for entry in entries:
                try:
                    total += entry.stat().st_size
                except FileNotFoundError:  # deleted meanwhile: its space is free
                    continue
        return total

    def new_path(self) -> Path:
        """A fresh file name for one answer; :class:`SpoolFull` if the spool has no room."""
        with self._lock:
            used = self.used()
            if used and used + self.max_bytes > self.max_total:
                raise SpoolFull(f"{used} bytes of answers are waiting for their clients; "
                                "try again later")
            return self.directory / f"answer-{os.getpid()}-{next(self._count)}"

    def close(self) -> None:
        """Remove the directory and every file left in it."""
        shutil.rmtree(self.directory, ignore_errors=True)
