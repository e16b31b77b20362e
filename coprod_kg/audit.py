"""The write log: one JSON line per write (who, when, what), appended and flushed to disk."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

AUDIT_FILE = "audit.log.jsonl"


@dataclass(frozen=True)
class AuditEntry:
    """One write: who did what to which resource, and when."""

    at: str
    user: str
    action: str
    target: str
    detail: str = ""


class AuditLog:
    """An append-only log in the store directory, outside every RDF graph."""

    def __init__(self, store_dir: Path) -> None:
        store_dir.mkdir(parents=True, exist_ok=True)
        self.path = store_dir / AUDIT_FILE

    def record(self, user: str, action: str, target: str, detail: str = "") -> AuditEntry:
        """Append one entry and make it durable before returning."""
        entry = AuditEntry(datetime.now(UTC).isoformat(timespec="milliseconds"), user, action,
                           target, detail)
        line = (json.dumps(asdict(entry), ensure_ascii=False) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
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
