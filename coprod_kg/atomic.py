"""Write a file all or nothing: the one way this package replaces a file on disk."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def atomic_write(path: Path, mode: int = 0o644) -> Iterator[BinaryIO]:
    """Yield a binary stream whose content replaces ``path`` only if the block succeeds.

    The data goes to a temporary file in the same folder, is synced to disk, then renamed over
    ``path`` (atomic on POSIX); on any error the temporary file is removed and ``path`` is left
    as it was. ``mode``: the permissions of the new file (``mkstemp`` would make it private).

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "x.txt"
    >>> with atomic_write(target) as out:
    ...     _ = out.write(b"done")
    >>> target.read_bytes()
    b'done'
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)  # gone already after a successful replace


def write_bytes(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` by ``data`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, mode) as out:
        out.write(data)
