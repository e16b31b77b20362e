"""What a validation worker process does: confine itself, load the shapes, then parse, check
and validate one upload at a time (the pool that starts and feeds it:
:mod:`coprod_kg.validation.worker`).

Each worker lowers its CPU priority (``os.nice``), so light queries keep the CPU, caps its
address space (``RLIMIT_AS``, ``COPROD_VALIDATION_MEMORY``) and, for each task, its CPU time
(``RLIMIT_CPU``). It refuses a document with more than ``COPROD_MAX_TRIPLES`` triples or
``COPROD_MAX_RECORDS`` records before validating it, and sends back only the rendered report (or
the validation result, and for a submission its triples as N-Triples). The lookups validation
needs are asked of the calling process, which holds the store.
"""

from __future__ import annotations

import math
import os
import resource
from dataclasses import dataclass
from multiprocessing.connection import Connection

from rdflib import Graph, URIRef

from coprod_kg.config import Settings
from coprod_kg.errors import CoprodError, PayloadTooLarge
from coprod_kg.processes import next_task
from coprod_kg.rdf.parsing import parse_rdf
from coprod_kg.rdf.source_lines import SourceText
from coprod_kg.validation.report import render
from coprod_kg.validation.shacl import (
    Lookup,
    ValidationContext,
    ValidationResult,
    load_context_for,
)
from coprod_kg.validation.shacl import validate_graph as _validate_graph

#: How much the workers lower their scheduling priority (``os.nice``).
NICENESS = 10
_MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one upload may use: records, triples, seconds, and bytes of address space."""

    max_records: int
    max_triples: int
    timeout: float
    memory_bytes: int

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        """The limits ``settings`` configure."""
        return cls(settings.max_records, settings.max_triples, settings.validation_timeout,
                   settings.validation_memory * _MIB)


@dataclass(frozen=True)
class Checked:
    """A validated upload: its report rendered (when asked for) or its result, and, when asked
    for, its parsed graph."""

    result: ValidationResult | None
    rendered: str | None = None
    graph: Graph | None = None


@dataclass(frozen=True)
class Task:
    """One upload for a worker, as the pool sends it."""

    data: bytes
    media_type: str
    source_name: str | None
    engine: str
    with_triples: bool
    render: str | None  #: one of coprod_kg.validation.report.FORMATS, or None for the result itself


@dataclass(frozen=True)
class Answer:
    """A worker's answer to a :class:`Task`."""

    result: ValidationResult | None
    rendered: str | None
    ntriples: bytes | None


def check_records(graph: Graph, limit: int, source_name: str | None = None) -> None:
    """413 when ``graph`` describes more than ``limit`` records (distinct IRI subjects)."""
    records = {s for s in graph.subjects() if isinstance(s, URIRef)}
    if len(records) > limit:
        where = f"{source_name}: " if source_name else ""
        raise PayloadTooLarge(f"{where}the document describes {len(records)} records; the limit "
                              f"for one upload is {limit} (COPROD_MAX_RECORDS)")


def parse_and_validate(data: bytes, media_type: str, source_name: str | None,
                       context: ValidationContext,
                       limits: Limits | None = None) -> tuple[Graph, ValidationResult]:
    """Parse, check the limits (if given) and validate, in this process."""
    graph = parse_rdf(data, media_type, source_name,
                      max_triples=None if limits is None else limits.max_triples)
    if limits is not None:
        check_records(graph, limits.max_records, source_name)
    text = data.decode("utf-8", errors="replace")
    return graph, _validate_graph(graph, context=context, texts=[SourceText(source_name, text)])


# --- the worker process -----------------------------------------------------------------------


def _confine(limits: Limits) -> None:
    """Lower this process's priority and cap its memory (for the rest of its life)."""
    os.nice(NICENESS)
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))


def _limit_cpu(seconds: float) -> None:
    """Let this task use ``seconds`` more CPU time; past it the kernel stops the process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + seconds) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _asking(conn: Connection) -> Lookup:
    """A lookup answered by the calling process (which holds the store)."""
    def lookup(nodes: set[URIRef]) -> Graph:
        conn.send(("lookup", sorted(str(n) for n in nodes)))
        graph = Graph()
        graph.parse(data=conn.recv(), format="nt")
        return graph
    return lookup


def _run(task: Task, context: ValidationContext, limits: Limits) -> Answer:
    context = context.with_engine(task.engine)
    graph, result = parse_and_validate(task.data, task.media_type, task.source_name, context,
                                       limits)
    triples = graph.serialize(format="nt", encoding="utf-8") if task.with_triples else None
    if task.render is None:
        return Answer(result, None, triples)
    return Answer(None, render(result, task.render), triples)


def worker_main(conn: Connection, settings: Settings) -> None:
    """One worker: confine itself, load the shapes, then validate one task at a time."""
    limits = Limits.of(settings)
    try:
        _confine(limits)
        context = load_context_for(settings).with_lookup(_asking(conn))
    except (CoprodError, OSError, MemoryError) as exc:
        conn.send(("error", CoprodError(f"the validation worker could not start: {exc}")))
        return
    conn.send(("ready", None))
    while (task := next_task(conn)) is not None:
        _limit_cpu(limits.timeout)
        out_of_memory = False
        try:
            answer: tuple[str, object] = ("ok", _run(task, context, limits))
        except CoprodError as exc:
            answer = ("error", exc)
        except MemoryError:
            out_of_memory = True  # answered below: the traceback holds the memory until then
        if out_of_memory:
            # the memory is back, but the heap may be fragmented: this worker quits, and the
            # caller starts another one
            conn.send(("fatal", memory_refusal(limits)))
            return
        conn.send(answer)


def memory_refusal(limits: Limits) -> PayloadTooLarge:
    return PayloadTooLarge(f"validating this document needs more than "
                           f"{limits.memory_bytes // _MIB} MiB (COPROD_VALIDATION_MEMORY); "
                           "send a smaller document")
