"""Run queries in sandboxed worker processes that can be stopped at the timeout.

pyoxigraph has no timeout and cannot be interrupted from Python, so each query goes to a worker
process, which can be killed. Before it reads any task, a worker takes the network away from itself
and caps its memory (:mod:`coprod_kg.sparql.sandbox`); then, for each task, it parses and checks the
query (:mod:`coprod_kg.sparql.safety`: SERVICE, updates, the ``FROM`` allow-list, the query form and
the answer's format) unless its text cannot hold what the parse guards against (:func:`answer`),
runs it on the public snapshot and writes the answer, to a spool file when asked
(:mod:`coprod_kg.sparql.spool`). A worker that passes the deadline is killed and replaced; one
that runs out of memory dies (the engine aborts) and is replaced too; the others keep serving.
Workers reopen the store when the public snapshot changes (its key comes with each task). A pool
with no store directory only checks queries (the remote back end).

The server has one pool per lane (:data:`~coprod_kg.storage.store.Lane`): the site's own reads never
wait behind anonymous ``/sparql`` queries.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import signal
import threading
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

import pyoxigraph as ox

from coprod_kg.errors import CoprodError, NotAcceptable, QueryOutOfMemory, QueryTimeout
from coprod_kg.fairness.budget import waiting_for_worker
from coprod_kg.rdf.formats import QueryForm
from coprod_kg.sparql.safety import QueryInfo, Verdicts, analyse_query, parse_deadline
from coprod_kg.sparql.sandbox import install_barriers, limit_memory
from coprod_kg.sparql.spool import Spool
from coprod_kg.storage.embedded.oxigraph_store import DEFAULT_MAX_BYTES, execute
from coprod_kg.storage.embedded.public_view import open_snapshot, snapshot_key
from coprod_kg.storage.manifest import Manifest, manifest_path, read_manifest
from coprod_kg.storage.store import (
    Dataset,
    GraphRecord,
    Lane,
    MalformedQuery,
    Plan,
    QueryRequest,
    QueryResult,
    StoreNotReady,
    dataset_for,
    plan_query,
    unparsed_dataset,
)

log = logging.getLogger(__name__)

#: Seconds a new worker may take to start (imports, sandbox) before the pool gives up on it.
START_SECONDS = 120.0


@dataclass(frozen=True)
class WorkerConfig:
    """What every worker of a pool is started with."""

    store_dir: str  #: "" for a pool that only checks queries
    max_results: int
    max_bytes: int = DEFAULT_MAX_BYTES
    memory_mb: int = 0
    allow_unsandboxed: bool = False
    parse_seconds: float = 10.0  #: past this, a query is "too complex to check" (400)
    check_queries: bool = True  #: False only in tests: the sandbox alone must then hold


@dataclass(frozen=True)
class _Task:
    request: QueryRequest
    #: the public graphs, the allow-list of the dataset; ``None``: the ones the worker was
    #: last sent with the same snapshot (the pool knows; the list is long, a query short)
    public: tuple[str, ...] | None
    snapshot: str | None  #: key of the public snapshot to read; None: only check the query
    spool: str | None = None  #: write the answer to this new file


#: This worker process's last parse verdicts (see :class:`~coprod_kg.sparql.safety.Verdicts`).
_VERDICTS = Verdicts()


def _checked(task: _Task, config: WorkerConfig) -> Plan:
    """Parse and check the task's query once: its form, answer format and allowed dataset
    (a text this worker already parsed keeps its verdict)."""
    local = task.snapshot is not None  # the snapshot holds public graphs only: its union
    with parse_deadline(config.parse_seconds):
        return plan_query(task.request, task.public or (), local, analyse=_VERDICTS.analyse)


def _dataset(task: _Task, config: WorkerConfig) -> tuple[QueryForm | None, Dataset]:
    """The form (``None``: unknown) and dataset to run the task's query with."""
    if not config.check_queries:  # tests only: what the sandbox alone stops
        return None, dataset_for(task.request, QueryInfo(QueryForm.SELECT), task.public or (),
                                 True)
    plan = _checked(task, config)
    return plan.form, plan.dataset


