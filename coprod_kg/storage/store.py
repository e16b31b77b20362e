"""The one store interface the CLI and the API use, whatever engine sits behind it.

:class:`KnowledgeStore` answers queries (in the engine's own serialisation, never re-parsed) and
lists the public graphs. It is backed by an embedded pyoxigraph store
(:mod:`coprod_kg.storage.embedded.oxigraph_store`, and
:mod:`coprod_kg.storage.embedded.pooled_store` for the server's sandboxed, time- and memory-limited
worker processes) or by a remote SPARQL server (:mod:`coprod_kg.storage.remote.store`).
:class:`GraphReader` and :class:`GraphWriter` are the one protocol pair for reading and writing
whole graphs and update requests, on either back end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import pyoxigraph

from coprod_kg.errors import BadInput, CoprodError, Unprocessable
from coprod_kg.rdf.conneg import negotiate_query
from coprod_kg.rdf.formats import QueryForm, ResultFormat, format_by_name, formats_for
from coprod_kg.rdf.terms import Row
from coprod_kg.sparql.precheck import parse_can_be_skipped
from coprod_kg.sparql.safety import QueryInfo, inspect_query


class ResultTooLarge(Unprocessable):
    """A query's answer has more rows or triples than ``settings.max_results``."""


class MalformedQuery(BadInput):
    """The engine's own parser refused the query."""


class StoreNotReady(CoprodError):
    """The store directory has not been loaded yet (run ``coprod-kg load``)."""

    status = 503


#: Who asks: the site's own reads (pages, linked data, dumps, VoID) or anonymous ``/sparql``.
#: Each lane has its own capacity, so the site never waits behind public queries.
Lane = Literal["site", "public"]


@dataclass(frozen=True)
class QueryRequest:
    """One query to run: its text, how to pick its format, and the protocol's dataset, if any.

    ``default_graphs``/``named_graphs`` are the SPARQL Protocol's ``default-graph-uri`` and
    ``named-graph-uri`` (``None`` when absent); without them, and without ``FROM`` in the query,
    the default graph is the union of the public graphs. The format is negotiated from
    ``accept``/``format_param`` once the query's form is known (in the query worker); without
    them ``format`` is used when it fits the form, else the form's default. ``spool`` asks for
    the answer in a private file (:attr:`QueryResult.path`) instead of in memory.
    """

    query: str
    format: str = "json"
    default_graphs: tuple[str, ...] | None = None
    named_graphs: tuple[str, ...] | None = None
    base_iri: str | None = None
    accept: str | None = None
    format_param: str | None = None
    lane: Lane = "site"
    spool: bool = False


@dataclass(frozen=True)
class QueryResult:
    """A fully serialised answer: the bytes (or, for a spooled request, the file holding
    them, ``size`` bytes long, which the receiver deletes after use) and their media type;
    ``state``: the published state it was computed from, when the store knows it (the
    embedded server's queries read the snapshot of the state they were given)."""

    body: bytes
    media_type: str
    form: QueryForm
    path: Path | None = None
    size: int = 0
    state: str | None = None

    def discard(self) -> None:
        """Delete the spool file, if any."""
        if self.path is not None:
            self.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class GraphRecord:
    """One named graph of the store, as recorded by the loader.

    ``unsettled``: a load that was replacing the graph did not finish, so the main store's copy
    may differ from this record. The embedded store's public view still holds the copy the
    record describes (a remote server serves what it holds). The next load rewrites the graph
    whatever its digest, and refuses to keep it unread; the view never copies it from the main
    store, and no store holding one is backed up or pushed to a server.
    """

    name: str
    source: str
    sha256: str
    triples: int
    public: bool = True
    unsettled: bool = False


@dataclass(frozen=True)
class Dataset:
    """The graphs a query runs over; ``None`` leaves the query's own ``FROM`` in charge.

    ``union`` says the default graph is the union of every graph of the store read, which the
    engine evaluates far faster than a list; only valid on a store holding public graphs only
    (the public snapshot of :mod:`coprod_kg.storage.embedded.public_view`).
    """

    default: tuple[str, ...] | None
    named: tuple[str, ...] | None
    union: bool = False


@dataclass(frozen=True)
class Plan:
    """What the checks decided before a query runs: its form, answer format and dataset."""

    form: QueryForm
    format: ResultFormat
    dataset: Dataset


