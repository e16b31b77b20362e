"""The server's pools of sandboxed query worker processes, and the store that uses them.

Each query goes to a worker process (:mod:`coprod_kg.storage.embedded.query_task`) which can be
killed: a worker that passes the deadline is killed and replaced; one that runs out of memory
dies (the engine aborts) and is replaced too; the others keep serving. A pool with no store
directory only checks queries (the remote back end).

The server has one pool per lane (:data:`~coprod_kg.storage.store.Lane`): the site's own reads never
wait behind anonymous ``/sparql`` queries.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from coprod_kg.errors import CoprodError, QueryOutOfMemory, QueryTimeout
from coprod_kg.fairness.budget import waiting_for_worker
from coprod_kg.processes import worker_context
from coprod_kg.sparql.spool import Spool
from coprod_kg.storage.embedded.handout import Handout
from coprod_kg.storage.embedded.oxigraph_store import DEFAULT_MAX_BYTES
from coprod_kg.storage.embedded.public_view import snapshot_key
from coprod_kg.storage.embedded.query_task import (
    Task,
    WorkerConfig,
    out_of_memory,
    worker_main,
)
from coprod_kg.storage.manifest import Manifest, manifest_path, read_manifest
from coprod_kg.storage.store import (
    GraphRecord,
    Lane,
    QueryRequest,
    QueryResult,
    StoreNotReady,
)

__all__ = ["PooledStore", "WorkerConfig", "WorkerPool", "check_task"]

log = logging.getLogger(__name__)

#: Seconds a new worker may take to start (imports, sandbox) before the pool gives up on it.
START_SECONDS = 120.0


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
        self._context = worker_context()
        self._idle: Handout[_Worker] = Handout()
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
        process = self._context.Process(target=worker_main, args=(child, self.config),
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

    def run(self, task: Task) -> object:
        """Run one task in a worker: its answer, or the error it raised.

        :class:`QueryTimeout` if it passes the timeout, :class:`QueryOutOfMemory` if the worker
        died of its memory limit; either way the worker is replaced.
        """
        with waiting_for_worker():  # queueing is not charged to the client's budget
            worker = self._idle.take(self.timeout)
        if worker is None:
            raise self._busy()
        return self._run_on(worker, task)

    def _run_on(self, worker: _Worker, task: Task) -> object:
        """:meth:`run` on ``worker`` (taken from the idle ones; given back, or its
        replacement)."""
        try:
            self._await_ready(worker, START_SECONDS)
            self._send(worker, task)
            if not worker.conn.poll(self.timeout):
                worker = self._replace(worker)
                raise self._timeout()
            status, payload = worker.conn.recv()
            if isinstance(payload, QueryOutOfMemory):  # the worker exits: replace it
                worker = self._replace(worker, wait=5)
        except (EOFError, BrokenPipeError, ConnectionResetError) as exc:
            worker, error = self._died(worker, exc)
            raise error from exc
        finally:
            self._idle.put(worker)
        return _outcome(status, payload)

    async def run_async(self, task: Task,
                        abandon: Callable[[], None] | None = None) -> object:
        """:meth:`run` on the event loop, without a thread while it can: the request waits
        for a worker in the pool's line (:mod:`~coprod_kg.storage.embedded.handout`), the
        worker is sent the task, and its answer is awaited as its pipe becomes readable. A
        worker still starting, and the slow repairs (replacing a worker that timed out or
        died), go to a thread.

        A request cancelled while it waits leaves the line. One cancelled once a worker has
        its task does not hand the worker back before it answered (the next query would get
        that answer); ``abandon`` is called when the answer is known to be for nobody: at
        the cancellation while waiting, else once the worker is done."""
        try:
            with waiting_for_worker():  # queueing is not charged to the client's budget
                worker = await self._idle.take_async(self.timeout)
        except asyncio.CancelledError:
            if abandon is not None:
                abandon()
            raise
        if worker is None:
            raise self._busy()
        running: asyncio.Future[object] = asyncio.ensure_future(
            self._exchange(worker, task) if worker.ready
            else asyncio.to_thread(self._run_on, worker, task))
        try:
            return await asyncio.shield(running)
        except asyncio.CancelledError:
            if abandon is not None:
                running.add_done_callback(lambda _: abandon())
            raise

    async def _exchange(self, worker: _Worker, task: Task) -> object:
        """Send ``task`` to ``worker`` (taken from the idle ones), await its answer, put it (or
        its replacement) back."""
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[None] = loop.create_future()
        fd = worker.conn.fileno()
        try:
            self._send(worker, task)
            loop.add_reader(fd, _settle, answered)
            try:
                await asyncio.wait_for(answered, self.timeout)
            except TimeoutError:
                worker = await asyncio.to_thread(self._replace, worker)
                raise self._timeout() from None
            finally:
                loop.remove_reader(fd)
                os.set_blocking(fd, True)  # uvloop made it non-blocking; recv reads it whole
            status, payload = worker.conn.recv()
            if isinstance(payload, QueryOutOfMemory):
                worker = await asyncio.to_thread(self._replace, worker, 5)
        except (EOFError, BrokenPipeError, ConnectionResetError) as exc:
            worker, error = await asyncio.to_thread(self._died, worker, exc)
            raise error from exc
        finally:
            self._idle.put(worker)
        return _outcome(status, payload)

    def _send(self, worker: _Worker, task: Task) -> None:
        """Send ``task``, without its list of public graphs if ``worker`` has it already."""
        if task.snapshot is not None and worker.public_for == task.snapshot:
            worker.conn.send(replace(task, public=None))
        else:
            worker.public_for = None  # until the send is complete
            worker.conn.send(task)
            worker.public_for = task.snapshot

    def _replace(self, worker: _Worker, wait: float = 0.0) -> _Worker:
        """Stop ``worker`` and start another in its place."""
        self._retire(worker, wait)
        return self._spawn()

    def _busy(self) -> QueryTimeout:
        return QueryTimeout(f"every {self.name} worker is busy; try again later")

    def _timeout(self) -> QueryTimeout:
        return QueryTimeout(f"the query ran longer than {self.timeout:g} s and was stopped")

    def _died(self, worker: _Worker, exc: BaseException) -> tuple[_Worker, CoprodError]:
        """A worker whose pipe broke: its replacement, and the error to report."""
        exitcode = self._retire(worker, wait=5)  # dying on its own: learn how
        replacement = self._spawn()
        if exitcode == -signal.SIGABRT and self.config.memory_mb:
            return replacement, QueryOutOfMemory(out_of_memory(self.config.memory_mb))
        return replacement, CoprodError(f"the query worker stopped unexpectedly ({exitcode}): "
                                        f"{exc}")

    def close(self) -> None:
        """Stop every worker process."""
        with self._lock:
            workers = list(self._workers.values())
            self._workers.clear()
        for worker in workers:
            worker.process.kill()
            worker.process.join(5)
            worker.conn.close()


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _outcome(status: str, payload: object) -> object:
    """A worker's reply: the answer, or the error it raised, raised here."""
    if status == "ok":
        return payload
    assert isinstance(payload, CoprodError)
    raise payload


