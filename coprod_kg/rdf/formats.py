"""The registry of formats: every serialisation the server reads or writes, declared once.

Content negotiation over them is :mod:`coprod_kg.rdf.conneg`.

A query's *form* decides which formats apply: ``SELECT``/``ASK`` give a results table or boolean
(SPARQL JSON, XML, CSV, TSV); ``CONSTRUCT``/``DESCRIBE`` give a graph (Turtle, N-Triples, JSON-LD,
RDF/XML). The engine serialises every one of them itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Literal

import pyoxigraph as ox

from coprod_kg.errors import NotAcceptable


class QueryForm(Enum):
    """The four SPARQL query forms, grouped by what they return."""

    SELECT = "SELECT"
    ASK = "ASK"
    CONSTRUCT = "CONSTRUCT"
    DESCRIBE = "DESCRIBE"

    @property
    def returns_graph(self) -> bool:
        """True for the forms whose answer is RDF (CONSTRUCT and DESCRIBE)."""
        return self in (QueryForm.CONSTRUCT, QueryForm.DESCRIBE)


@dataclass(frozen=True)
class Format:
    """One serialisation, declared once: every negotiation, parser choice, dump and answer reads
    this table.

    ``name`` is the key (and a ``?format=`` value); ``short`` the name in links and file
    extensions; ``names`` other ``?format=`` values; ``also`` other media types clients send for
    it (some, like ``application/json``, name a results format or a graph format depending on
    the query); ``page_also`` those of them that mean this format on a linked-data page too;
    ``suffixes`` file name endings that hold it; ``rdflib`` and ``oxigraph`` the engines' names.
    """

    name: str
    media_type: str
    kind: Literal["page", "graph", "dataset", "results"]
    short: str = ""
    names: tuple[str, ...] = ()
    also: tuple[str, ...] = ()
    page_also: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    rdflib: str | None = None
    oxigraph: ox.RdfFormat | ox.QueryResultsFormat | None = None

    @property
    def graph(self) -> bool:
        """True for RDF graph formats (the answers of CONSTRUCT and DESCRIBE)."""
        return self.kind == "graph"

    def __reduce__(self) -> tuple[Callable[[str], Format], tuple[str]]:
        """Pickled by name (the engines' format objects cannot be pickled): a format travels
        to and from the query workers as the registry's own entry.

        >>> import pickle
        >>> pickle.loads(pickle.dumps(rdf_format("turtle"))) is rdf_format("turtle")
        True
        """
        return (rdf_format, (self.name,))

    @property
    def media_types(self) -> tuple[str, ...]:
        return (self.media_type, *self.also)


#: Every format the server reads or writes.
FORMATS: tuple[Format, ...] = (
    Format("html", "text/html", "page", "html", page_also=("application/xhtml+xml",)),
    # graph formats, the default (Turtle) first
    Format("turtle", "text/turtle", "graph", "ttl", ("ttl",), ("application/x-turtle",),
           ("application/x-turtle", "application/turtle"), (".ttl",), "turtle",
           ox.RdfFormat.TURTLE),
    Format("ntriples", "application/n-triples", "graph", "nt", ("nt", "n-triples"),
           ("text/plain",), ("text/plain",), (".nt",), "nt", ox.RdfFormat.N_TRIPLES),
    Format("jsonld", "application/ld+json", "graph", "jsonld", ("json-ld", "json"),
           ("application/json",), (), (".jsonld", ".json"), "json-ld", ox.RdfFormat.JSON_LD),
    Format("rdfxml", "application/rdf+xml", "graph", "rdf", ("rdf", "xml", "rdf-xml"),
           ("application/xml", "text/xml"), ("application/xml", "text/xml"),
           (".rdf", ".owl", ".xml"), "xml", ox.RdfFormat.RDF_XML),
    Format("nquads", "application/n-quads", "dataset", "nq", ("nq", "n-quads"),
           suffixes=(".nq",), rdflib="nquads", oxigraph=ox.RdfFormat.N_QUADS),
    # table and boolean formats, the default (JSON) first
    Format("json", "application/sparql-results+json", "results", "srj",
           also=("application/json", "text/javascript", "application/javascript"),
           oxigraph=ox.QueryResultsFormat.JSON),
    Format("xml", "application/sparql-results+xml", "results", "srx",
           also=("application/xml", "text/xml"), oxigraph=ox.QueryResultsFormat.XML),
    Format("csv", "text/csv", "results", "csv", oxigraph=ox.QueryResultsFormat.CSV),
    Format("tsv", "text/tab-separated-values", "results", "tsv",
           oxigraph=ox.QueryResultsFormat.TSV),
)

#: The formats' former name (a SPARQL answer's format).
ResultFormat = Format

#: Table and boolean formats, the default (JSON) first.
RESULT_FORMATS: tuple[Format, ...] = tuple(f for f in FORMATS if f.kind == "results")
#: Graph formats, the default (Turtle) first.
GRAPH_FORMATS: tuple[Format, ...] = tuple(f for f in FORMATS if f.kind == "graph")
#: Short names clients use for graph formats (``format=xml`` on a CONSTRUCT means RDF/XML).
GRAPH_ALIASES: dict[str, str] = {n: f.name for f in GRAPH_FORMATS for n in f.names}

FORMATS_BY_NAME: dict[str, Format] = {f.name: f for f in RESULT_FORMATS + GRAPH_FORMATS}
_ALL_BY_NAME: dict[str, Format] = {f.name: f for f in FORMATS}


def rdf_format(name: str) -> Format:
    """A page, graph or dataset format by its name.

    >>> rdf_format("turtle").media_type, rdf_format("nquads").short
    ('text/turtle', 'nq')
    """
    return _ALL_BY_NAME[name]


def formats_for(form: QueryForm) -> tuple[ResultFormat, ...]:
    """The formats a query of ``form`` can be answered in, the default first."""
    return GRAPH_FORMATS if form.returns_graph else RESULT_FORMATS


def format_by_name(name: str) -> ResultFormat:
    """Look a format up by its short name (``json``, ``turtle``...)."""
    try:
        return FORMATS_BY_NAME[name]
    except KeyError:
        known = ", ".join(FORMATS_BY_NAME)
        raise NotAcceptable(f"unknown format {name!r}; known: {known}") from None