def prepare(query: str, accept: str | None = None, format_param: str | None = None,
            default_graphs: Iterable[str] | None = None,
            named_graphs: Iterable[str] | None = None, base_iri: str | None = None,
            lane: Lane = "site", spool: bool = False) -> QueryRequest:
    """Package a query and the client's format wishes; the checks run with the query.

    Parsing, the policy checks (:class:`BadInput` for SERVICE, LOAD, updates) and content
    negotiation (``NotAcceptable``) happen when a store runs the request, in its query worker
    for the server. ``base_iri`` resolves relative IRIs in the query (the endpoint's own
    address over HTTP).

    >>> prepare("SELECT * {}", accept="text/csv").accept
    'text/csv'
    """
    return QueryRequest(query, "json",
                        tuple(default_graphs) if default_graphs else None,
                        tuple(named_graphs) if named_graphs else None, base_iri,
                        accept, format_param, lane, spool)


def answer_format(request: QueryRequest, form: QueryForm) -> ResultFormat:
    """The format of the answer to ``request``, a query of ``form`` (406 if none fits)."""
    if request.accept is not None or request.format_param is not None:
        return negotiate_query(form, request.accept, request.format_param)
    wanted = format_by_name(request.format)
    return wanted if wanted in formats_for(form) else formats_for(form)[0]


def plan_query(request: QueryRequest, public: Sequence[str], public_only_store: bool = False,
               analyse: Callable[[str, str | None], QueryInfo] = inspect_query) -> Plan:
    """Parse and check ``request`` once; its form, answer format and allowed dataset.

    ``analyse`` is :func:`~coprod_kg.sparql.safety.inspect_query` in-process (it takes rdflib's
    lock) and :func:`~coprod_kg.sparql.safety.analyse_query` in the single-threaded workers.
    """
    info = analyse(request.query, request.base_iri)
    fmt = answer_format(request, info.form)
    return Plan(info.form, fmt, dataset_for(request, info, public, public_only_store))


def unparsed_dataset(request: QueryRequest, public_only_store: bool) -> Dataset | None:
    """The dataset of ``request`` when it may run without being parsed, else ``None``.

    Only on a store read that holds public graphs only (``public_only_store``), without the
    protocol's dataset parameters, and when
    :func:`~coprod_kg.sparql.precheck.parse_can_be_skipped` finds no word the parse guards
    against: such a query can only read the default graph, the store's union, which the
    engine enforces. Its form (and so its answer's format) comes from the engine's answer.

    >>> unparsed_dataset(QueryRequest("DESCRIBE <http://x/a>"), True)
    Dataset(default=None, named=None, union=True)
    >>> unparsed_dataset(QueryRequest("DESCRIBE <http://x/a>"), False) is None
    True
    """
    if not public_only_store or request.default_graphs is not None or (
            request.named_graphs is not None) or not parse_can_be_skipped(request.query):
        return None
    return Dataset(None, None, union=True)


def dataset_for(request: QueryRequest, info: QueryInfo, public: Sequence[str],
                public_only_store: bool = False) -> Dataset:
    """Decide the dataset of ``request`` so that only public graphs can ever be read.

    An allow-list: protocol graphs (``default-graph-uri``/``named-graph-uri``) override the
    query's ``FROM`` and are kept only if public (any other IRI, a pending submission or an
    unknown graph, is dropped, so it reads as empty). A query's own ``FROM``/``FROM NAMED``, or
    a ``GRAPH`` pattern, naming anything but a public graph is refused. Without a dataset, the
    default graph is the public graphs' union: the store's own union when the store read holds
    nothing else (``public_only_store``), else the explicit list.
    """
    allowed = set(public)
    hidden = info.graphs - allowed
    if hidden:  # refused here, whatever a server would make of a graph outside the dataset
        raise BadInput(f"the query names a graph that is not public: {sorted(hidden)[0]}")
    if request.default_graphs is not None or request.named_graphs is not None:
        default = tuple(g for g in request.default_graphs or () if g in allowed)
        named = tuple(g for g in request.named_graphs or () if g in allowed)
        return Dataset(default, named)
    if info.dataset is not None:
        outside = info.dataset - allowed
        if outside:
            raise BadInput(f"FROM names a graph that is not public: {sorted(outside)[0]}")
        return Dataset(None, None)
    if public_only_store:
        return Dataset(None, None, union=True)
    return Dataset(tuple(public), tuple(public))


def resolve_dataset(request: QueryRequest, public: list[str], private: list[str],
                    public_only_store: bool = False) -> Dataset:
    """:func:`dataset_for` after parsing the query in-process (``private`` is not used)."""
    return dataset_for(request, inspect_query(request.query, request.base_iri), public,
                       public_only_store)


