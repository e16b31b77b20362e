"""The server's pools of sandboxed query worker processes (the store that uses them:
:mod:`coprod_kg.storage.embedded.pooled_store`).

Each query goes to a worker process (:mod:`coprod_kg.storage.embedded.query_task`) which can be
killed: a worker that passes the deadline is killed and replaced; one that runs out of memory
dies (the engine aborts) and is replaced too; the others keep serving. A pool with no store
directory only checks queries (the remote back end).

The server has one pool per lane (:data:`~coprod_kg.storage.store.Lane`): the site's own
reads never wait behind anonymous ``/sparql`` queries.
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

from coprod_kg.errors import CoprodError, QueryOutOfMemory, QueryTimeout
from coprod_kg.fairness.budget import waiting_for_worker
from coprod_kg.processes import worker_context
from coprod_kg.storage.embedded.handout import Handout
from coprod_kg.storage.embedded.query_task import (
    Task,
    WorkerConfig,
    out_of_memory,
    worker_main,
)
from coprod_kg.storage.store import (
    QueryRequest,
)

__all__ = ["WorkerConfig", "WorkerPool", "check_task"]

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
        replacement: never a worker that still owes an answer, or could not start)."""
        settled = False  # whether ``worker`` can take the next task
        try:
            self._await_ready(worker, START_SECONDS)
            self._send(worker, task)
            if not worker.conn.poll(self.timeout):
                worker, settled = self._replace(worker), True
                raise self._timeout()
            status, payload = worker.conn.recv()
            settled = True
            if isinstance(payload, QueryOutOfMemory):  # the worker exits: replace it
                settled = False
                worker, settled = self._replace(worker, wait=5), True
        except (EOFError, BrokenPipeError, ConnectionResetError) as exc:
            worker, error = self._died(worker, exc)
            settled = True
            raise error from exc
        finally:
            if not settled:
                worker = self._replace(worker)
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
        its replacement) back. A worker that still owes an answer when this ends otherwise (the
        loop shutting down cancels it) is replaced, never given back: the next query would
        get that answer."""
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[None] = loop.create_future()
        settled = False  # whether ``worker`` can take the next task
        try:
            fd = worker.conn.fileno()
            self._send(worker, task)
            loop.add_reader(fd, _settle, answered)
            timed_out = False
            try:
                async with asyncio.timeout(self.timeout):
                    await answered
            except TimeoutError:
                timed_out = True
            finally:
                _unwatch(loop, fd)  # before the pipe (and its number) can be closed
            if timed_out:
                worker = await asyncio.to_thread(self._replace, worker)
                settled = True
                raise self._timeout()
            status, payload = worker.conn.recv()
            settled = True
            if isinstance(payload, QueryOutOfMemory):
                settled = False
                worker = await asyncio.to_thread(self._replace, worker, 5)
                settled = True
        except (EOFError, BrokenPipeError, ConnectionResetError) as exc:
            worker, error = await asyncio.to_thread(self._died, worker, exc)
            settled = True
            raise error from exc
        finally:
            if not settled:
                worker = self._replace(worker)
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


def _unwatch(loop: asyncio.AbstractEventLoop, fd: int) -> None:
    """Stop watching a worker's (open) pipe. uvloop made it non-blocking, and recv reads a
    reply whole: blocking again, whatever ``remove_reader`` returns (uvloop's returns None)."""
    loop.remove_reader(fd)
    os.set_blocking(fd, True)


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
