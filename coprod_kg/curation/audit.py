"""The write log: one JSON line per write (who, when, what), appended and flushed to disk.

The file is private (``0600``, in the ``0700`` store directory). Each curation write carries
the id of its intent record (:mod:`coprod_kg.curation.journal`), so recovery after a crash can
tell whether the write's line is already there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from coprod_kg.atomic import PRIVATE_FILE_MODE, private_dir

AUDIT_FILE = "audit.log.jsonl"


@dataclass(frozen=True)
class AuditEntry:
    """One write: who did what to which resource, and when (``write``: its intent id)."""

    at: str
    user: str
    action: str
    target: str
    detail: str = ""
    write: str = ""


class AuditLog:
    """An append-only log in the store directory, outside every RDF graph."""

    def __init__(self, store_dir: Path) -> None:
        private_dir(store_dir)
        self.path = store_dir / AUDIT_FILE

    def record(self, user: str, action: str, target: str, detail: str = "",
               write: str = "") -> AuditEntry:
        """Append one entry and make it durable before returning."""
        entry = AuditEntry(datetime.now(UTC).isoformat(timespec="milliseconds"), user, action,
                           target, detail, write)
        fields = {k: v for k, v in asdict(entry).items() if k != "write" or v}
        line = (json.dumps(fields, ensure_ascii=False) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE_MODE)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        return entry

    def entries(self) -> Iterator[AuditEntry]:
        """Every complete entry, oldest first (a torn last line from a crash is skipped)."""
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as log:
            for line in log:
                if line.endswith("\n"):
                    yield AuditEntry(**json.loads(line))

    def has_write(self, write: str) -> bool:
        """Whether an entry carries intent id ``write``."""
        return bool(write) and any(e.write == write for e in self.entries())

    def repair_tail(self) -> bool:
        """Cut a torn last line (a crash while appending), so the next line starts clean.

        Returns True if something was cut. Only the writer calls this, at start.
        """
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return False
        if size == 0:
            return False
        with self.path.open("rb+") as log:
            log.seek(size - 1)
            if log.read(1) == b"\n":
                return False
            log.seek(0)
            log.truncate(log.read().rfind(b"\n") + 1)
            log.flush()
            os.fsync(log.fileno())
        return True