@runtime_checkable
class AsyncQueries(Protocol):
    """A store that can answer on the event loop, without a thread (the embedded server's)."""

    async def query_async(self, request: QueryRequest) -> QueryResult:
        """:meth:`KnowledgeStore.query`, awaited."""
        ...


class KnowledgeStore(Protocol):
    """Read access to the knowledge graph: the API and the CLI depend on this only."""

    #: True when :meth:`published_state` reads a local file only (no request to a server), so
    #: it may be called on the event loop.
    local_state: bool

    def query(self, request: QueryRequest) -> QueryResult:
        """Run a prepared query and return its serialised answer."""
        ...

    def graphs(self) -> list[GraphRecord]:
        """Every public named graph, sorted by name."""
        ...

    def ready(self) -> bool:
        """True when the store exists and has been loaded."""
        ...

    def published_state(self) -> str | None:
        """The identity of the published state answers now come from (``None`` before the
        first load): equal identities, equal public graphs (see :mod:`coprod_kg.caching`)."""
        ...

    def close(self) -> None:
        """Release processes and files."""
        ...


class GraphReader(Protocol):
    """Reads of the whole store, private graphs included: the loader, curation and the rules
    that materialise entailments use this (never the public endpoint)."""

    def select(self, query: str, default_graphs: Sequence[str] | None = None) -> list[Row]:
        """Rows of a SELECT query (``default_graphs``: the default graph's union; ``None``:
        the union of every graph)."""
        ...

    def construct(self, query: str, default_graphs: Sequence[str] | None = None
                  ) -> list[pyoxigraph.Triple]:
        """Triples of a CONSTRUCT query."""
        ...

    def graph_triples(self, name: str) -> list[pyoxigraph.Triple]:
        """The triples of graph ``name``."""
        ...


class GraphWriter(GraphReader, Protocol):
    """The one protocol for writing graphs, embedded or remote: whole named graphs (the
    loader) and SPARQL Update requests (curation, entailments), each applied atomically."""

    def replace_graph(self, name: str, triples: Iterable[pyoxigraph.Triple]) -> int:
        """Replace graph ``name`` by ``triples`` in one transaction; returns the triple count."""
        ...

    def remove_graph(self, name: str) -> None:
        """Drop graph ``name`` if present."""
        ...

    def update(self, request: str) -> None:
        """Apply one SPARQL Update request atomically (all of it or none)."""
        ...

    def flush(self) -> None:
        """Make every applied change durable before returning."""
        ...

    def close(self) -> None:
        """Flush and release the store or the connection."""
        ...


@runtime_checkable
@runtime_checkable
class BulkGraphs(Protocol):
    """What a writer whose store is an engine in this process (the embedded one) adds: whole
    graphs moved by the engine, without a transaction per triple; the loader and the rules use
    it when the writer has it (a remote server gets whole graphs through the Graph Store)."""

    def copy_graph_into(self, name: str, scratch: pyoxigraph.Store,
                        into: pyoxigraph.NamedNode | pyoxigraph.DefaultGraph | None = None
                        ) -> None:
        """Add the triples of graph ``name`` to graph ``into`` (default: the default graph)
        of ``scratch``."""
        ...

    def replace_graph_from(self, name: str, scratch: pyoxigraph.Store,
                           graphs: Sequence[pyoxigraph.NamedNode]) -> int:
        """Replace graph ``name`` by the union of ``graphs`` of ``scratch`` (graphs that share
        no triple); returns the triple count."""
        ...

    def replace_graph_data(self, name: str, data: bytes, rdf_format: pyoxigraph.RdfFormat,
                           base_iri: str | None = None) -> int:
        """Replace graph ``name`` by the triples of ``data`` (a serialisation without blank
        nodes), parsed by the engine; returns the triple count."""
        ...


def describe(store: KnowledgeStore, iri: str, format_name: str = "turtle") -> QueryResult:
    """Describe one resource (the engine's DESCRIBE over the public graphs) in ``format_name``."""
    if any(c in iri for c in '<>"{}|^`\\ \n'):
        raise BadInput(f"not an IRI: {iri!r}")
    fmt = format_by_name(format_name)
    if not fmt.graph:
        raise BadInput(f"{format_name} is not a graph format")
    return store.query(QueryRequest(f"DESCRIBE <{iri}>", fmt.name))
