"""Validate uploads in worker processes under hard limits, off the API process.

An upload (``POST /validate``, a submission) is parsed and validated by one of at most
``COPROD_VALIDATION_WORKERS`` worker processes. Each worker lowers its CPU priority
(``os.nice``), so light queries keep the CPU, and caps its address space (``RLIMIT_AS``,
``COPROD_VALIDATION_MEMORY``) and, for each task, its CPU time (``RLIMIT_CPU``); the caller kills
it when the validation passes ``COPROD_VALIDATION_TIMEOUT`` and the next upload gets a fresh one.
An upload that finds every worker busy waits :data:`QUEUE_WAIT` seconds at most, then gets 503.

The worker refuses a document with more than ``COPROD_MAX_TRIPLES`` triples or
``COPROD_MAX_RECORDS`` records before validating it, and sends back only the rendered report (or
the validation result, and for a submission its triples as N-Triples): the API process never
builds the graph of a validation. The knowledge-graph lookups validation needs (types and
labels of referenced nodes) are answered by the calling process on the worker's request, so the
store stays where it is.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from rdflib import Graph, URIRef

from coprod_kg.config import Settings
from coprod_kg.errors import (
    CoprodError,
    ValidationBusy,
    ValidationTimeout,
)
from coprod_kg.processes import worker_context
from coprod_kg.rdf.sources import new_graph
from coprod_kg.validation.shacl import (
    Lookup,
    ValidationContext,
    ValidationResult,
    context_origin,
)
from coprod_kg.validation.task import (
    Answer,
    Checked,
    Limits,
    Task,
    memory_refusal,
    parse_and_validate,
    worker_main,
)

#: Seconds an upload waits for a free worker before 503 (``Retry-After`` tells when to retry).
QUEUE_WAIT = 10.0
#: Seconds a new worker may take to import its libraries and load the shapes.
STARTUP_TIMEOUT = 120.0
#: Tasks a worker runs before it is replaced (bounds what a long-lived heap accumulates).
TASKS_PER_WORKER = 200


# --- the calling side -------------------------------------------------------------------------


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    tasks: int = 0


class ValidationPool:
    """At most ``settings.validation_workers`` validations at once, each in a worker process.

    :meth:`run` is thread-safe and blocking (call it from a thread, not an event loop).
    Workers start at first use, or all at once with :meth:`warm` (the server does, so that the
    first uploads do not pay for starting them while others query), and are kept for the next
    uploads.
    """

    def __init__(self, settings: Settings, queue_wait: float = QUEUE_WAIT) -> None:
        if settings.validation_workers < 1:
            raise ValueError("validation_workers must be at least 1")
        self.settings = settings
        self.limits = Limits.of(settings)
        self.queue_wait = queue_wait
        self._context = worker_context()
        self._slots = threading.BoundedSemaphore(settings.validation_workers)
        self._idle: list[_Worker] = []
        self._all: dict[int, _Worker] = {}
        self._lock = threading.Lock()
        self._closed = False
        self.running = 0  #: validations holding a worker now

    def run(self, data: bytes, media_type: str, source_name: str | None, lookup: Lookup,
            engine: str = "pyshacl", with_triples: bool = False,
            render_as: str | None = None) -> Checked:
        """Parse and validate ``data`` in a worker; the graph comes back if ``with_triples``,
        the report rendered in ``render_as`` (see :func:`coprod_kg.validation.report.render`)
        if given.

        ValidationBusy (503) when no worker frees up in time, ValidationTimeout (503) past the
        time limit, PayloadTooLarge (413) past a size or memory limit, and the errors of the
        document (ParseError...) as the worker raised them.
        """
        if not self._slots.acquire(timeout=self.queue_wait):
            raise ValidationBusy(f"every validation worker is busy (at most "
                                 f"{self.settings.validation_workers} at once); try again later")
        with self._lock:
            self.running += 1
        try:
            with self._worker() as worker:
                answer = self._exchange(worker, Task(data, media_type, source_name, engine,
                                                      with_triples, render_as), lookup)
        finally:
            with self._lock:
                self.running -= 1
            self._slots.release()
        if isinstance(answer, CoprodError):
            raise answer
        graph = None
        if answer.ntriples is not None:
            graph = new_graph()
            graph.parse(data=answer.ntriples, format="nt")
        return Checked(answer.result, answer.rendered, graph)

    @contextmanager
    def _worker(self) -> Iterator[_Worker]:
        """An idle worker (or a new one); kept after a task, replaced if the task broke it."""
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is None:
            worker = self._spawn()
        try:
            yield worker
        except BaseException:
            self._retire(worker)
            raise
        worker.tasks += 1
        with self._lock:
            keep = not self._closed and worker.tasks < TASKS_PER_WORKER
            if keep:
                self._idle.append(worker)
        if not keep:
            self._retire(worker)

    def _spawn(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=worker_main, args=(child, self.settings),
                                        name="coprod-validation-worker", daemon=True)
        process.start()
        child.close()
        worker = _Worker(process, parent)
        with self._lock:
            self._all[id(worker)] = worker
        try:
            if not parent.poll(STARTUP_TIMEOUT):
                raise CoprodError("the validation worker did not start in time")
            status, payload = parent.recv()
            if status != "ready":
                assert isinstance(payload, CoprodError)
                raise payload
        except (EOFError, OSError, CoprodError) as exc:
            self._retire(worker)
            if isinstance(exc, CoprodError):
                raise
            raise CoprodError(f"the validation worker could not start: {exc}") from exc
        return worker

    def _exchange(self, worker: _Worker, task: Task,
                  lookup: Lookup) -> Answer | CoprodError:
        """Send ``task`` and answer the worker's lookups until its answer or the deadline.

        An error about the document is returned (the worker stays usable); anything that
        leaves the worker unusable is raised, and :meth:`_worker` replaces it.
        """
        deadline = time.monotonic() + self.limits.timeout
        try:
            worker.conn.send(task)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not worker.conn.poll(remaining):
                    raise self._timeout()
                status, payload = worker.conn.recv()
                if status == "lookup":
                    found = lookup({URIRef(iri) for iri in payload})
                    worker.conn.send(found.serialize(format="nt", encoding="utf-8"))
                    continue
                if status == "ok":
                    assert isinstance(payload, Answer)
                    return payload
                assert isinstance(payload, CoprodError)
                if status == "fatal":
                    raise payload
                return payload
        except (EOFError, OSError) as exc:
            raise self._died(worker) from exc

    def _timeout(self) -> ValidationTimeout:
        return ValidationTimeout(f"the validation ran longer than {self.limits.timeout:g} s "
                                 "(COPROD_VALIDATION_TIMEOUT) and was stopped; send a smaller "
                                 "document")

    def _died(self, worker: _Worker) -> CoprodError:
        """What a worker that vanished mid-task means for the caller."""
        worker.process.join(5)
        code = worker.process.exitcode
        if code == -signal.SIGXCPU:
            return self._timeout()
        if code in (-signal.SIGABRT, -signal.SIGSEGV, -signal.SIGBUS):
            # an allocation refused by RLIMIT_AS outside Python (the Rust parser aborts)
            return memory_refusal(self.limits)
        return CoprodError(f"the validation worker stopped unexpectedly (exit code {code})")

    def _retire(self, worker: _Worker) -> None:
        with self._lock:
            self._all.pop(id(worker), None)
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(5)
        worker.conn.close()

    def worker_pids(self) -> list[int]:
        """The process ids of the live workers (for monitoring and tests)."""
        with self._lock:
            return [w.process.pid for w in self._all.values() if w.process.pid is not None]

    def warm(self) -> int:
        """Start workers until ``validation_workers`` are idle or running; how many started.

        Safe to call from a thread while the pool serves: a worker started after
        :meth:`close` is stopped at once.
        """
        started = 0
        while True:
            with self._lock:
                if self._closed or len(self._all) >= self.settings.validation_workers:
                    return started
            worker = self._spawn()
            started += 1
            with self._lock:
                closed = self._closed
                if not closed:
                    self._idle.append(worker)
            if closed:
                self._retire(worker)
                return started

    def close(self) -> None:
        """Stop every worker process (a task still running fails)."""
        with self._lock:
            self._closed = True
            workers = list(self._all.values())
            self._idle.clear()
        for worker in workers:
            self._retire(worker)


_ACTIVE: list[ValidationPool] = []


def install(pool: ValidationPool) -> None:
    """Make ``pool`` the one :func:`validate_bounded` uses (the server does, at start-up)."""
    _ACTIVE.append(pool)


def uninstall(pool: ValidationPool) -> None:
    """Stop using ``pool`` (the server does, at shutdown)."""
    if pool in _ACTIVE:
        _ACTIVE.remove(pool)


def active_pool() -> ValidationPool | None:
    """The pool installed last, if any."""
    return _ACTIVE[-1] if _ACTIVE else None


def validate_bounded(data: bytes, media_type: str, source_name: str | None,
                     context: ValidationContext) -> tuple[Graph, ValidationResult]:
    """Parse and validate an upload: in the installed pool's worker when there is one (the
    server), else in this process without the upload limits (the command line's own files)."""
    pool = active_pool()
    if pool is None or context_origin(pool.settings) != context.origin:
        # no server pool, or one loaded with another ontology and shapes than ``context``
        return parse_and_validate(data, media_type, source_name, context)
    checked = pool.run(data, media_type, source_name, context.lookup, context.engine,
                       with_triples=True)
    assert checked.graph is not None and checked.result is not None
    return checked.graph, checked.result