def check_task(request: QueryRequest, public: Sequence[str]) -> Task:
    """A task that only parses and checks ``request`` (its answer is a :class:`Plan`)."""
    return Task(request, tuple(public), None)


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

    def _task(self, request: QueryRequest) -> tuple[Task, str]:
        """The task for ``request`` on the published snapshot, and that snapshot's state."""
        current = self._current()
        if current is None:
            raise StoreNotReady(f"the store {self.store_dir} is not loaded; run `coprod-kg load`")
        path = self.spool.new_path() if request.spool else None
        return (Task(request, current.public, current.snapshot, str(path) if path else None),
                current.state)

    def _answered(self, task: Task, state: str, result: object) -> QueryResult:
        assert isinstance(result, QueryResult)
        self.spool.settled(task.spool, kept=result.path is not None)
        return replace(result, state=state)

    def query(self, request: QueryRequest) -> QueryResult:
        task, state = self._task(request)
        try:
            result = self.pools[request.lane].run(task)
        except CoprodError:
            self._abandon(task)
            raise
        return self._answered(task, state, result)

    async def query_async(self, request: QueryRequest) -> QueryResult:
        """:meth:`query` awaited on the event loop (:meth:`WorkerPool.run_async`)."""
        task, state = self._task(request)
        try:
            result = await self.pools[request.lane].run_async(
                task, lambda: self._abandon(task))
        except CoprodError:
            self._abandon(task)
            raise
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
        if hasattr(self, "spool"):
            self.spool.close()

