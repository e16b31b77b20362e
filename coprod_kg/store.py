"""The one store interface the CLI and the API use, whatever engine sits behind it.

:class:`KnowledgeStore` answers queries (in the engine's own serialisation, never re-parsed) and
lists the public graphs; :class:`GraphWriter` replaces and removes named graphs at load time.
Today both are backed by an embedded pyoxigraph store (:mod:`coprod_kg.oxigraph_store`, and
:mod:`coprod_kg.query_worker` for the server's time-limited worker processes); a remote SPARQL
back end would implement the same two protocols without touching ``api/``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import pyoxigraph

from coprod_kg.errors import BadInput, CoprodError, Unprocessable
from coprod_kg.formats import QueryForm, format_by_name, negotiate
from coprod_kg.query_safety import inspect_query
from coprod_kg.rdflib_lock import SPARQL_PARSER_LOCK


class ResultTooLarge(Unprocessable):
    """A query's answer has more rows or triples than ``settings.max_results``."""


class StoreNotReady(CoprodError):
    """The store directory has not been loaded yet (run ``coprod-kg load``)."""

    status = 503


@dataclass(frozen=True)
class QueryRequest:
    """One query to run: its text, the chosen format, and the protocol's dataset, if any.

    ``default_graphs``/``named_graphs`` are the SPARQL Protocol's ``default-graph-uri`` and
    ``named-graph-uri`` (``None`` when absent); without them, and without ``FROM`` in the query,
    the default graph is the union of the public graphs.
    """

    query: str
    format: str = "json"
    default_graphs: tuple[str, ...] | None = None
    named_graphs: tuple[str, ...] | None = None
    base_iri: str | None = None


@dataclass(frozen=True)
class QueryResult:
    """A fully serialised answer: the bytes and their media type."""

    body: bytes
    media_type: str
    form: QueryForm


@dataclass(frozen=True)
class GraphRecord:
    """One named graph of the store, as recorded by the loader."""

    name: str
    source: str
    sha256: str
    triples: int
    public: bool = True


@dataclass(frozen=True)
class Dataset:
    """The graphs a query runs over; ``None`` leaves the query's own ``FROM`` in charge.

    ``union`` says the default graph is the union of every graph of the store read, which the
    engine evaluates far faster than a list; only valid on a store holding public graphs only
    (the public snapshot of :mod:`coprod_kg.public_view`).
    """

    default: tuple[str, ...] | None
    named: tuple[str, ...] | None
    union: bool = False


def prepare(query: str, accept: str | None = None, format_param: str | None = None,
            default_graphs: Iterable[str] | None = None,
            named_graphs: Iterable[str] | None = None, base_iri: str | None = None) -> QueryRequest:
    """Check a query against the endpoint's policy and pick its format, before running it.

    Raises :class:`BadInput` (SERVICE, LOAD, updates) or ``NotAcceptable`` (no usable format).
    ``base_iri`` resolves relative IRIs in the query (the endpoint's own address over HTTP).

    >>> prepare("SELECT * {}", accept="text/csv").format
    'csv'
    """
    info = inspect_query(query)
    fmt = negotiate(info.form, accept, format_param)
    return QueryRequest(query, fmt.name,
                        tuple(default_graphs) if default_graphs else None,
                        tuple(named_graphs) if named_graphs else None, base_iri)


def resolve_dataset(request: QueryRequest, public: list[str], private: list[str],
                    public_only_store: bool = False) -> Dataset:
    """Decide the dataset of ``request`` so that only public graphs can ever be read.

    An allow-list: protocol graphs (``default-graph-uri``/``named-graph-uri``) override the
    query's ``FROM`` and are kept only if public (any other IRI, a pending submission or an
    unknown graph, is dropped, so it reads as empty). A query's own ``FROM``/``FROM NAMED``
    naming anything but a public graph is refused. ``private`` is kept for the callers'
    convenience; it no longer matters which graphs are listed there. Without a dataset, the
    default graph is the public graphs' union: the store's own union when the store read holds
    nothing else (``public_only_store``), else the explicit list.
    """
    info = inspect_query(request.query)  # refuses SERVICE/LOAD on every path, not only HTTP
    allowed = set(public)
    if request.default_graphs is not None or request.named_graphs is not None:
        default = tuple(g for g in request.default_graphs or () if g in allowed)
        named = tuple(g for g in request.named_graphs or () if g in allowed)
        return Dataset(default, named)
    if info.has_dataset_clause:
        outside = _dataset_clause_iris(request.query) - allowed
        if outside:
            raise BadInput(f"FROM names a graph that is not public: {sorted(outside)[0]}")
        return Dataset(None, None)
    if public_only_store:
        return Dataset(None, None, union=True)
    return Dataset(tuple(public), tuple(public))


def _dataset_clause_iris(query: str) -> set[str]:
    """The IRIs after ``FROM``/``FROM NAMED``, prefixes resolved (rdflib's parser)."""
    from pyparsing import ParseException
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery

    try:
        with SPARQL_PARSER_LOCK:
            parsed = translateQuery(parseQuery(query))
    except (ParseException, ValueError, KeyError) as exc:
        raise BadInput(f"cannot check the FROM clause of this query: {exc}") from exc
    clauses = parsed.algebra.get("datasetClause") or []
    iris: set[str] = set()
    for clause in clauses:
        for key in ("default", "named"):
            if key in clause:  # CompValue.get returns odd defaults for missing keys
                iris.add(str(clause[key]))
    return iris


class KnowledgeStore(Protocol):
    """Read access to the knowledge graph: the API and the CLI depend on this only."""

    def query(self, request: QueryRequest) -> QueryResult:
        """Run a prepared query and return its serialised answer."""
        ...

    def graphs(self) -> list[GraphRecord]:
        """Every public named graph, sorted by name."""
        ...

    def ready(self) -> bool:
        """True when the store exists and has been loaded."""
        ...

    def close(self) -> None:
        """Release processes and files."""
        ...


class GraphWriter(Protocol):
    """Write access used by the loader: whole named graphs at a time."""

    def replace_graph(self, name: str, triples: Iterable[pyoxigraph.Triple]) -> int:
        """Replace graph ``name`` by ``triples`` in one transaction; returns the triple count."""
        ...

    def remove_graph(self, name: str) -> None:
        """Drop graph ``name`` if present."""
        ...

    def graph_triples(self, name: str) -> list[pyoxigraph.Triple]:
        """The triples of graph ``name``."""
        ...


def describe(store: KnowledgeStore, iri: str, format_name: str = "turtle") -> QueryResult:
    """Describe one resource (the engine's DESCRIBE over the public graphs) in ``format_name``."""
    if any(c in iri for c in '<>"{}|^`\\ \n'):
        raise BadInput(f"not an IRI: {iri!r}")
    fmt = format_by_name(format_name)
    if not fmt.graph:
        raise BadInput(f"{format_name} is not a graph format")
    return store.query(QueryRequest(f"DESCRIBE <{iri}>", fmt.name))
