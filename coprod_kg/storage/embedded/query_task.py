"""What a query worker process does: sandbox itself, then parse, check and answer tasks.

pyoxigraph has no timeout and cannot be interrupted from Python, so each query goes to a worker
process, which can be killed (the pool: :mod:`coprod_kg.storage.embedded.query_worker`). Before
it reads any task, a worker takes the network away from itself and caps its memory
(:mod:`coprod_kg.sparql.sandbox`); then, for each task, it parses and checks the query
(:mod:`coprod_kg.sparql.safety`: SERVICE, updates, the ``FROM`` allow-list, the query form and the
answer's format) unless its text cannot hold what the parse guards against (:func:`answer`), runs
it on the public snapshot and writes the answer, to a spool file when asked
(:mod:`coprod_kg.sparql.spool`). Workers reopen the store when the public snapshot changes (its
key comes with each task). A task without a snapshot is only checked (the remote back end).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path

import pyoxigraph as ox

from coprod_kg.errors import CoprodError, NotAcceptable, QueryOutOfMemory
from coprod_kg.processes import next_task
from coprod_kg.rdf.formats import QueryForm
from coprod_kg.sparql.safety import QueryInfo, Verdicts, analyse_query, parse_deadline
from coprod_kg.sparql.sandbox import install_barriers, limit_memory
from coprod_kg.storage.embedded.oxigraph_store import DEFAULT_MAX_BYTES, execute
from coprod_kg.storage.embedded.public_view import open_snapshot
from coprod_kg.storage.store import (
    Dataset,
    MalformedQuery,
    Plan,
    QueryRequest,
    QueryResult,
    dataset_for,
    plan_query,
    unparsed_dataset,
)


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
class Task:
    """One query for a worker, as the pool sends it."""

    request: QueryRequest
    #: the public graphs, the allow-list of the dataset; ``None``: the ones the worker was
    #: last sent with the same snapshot (the pool knows; the list is long, a query short)
    public: tuple[str, ...] | None
    snapshot: str | None  #: key of the public snapshot to read; None: only check the query
    spool: str | None = None  #: write the answer to this new file


#: This worker process's last parse verdicts (see :class:`~coprod_kg.sparql.safety.Verdicts`).
_VERDICTS = Verdicts()


def _checked(task: Task, config: WorkerConfig) -> Plan:
    """Parse and check the task's query once: its form, answer format and allowed dataset
    (a text this worker already parsed keeps its verdict)."""
    local = task.snapshot is not None  # the snapshot holds public graphs only: its union
    with parse_deadline(config.parse_seconds):
        return plan_query(task.request, task.public or (), local, analyse=_VERDICTS.analyse)


def _dataset(task: Task, config: WorkerConfig) -> tuple[QueryForm | None, Dataset]:
    """The form (``None``: unknown) and dataset to run the task's query with."""
    if not config.check_queries:  # tests only: what the sandbox alone stops
        return None, dataset_for(task.request, QueryInfo(QueryForm.SELECT), task.public or (),
                                 True)
    plan = _checked(task, config)
    return plan.form, plan.dataset


def answer(task: Task, config: WorkerConfig, store: ox.Store,
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


def worker_main(conn: Connection, config: WorkerConfig) -> None:
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
    while (task := next_task(conn)) is not None:
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
            conn.send(("error", QueryOutOfMemory(out_of_memory(config.memory_mb))))
            return
        except (OSError, RuntimeError) as exc:  # snapshots are immutable: this is a real fault
            store = None
            conn.send(("error", CoprodError(f"the store could not be read: {exc}")))


def out_of_memory(memory_mb: int) -> str:
    return (f"the query needed more than {memory_mb} MB of memory and was stopped; add a "
            "LIMIT, or narrow the patterns")
