"""Run queries in worker processes that can be stopped at the timeout.

pyoxigraph has no timeout and cannot be interrupted from Python, so each query goes to one of
``settings.query_workers`` processes, each holding a read-only view of the store. A worker that
passes the deadline is killed and replaced; the others keep serving. Workers reopen the store
when the public snapshot changes (its key comes with each task), so a new load or a
published case is picked up.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

import pyoxigraph as ox

from coprod_kg.errors import CoprodError, QueryTimeout
from coprod_kg.manifest import Manifest, manifest_path, read_manifest
from coprod_kg.oxigraph_store import DEFAULT_MAX_BYTES, execute
from coprod_kg.public_view import open_snapshot, snapshot_key
from coprod_kg.store import (
    Dataset,
    GraphRecord,
    QueryRequest,
    QueryResult,
    StoreNotReady,
    resolve_dataset,
)


@dataclass(frozen=True)
class _Task:
    request: QueryRequest
    dataset: Dataset
    snapshot: str  #: key of the public snapshot to read (coprod_kg.public_view)


def _worker_main(conn: Connection, store_dir: str, max_results: int, max_bytes: int) -> None:
    """Loop of one worker process: receive a task, answer ("ok", result) or ("error", exc)."""
    store: ox.Store | None = None
    snapshot = ""
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        try:
            if store is None or task.snapshot != snapshot:
                store = None
                store = open_snapshot(Path(store_dir), task.snapshot)
                snapshot = task.snapshot
            conn.send(("ok", execute(store, task.request, task.dataset, max_results,
                                     max_bytes)))
        except CoprodError as exc:
            conn.send(("error", exc))
        except (OSError, RuntimeError) as exc:  # snapshots are immutable: this is a real fault
            store = None
            conn.send(("error", CoprodError(f"the store could not be read: {exc}")))


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection


class WorkerPool:
    """A fixed number of query processes; :meth:`run` is thread-safe and blocking."""

    def __init__(self, store_dir: Path, size: int, timeout: float, max_results: int,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if size < 1:
            raise ValueError("query_workers must be at least 1")
        self.store_dir = store_dir
        self.timeout = timeout
        self.max_results = max_results
        self.max_bytes = max_bytes
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._workers: dict[int, _Worker] = {}
        self._lock = threading.Lock()
        for _ in range(size):
            self._idle.put(self._spawn())

    def _spawn(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_worker_main,
            args=(child, str(self.store_dir), self.max_results, self.max_bytes),
            name="coprod-query-worker", daemon=True)
        process.start()
        child.close()
        worker = _Worker(process, parent)
        with self._lock:
            self._workers[id(worker)] = worker
        return worker

    def _retire(self, worker: _Worker) -> None:
        with self._lock:
            self._workers.pop(id(worker), None)
        worker.process.kill()
        worker.process.join(5)
        worker.conn.close()

    def run(self, request: QueryRequest, dataset: Dataset, snapshot: str) -> QueryResult:
        """Run one query in a worker; :class:`QueryTimeout` if it passes the timeout."""
        try:
            worker = self._idle.get(timeout=self.timeout)
        except queue.Empty:
            raise QueryTimeout("every query worker is busy; try again later") from None
        try:
            worker.conn.send(_Task(request, dataset, snapshot))
            if not worker.conn.poll(self.timeout):
                self._retire(worker)
                worker = self._spawn()
                raise QueryTimeout(f"the query ran longer than {self.timeout:g} s and was stopped")
            status, payload = worker.conn.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError) as exc:
            self._retire(worker)
            worker = self._spawn()
            raise CoprodError(f"the query worker stopped unexpectedly: {exc}") from exc
        finally:
            self._idle.put(worker)
        if status == "ok":
            assert isinstance(payload, QueryResult)
            return payload
        assert isinstance(payload, CoprodError)
        raise payload

    def close(self) -> None:
        """Stop every worker process."""
        with self._lock:
            workers = list(self._workers.values())
            self._workers.clear()
        for worker in workers:
            worker.process.kill()
            worker.process.join(5)
            worker.conn.close()


class PooledStore:
    """The server's :class:`~coprod_kg.store.KnowledgeStore`: queries run in a worker pool."""

    def __init__(self, store_dir: Path, workers: int, timeout: float, max_results: int,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.store_dir = store_dir
        self.pool = WorkerPool(store_dir, workers, timeout, max_results, max_bytes)
        self._cached: tuple[tuple[int, int], Manifest] | None = None
        self._lock = threading.Lock()

    def manifest(self) -> Manifest | None:
        """The load manifest, re-read only when the file changed."""
        try:
            stat = manifest_path(self.store_dir).stat()
        except FileNotFoundError:
            return None
        key = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if self._cached is None or self._cached[0] != key:
                manifest = read_manifest(self.store_dir)
                if manifest is None:
                    return None
                self._cached = (key, manifest)
            return self._cached[1]

    def query(self, request: QueryRequest) -> QueryResult:
        manifest = self.manifest()
        if manifest is None:
            raise StoreNotReady(f"the store {self.store_dir} is not loaded; run `coprod-kg load`")
        dataset = resolve_dataset(request, manifest.public_graphs(), manifest.private_graphs(),
                                  public_only_store=True)
        return self.pool.run(request, dataset, snapshot_key(manifest))

    def graphs(self) -> list[GraphRecord]:
        manifest = self.manifest()
        return [] if manifest is None else [manifest.graphs[n] for n in manifest.public_graphs()]

    def ready(self) -> bool:
        return self.manifest() is not None

    def close(self) -> None:
        self.pool.close()