def answer(task: _Task, config: WorkerConfig, store: ox.Store,
           spool: Path | None) -> QueryResult:
    """Run the task's query on ``store`` (the public snapshot) and serialise its answer.

    A query whose text cannot hold what the parse guards against
    (:func:`~coprod_kg.storage.store.unparsed_dataset`) goes straight to the engine, which
    parses it and reads only the snapshot's union; its form, and so its answer's format, is
    the engine's answer's. If the engine refuses its syntax, or no format of that form is
    acceptable, the query takes the parsed path after all, so the refusal is the one the
    parse gives (an update, the parser's position, the form's name in a 406).
    """
    plain = unparsed_dataset(task.request, True) if config.check_queries else None
    if plain is not None:
        try:
            return execute(store, task.request, plain, config.max_results, config.max_bytes,
                           None, spool)
        except (MalformedQuery, NotAcceptable):
            pass
    form, dataset = _dataset(task, config)
    return execute(store, task.request, dataset, config.max_results, config.max_bytes, form,
                   spool)


def _worker_main(conn: Connection, config: WorkerConfig) -> None:
    """One worker process: sandbox itself, then answer tasks ("ok", result) or ("error", exc)."""
    try:
        barriers = install_barriers(config.allow_unsandboxed)
        limit_memory(config.memory_mb)
    except CoprodError as exc:
        conn.send(("error", exc))
        return
    analyse_query("ASK {}")  # load the grammar now, not during the first query
    conn.send(("ready", barriers))
    store: ox.Store | None = None
    snapshot = ""
    public: tuple[str | None, tuple[str, ...]] = (None, ())  # (snapshot, its public graphs)
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        if task.public is not None:
            public = (task.snapshot, task.public)
        elif public[0] == task.snapshot:
            task = replace(task, public=public[1])
        try:
            if task.public is None:  # the pool's bookkeeping failed: never guess the list
                raise CoprodError("a query task came without its public graphs")
            if task.snapshot is None:
                conn.send(("ok", _checked(task, config)))
                continue
            if store is None or task.snapshot != snapshot:
                store = None
                store = open_snapshot(Path(config.store_dir), task.snapshot)
                snapshot = task.snapshot
            spool = Path(task.spool) if task.spool else None
            conn.send(("ok", answer(task, config, store, spool)))
        except CoprodError as exc:
            conn.send(("error", exc))
        except MemoryError:  # Python's own allocations hit the limit; start afresh
            conn.send(("error", QueryOutOfMemory(_out_of_memory(config.memory_mb))))
            return
        except (OSError, RuntimeError) as exc:  # snapshots are immutable: this is a real fault
            store = None
            conn.send(("error", CoprodError(f"the store could not be read: {exc}")))


def _out_of_memory(memory_mb: int) -> str:
    return (f"the query needed more than {memory_mb} MB of memory and was stopped; add a "
            "LIMIT, or narrow the patterns")


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    ready: bool = False
    #: the snapshot whose public graphs this worker was last sent (it keeps them)
    public_for: str | None = None


