"""Write a file all or nothing: the one way this package replaces a file on disk.

Also the rule for the store directory's permissions: it holds private graphs, accounts and the
audit log, so it is created ``0700`` and every file in it ``0600`` (:func:`private_dir` sets the
process's umask, which also covers the files the storage engine creates later).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

#: Permissions of the store directory, of every folder in it, and of every file in it.
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
#: The umask of a process that writes a store: nothing for the group or other users.
PRIVATE_UMASK = 0o077


def private_umask() -> None:
    """Make every file and folder this process creates from now on private to its user.

    Process-wide on purpose: the storage engine creates files (compactions, logs, snapshots)
    long after a store is opened, and only the umask reaches those.
    """
    os.umask(os.umask(PRIVATE_UMASK) | PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) if needed and make it ``0700``; sets the umask too.

    An existing store directory made by an earlier version with ``0755`` is tightened here, so
    its files stop being readable by other local users even if their own modes are wider.
    """
    private_umask()
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    status = path.stat()
    if status.st_mode & 0o777 != PRIVATE_DIR_MODE and status.st_uid == os.geteuid():
        path.chmod(PRIVATE_DIR_MODE)
    return path


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in folder ``path`` durable (POSIX needs the folder synced)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_write(path: Path, mode: int = 0o644) -> Iterator[BinaryIO]:
    """Yield a binary stream whose content replaces ``path`` only if the block succeeds.

    The data goes to a temporary file in the same folder, is synced to disk, then renamed over
    ``path`` (atomic on POSIX) and the folder is synced, so the new content survives a power
    loss once this returns; on any error the temporary file is removed and ``path`` is left as
    it was. ``mode``: the permissions of the new file (files of a store pass
    :data:`PRIVATE_FILE_MODE`; built documents and dumps are public).

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "x.txt"
    >>> with atomic_write(target, PRIVATE_FILE_MODE) as out:
    ...     _ = out.write(b"done")
    >>> target.read_bytes(), oct(target.stat().st_mode & 0o777)
    (b'done', '0o600')
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
        fsync_dir(path.parent)
    finally:
        Path(temporary).unlink(missing_ok=True)  # gone already after a successful replace


def write_bytes(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` by ``data`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, mode) as out:
        out.write(data)
