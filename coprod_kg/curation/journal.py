"""Intent records of curation writes: what a crash interrupted, so start-up can finish it.

A write (:meth:`~coprod_kg.curation.base.CurationBase.commit`) has several steps: its ONE
store update, the entailments, the manifest (and public snapshot), the audit line. Before the
first step it writes an intent record, durably, to ``intents/{id}.json`` in the store
directory, and keeps an exclusive lock on it while it runs; the update itself also inserts a
marker triple ``<{curation graph}#write-{id}>`` into the private curation graph, in the same
transaction. When every step is done the record is deleted.

On start the writer looks for records nobody holds locked (their process died) and decides,
for each, from the store and the audit log:

- the audit log has the write's line: every step was done; only the record is left;
- the marker is in the store: the update was applied; roll forward (entailments, manifest,
  audit line);
- neither: the update was never applied (it is atomic); the old state stands, roll back
  (nothing to undo in the store; only the record is deleted).

Either way, the state after recovery is the old one or the new one, complete.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from coprod_kg.atomic import fsync_dir, private_dir
from coprod_kg.curation.model import CURATION_GRAPH
from coprod_kg.rdf.namespaces import CP

INTENTS_DIR = "intents"
_WRITE_ID = f"<{CP}writeId>"


@dataclass(frozen=True)
class Intent:
    """A write about to happen: its id and what its audit line will say."""

    id: str
    user: str
    action: str
    target: str
    detail: str = ""


def marker(write: str) -> str:
    """The IRI of the marker triple's subject for write ``write``."""
    return f"{CURATION_GRAPH}#write-{write}"


def marker_quad(write: str) -> tuple[str, str]:
    """The marker of ``write`` as a (graph, N-Triples line) pair, for a staged update."""
    return CURATION_GRAPH, f"<{marker(write)}> {_WRITE_ID} {json.dumps(write)} ."


def insert_marker(write: str) -> str:
    """Update operations (to append after ``;``) inserting the marker of ``write``."""
    return (f"INSERT DATA {{ GRAPH <{CURATION_GRAPH}> {{ <{marker(write)}> {_WRITE_ID} "
            f"{json.dumps(write)} }} }}")


def delete_markers(writes: list[str]) -> str:
    """ONE update deleting the markers of ``writes``."""
    triples = " ".join(f"<{marker(w)}> {_WRITE_ID} {json.dumps(w)} ." for w in writes)
    return f"DELETE DATA {{ GRAPH <{CURATION_GRAPH}> {{ {triples} }} }}"


#: Every marker in the store: ``SELECT ?w``.
MARKERS_QUERY = (f"SELECT ?w WHERE {{ GRAPH <{CURATION_GRAPH}> {{ ?m {_WRITE_ID} ?w }} }}")


class Journal:
    """The intent records of one store directory."""

    def __init__(self, store_dir: Path) -> None:
        self.folder = store_dir / INTENTS_DIR

    def _path(self, write: str) -> Path:
        return self.folder / f"{write}.json"

    def begin(self, user: str, action: str, target: str, detail: str = "") -> Held:
        """Write a new intent record durably and lock it; ``finish()`` the result when done."""
        private_dir(self.folder)
        intent = Intent(uuid.uuid4().hex, user, action, target, detail)
        path = self._path(intent.id)
        fd, temporary = tempfile.mkstemp(prefix=f".{intent.id}.", dir=self.folder)
        try:
            os.write(fd, json.dumps(asdict(intent)).encode("utf-8"))
            os.fsync(fd)
            # Locked before it appears under its name, so no recovery takes it for a dead one.
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.replace(temporary, path)
            fsync_dir(self.folder)
        except BaseException:
            os.close(fd)
            Path(temporary).unlink(missing_ok=True)
            raise
        return Held(intent, path, fd)

    def unfinished(self) -> Iterator[Held]:
        """Records whose process is gone (not locked), each locked now for the caller."""
        if not self.folder.is_dir():
            return
        for path in sorted(self.folder.glob("*.json")):
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue  # finished meanwhile
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)  # a live writer (remote back end: another process) holds it
                continue
            try:
                raw = json.loads(os.read(fd, 1 << 20) or b"null")
                intent = Intent(**raw)
            except (ValueError, TypeError):
                intent = None  # written atomically, so never torn: not one of ours
            if intent is None or not path.exists():
                os.close(fd)
                continue
            yield Held(intent, path, fd)

    def ids(self) -> set[str]:
        """Ids of every record present (finished or not)."""
        if not self.folder.is_dir():
            return set()
        return {p.stem for p in self.folder.glob("*.json")}


@dataclass
class Held:
    """An intent record this process holds locked."""

    intent: Intent
    path: Path
    fd: int

    def finish(self) -> None:
        """Delete the record (durably) and release its lock."""
        try:
            self.path.unlink(missing_ok=True)
            fsync_dir(self.path.parent)
        finally:
            self.release()

    def release(self) -> None:
        """Release the lock and keep the record (the write failed; recovery decides)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