class WorkerPool:
    """A fixed number of sandboxed query processes; :meth:`run` is thread-safe and blocking.

    The constructor waits until every worker has installed its sandbox and raises
    :class:`~coprod_kg.sparql.sandbox.SandboxUnavailable` if one could not.
    """

    def __init__(self, config: WorkerConfig, size: int, timeout: float,
                 name: str = "query") -> None:
        if size < 1:
            raise ValueError("a query worker pool needs at least 1 worker")
        self.config = config
        self.timeout = timeout
        self.name = name
        self.barriers: tuple[str, ...] = ()
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._workers: dict[int, _Worker] = {}
        self._lock = threading.Lock()
        started = [self._spawn() for _ in range(size)]
        try:
            for worker in started:
                self._await_ready(worker, START_SECONDS)
        except CoprodError:
            self.close()
            raise
        for worker in started:
            self._idle.put(worker)
        log.info("%d %s workers, network barriers: %s", size, name,
                 ", ".join(self.barriers) or "none (COPROD_ALLOW_UNSANDBOXED_QUERIES)")

    def _spawn(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_worker_main, args=(child, self.config),
                                         name=f"coprod-{self.name}-worker", daemon=True)
        process.start()
        child.close()
        worker = _Worker(process, parent)
        with self._lock:
            self._workers[id(worker)] = worker
        return worker

    def _await_ready(self, worker: _Worker, timeout: float) -> None:
        """Read the worker's hello: the barriers it installed, or why it could not."""
        if worker.ready:
            return
        try:
            if not worker.conn.poll(timeout):
                raise CoprodError(f"a {self.name} worker did not start within {timeout:g} s")
            status, payload = worker.conn.recv()
        except (EOFError, ConnectionResetError) as exc:
            raise CoprodError(f"a {self.name} worker exited while starting "
                              f"({worker.process.exitcode})") from exc
        if status == "error":
            assert isinstance(payload, CoprodError)
            raise payload
        worker.ready = True
        self.barriers = tuple(payload)

    def _retire(self, worker: _Worker, wait: float = 0.0) -> int | None:
        """Stop ``worker`` (after ``wait`` s if it is ending on its own); its exit code
        (negative: the signal that ended it)."""
        with self._lock:
            self._workers.pop(id(worker), None)
        if wait:
            worker.process.join(wait)
        exitcode = worker.process.exitcode
        worker.process.kill()
        worker.process.join(5)
        worker.conn.close()
        return exitcode

    def run(self, task: _Task) -> object:
        """Run one task in a worker: its answer, or the error it raised.

        :class:`QueryTimeout` if it passes the timeout, :class:`QueryOutOfMemory` if the worker
        died of its memory limit; either way the worker is replaced.
        """
        try:
            with waiting_for_worker():  # queueing is not charged to the client's budget
                worker = self._idle.get(timeout=self.timeout)
        except queue.Empty:
            raise QueryTimeout(f"every {self.name} worker is busy; try again later") from None
        try:
            self._await_ready(worker, START_SECONDS)
            if task.snapshot is not None and worker.public_for == task.snapshot:
                worker.conn.send(replace(task, public=None))
            else:
                worker.public_for = None  # until the send is complete
                worker.conn.send(task)
                worker.public_for = task.snapshot
            if not worker.conn.poll(self.timeout):
                self._retire(worker)
                worker = self._spawn()
                raise QueryTimeout(f"the query ran longer than {self.timeout:g} s and was stopped")
            status, payload = worker.conn.recv()
            if isinstance(payload, QueryOutOfMemory):  # the worker exits: replace it
                self._retire(worker, wait=5)
                worker = self._spawn()
        except (EOFError, BrokenPipeError, ConnectionResetError) as exc:
            exitcode = self._retire(worker, wait=5)  # dying on its own: learn how
            worker = self._spawn()
            if exitcode == -signal.SIGABRT and self.config.memory_mb:
                raise QueryOutOfMemory(_out_of_memory(self.config.memory_mb)) from None
            raise CoprodError(f"the query worker stopped unexpectedly ({exitcode}): "
                              f"{exc}") from exc
        finally:
            self._idle.put(worker)
        if status == "ok":
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


def check_task(request: QueryRequest, public: list[str]) -> _Task:
    """A task that only parses and checks ``request`` (its answer is a :class:`Plan`)."""
    return _Task(request, tuple(public), None)


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
                 check_queries: bool = True) -> None:
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
        self._cached: _Published | None = None
        self._lock = threading.Lock()

    @property
    def pool(self) -> WorkerPool:
        """The pool of ``/sparql`` (the public lane)."""
        return self.pools["public"]

    def _current(self) -> _Published | None:
        """The load manifest and what is derived from it, re-read only when the file changed."""
        try:
            stat = manifest_path(self.store_dir).stat()
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

    def query(self, request: QueryRequest) -> QueryResult:
        current = self._current()
        if current is None:
            raise StoreNotReady(f"the store {self.store_dir} is not loaded; run `coprod-kg load`")
        path = self.spool.new_path() if request.spool else None
        task = _Task(request, current.public, current.snapshot, str(path) if path else None)
        try:
            result = self.pools[request.lane].run(task)
        except CoprodError:
            if path is not None:  # a killed worker leaves its half-written file
                path.unlink(missing_ok=True)
            raise
        assert isinstance(result, QueryResult)
        return result

    def graphs(self) -> list[GraphRecord]:
        manifest = self.manifest()
        return [] if manifest is None else [manifest.graphs[n] for n in manifest.public_graphs()]

    def ready(self) -> bool:
        return self.manifest() is not None

    def close(self) -> None:
        for pool in self.pools.values():
            pool.close()
        if hasattr(self, "spool"):
            self.spool.close()
