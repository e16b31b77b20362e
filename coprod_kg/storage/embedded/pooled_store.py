"""The server's store: queries run in the sandboxed worker pools of
:mod:`coprod_kg.storage.embedded.query_worker`, one pool per lane, on the published snapshot;
a light lookup is answered in this process (:mod:`coprod_kg.storage.embedded.inline`).

Each query is pinned to the published state read when it starts: the task names that state's
snapshot (which never changes), and the answer says which state it came from. An answer too
large to travel back in the reply waits in a file of the store's spool
(:mod:`coprod_kg.sparql.spool`) until it is sent.
"""

from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from coprod_kg.errors import CoprodError
from coprod_kg.sparql.spool import Spool
from coprod_kg.storage.embedded.inline import InlineReader
from coprod_kg.storage.embedded.oxigraph_store import DEFAULT_MAX_BYTES
from coprod_kg.storage.embedded.public_view import snapshot_key
from coprod_kg.storage.embedded.query_task import Task, WorkerConfig
from coprod_kg.storage.embedded.query_worker import WorkerPool
from coprod_kg.storage.manifest import Manifest, manifest_path, read_manifest
from coprod_kg.storage.store import (
    GraphRecord,
    Lane,
    QueryRequest,
    QueryResult,
    StoreNotReady,
)

__all__ = ["PooledStore"]


@dataclass(frozen=True)
class _Published:
    """The manifest as last read, with what every query needs from it (computed once)."""

    file: tuple[int, int, int]  #: mtime, size and inode of the manifest file
    manifest: Manifest
    state: str  #: the published state (answer keys)
    snapshot: str  #: the key of its public snapshot
    public: tuple[str, ...]  #: its public graphs


class PooledStore:
    """The server's :class:`~coprod_kg.storage.store.KnowledgeStore`: queries run in sandboxed
    worker
    pools, one per lane (``workers`` for ``/sparql``, ``site_workers`` for the site)."""

    local_state = True

    def __init__(self, store_dir: Path, workers: int, timeout: float, max_results: int,
                 max_bytes: int = DEFAULT_MAX_BYTES, *, site_workers: int = 1,
                 memory_mb: int = 0, allow_unsandboxed: bool = False,
                 spool_max_bytes: int = 4 * DEFAULT_MAX_BYTES,
                 check_queries: bool = True, inline: bool = True) -> None:
        self.store_dir = store_dir
        config = WorkerConfig(str(store_dir), max_results, max_bytes, memory_mb,
                              allow_unsandboxed, min(10.0, timeout / 2), check_queries)
        self.pools: dict[Lane, WorkerPool] = {}
        try:
            self.pools["public"] = WorkerPool(config, workers, timeout, "query")
            self.pools["site"] = WorkerPool(config, site_workers, timeout, "site")
        except CoprodError:
            self.close()
            raise
        self.spool = Spool(spool_max_bytes, max_bytes)
        #: light lookups in this process; never when the workers skip their checks (tests of
        #: what the sandbox alone stops)
        self.inline = (InlineReader(store_dir, max_results, max_bytes)
                       if inline and check_queries else None)
        self._manifest_file = str(manifest_path(store_dir))  # stat per request: no Path
        self._cached: _Published | None = None
        self._lock = threading.Lock()

    @property
    def pool(self) -> WorkerPool:
        """The pool of ``/sparql`` (the public lane)."""
        return self.pools["public"]

    def _current(self) -> _Published | None:
        """The load manifest and what is derived from it, re-read only when the file changed."""
        try:
            stat = os.stat(self._manifest_file)
        except FileNotFoundError:
            return None
        key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        with self._lock:
            if self._cached is None or self._cached.file != key:
                manifest = read_manifest(self.store_dir)
                if manifest is None:
                    return None
                self._cached = _Published(key, manifest, manifest.public_state(),
                                          snapshot_key(manifest),
                                          tuple(manifest.public_graphs()))
            return self._cached

    def manifest(self) -> Manifest | None:
        """The load manifest, re-read only when the file changed."""
        current = self._current()
        return None if current is None else current.manifest

    def published_state(self) -> str | None:
        current = self._current()
        return None if current is None else current.state

    def _published(self) -> _Published:
        current = self._current()
        if current is None:
            raise StoreNotReady(f"the store {self.store_dir} is not loaded; run `coprod-kg load`")
        return current

    def _inline(self, request: QueryRequest, current: _Published) -> QueryResult | None:
        """The answer of a light lookup, computed in this process; else ``None``."""
        if self.inline is None:
            return None
        if not self.inline.holds(current.snapshot):
            self.inline.open(current.snapshot)
        return self.inline.answer(request, current.snapshot, current.state)

    async def _inline_async(self, request: QueryRequest,
                            current: _Published) -> QueryResult | None:
        """:meth:`_inline` on the event loop: a snapshot not open yet is opened in a thread."""
        if self.inline is not None and not self.inline.holds(current.snapshot):
            await asyncio.to_thread(self.inline.open, current.snapshot)
        return self._inline(request, current)

    def _task(self, request: QueryRequest, current: _Published) -> tuple[Task, str]:
        """The task for ``request`` on the published snapshot, and that snapshot's state."""
        path = self.spool.new_path() if request.spool else None
        return (Task(request, current.public, current.snapshot, str(path) if path else None),
                current.state)

    def _answered(self, task: Task, state: str, result: object) -> QueryResult:
        assert isinstance(result, QueryResult)
        self.spool.settled(task.spool, kept=result.path is not None)
        return replace(result, state=state)

    def query(self, request: QueryRequest) -> QueryResult:
        current = self._published()
        if (light := self._inline(request, current)) is not None:
            return light
        task, state = self._task(request, current)
        answered = False
        try:
            result = self.pools[request.lane].run(task)
            answered = True
        finally:
            if not answered:  # its worker is done or replaced: the file is nobody's
                self._abandon(task)
        return self._answered(task, state, result)

    async def query_async(self, request: QueryRequest) -> QueryResult:
        """:meth:`query` awaited on the event loop (:meth:`WorkerPool.run_async`); a light
        lookup is answered on the loop itself (it takes less than the hand-off would)."""
        current = self._published()
        if (light := await self._inline_async(request, current)) is not None:
            return light
        task, state = self._task(request, current)
        outcome = "failed"
        try:
            result = await self.pools[request.lane].run_async(
                task, lambda: self._abandon(task))
            outcome = "answered"
        except asyncio.CancelledError:  # run_async abandons it, once its worker is done
            outcome = "cancelled"
            raise
        finally:
            if outcome == "failed":  # its worker is done or replaced: the file is nobody's
                self._abandon(task)
        return self._answered(task, state, result)

    def _abandon(self, task: Task) -> None:
        """Delete the task's spool file (a killed worker leaves it half-written; a request
        that went away leaves a whole answer nobody will send)."""
        if task.spool is not None:
            Path(task.spool).unlink(missing_ok=True)
            self.spool.settled(task.spool, kept=False)

    def graphs(self) -> list[GraphRecord]:
        manifest = self.manifest()
        return [] if manifest is None else [manifest.graphs[n] for n in manifest.public_graphs()]

    def ready(self) -> bool:
        return self.manifest() is not None

    def close(self) -> None:
        for pool in self.pools.values():
            pool.close()
        inline: InlineReader | None = getattr(self, "inline", None)
        if inline is not None:
            inline.close()
        if hasattr(self, "spool"):
            self.spool.close()

