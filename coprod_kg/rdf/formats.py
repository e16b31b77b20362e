"""Result formats of SPARQL queries and HTTP content negotiation over them.

A query's *form* decides which formats apply: ``SELECT``/``ASK`` give a results table or boolean
(SPARQL JSON, XML, CSV, TSV); ``CONSTRUCT``/``DESCRIBE`` give a graph (Turtle, N-Triples, JSON-LD,
RDF/XML). The engine serialises every one of them itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from coprod_kg.errors import NotAcceptable
from coprod_kg.rdf.conneg import MediaRange, parse_accept


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
class ResultFormat:
    """One serialisation: its short name, the media type we send, and others we accept for it."""

    name: str
    media_type: str
    graph: bool
    also: tuple[str, ...] = ()

    @property
    def media_types(self) -> tuple[str, ...]:
        return (self.media_type, *self.also)


#: Table and boolean formats, the default (JSON) first.
RESULT_FORMATS: tuple[ResultFormat, ...] = (
    ResultFormat("json", "application/sparql-results+json", False,
                 ("application/json", "text/javascript", "application/javascript")),
    ResultFormat("xml", "application/sparql-results+xml", False, ("application/xml", "text/xml")),
    ResultFormat("csv", "text/csv", False),
    ResultFormat("tsv", "text/tab-separated-values", False),
)

#: Graph formats, the default (Turtle) first.
GRAPH_FORMATS: tuple[ResultFormat, ...] = (
    ResultFormat("turtle", "text/turtle", True, ("application/x-turtle",)),
    ResultFormat("ntriples", "application/n-triples", True, ("text/plain",)),
    ResultFormat("jsonld", "application/ld+json", True, ("application/json",)),
    ResultFormat("rdfxml", "application/rdf+xml", True, ("application/xml", "text/xml")),
)

#: Short names clients use for graph formats (``format=xml`` on a CONSTRUCT means RDF/XML).
GRAPH_ALIASES: dict[str, str] = {"xml": "rdfxml", "rdf": "rdfxml", "json": "jsonld",
                                 "json-ld": "jsonld", "ttl": "turtle", "nt": "ntriples",
                                 "n-triples": "ntriples"}

FORMATS_BY_NAME: dict[str, ResultFormat] = {f.name: f for f in RESULT_FORMATS + GRAPH_FORMATS}


def formats_for(form: QueryForm) -> tuple[ResultFormat, ...]:
    """The formats a query of ``form`` can be answered in, the default first."""
    return GRAPH_FORMATS if form.returns_graph else RESULT_FORMATS


def _specificity(media_range: MediaRange, media_type: str) -> int:
    """How closely ``media_range`` matches ``media_type``: 3 exact, 2 type/*, 1 */*, 0 not."""
    return media_range.specificity + 1 if media_range.matches(media_type) else 0


def _quality(ranges: list[MediaRange], fmt: ResultFormat) -> tuple[float, int]:
    """The client's preference for ``fmt``: (q, closeness) of its best media type.

    Each media type takes the q of its most specific matching range (RFC 9110 section 12.5.1);
    the format's own media type beats an alias, so ``application/json`` on a SELECT picks SPARQL
    JSON and on a CONSTRUCT picks JSON-LD.
    """
    best = (0.0, 0)
    for media_type in fmt.media_types:
        matches = [(_specificity(r, media_type), r.q) for r in ranges
                   if _specificity(r, media_type)]
        if matches:
            spec, q = max(matches)
            best = max(best, (q, spec * 2 + (media_type == fmt.media_type)))
    return best


def negotiate(form: QueryForm, accept: str | None, format_param: str | None = None) -> ResultFormat:
    """Choose the format to answer a query of ``form``.

    A ``format`` parameter (a short name like ``csv``, a media type, or the ``xml``/``json`` that
    clients such as SPARQLWrapper send for every form) wins when it names a format of this form;
    otherwise the Accept header decides, ties going to our default. Raises
    :class:`NotAcceptable` when nothing fits.

    >>> negotiate(QueryForm.SELECT, "text/csv;q=0.9, application/sparql-results+xml").name
    'xml'
    >>> negotiate(QueryForm.CONSTRUCT, None).name
    'turtle'
    """
    candidates = formats_for(form)
    offered = ", ".join(f.media_type for f in candidates)
    if format_param:
        wanted = format_param.strip().lower()
        if form.returns_graph:
            wanted = GRAPH_ALIASES.get(wanted, wanted)
        for fmt in candidates:
            if wanted == fmt.name or wanted in fmt.media_types:
                return fmt
    if not accept or not accept.strip():
        return candidates[0]
    ranges = parse_accept(accept, synonyms=False)
    scored = [(_quality(ranges, fmt), -i, fmt) for i, fmt in enumerate(candidates)]
    (q, _), _, best = max(scored, key=lambda item: (item[0][0], item[0][1], item[1]))
    if q <= 0:
        raise NotAcceptable(f"none of the media types in Accept: {accept!r} can answer a "
                            f"{form.value} query; available: {offered}")
    return best


def format_by_name(name: str) -> ResultFormat:
    """Look a format up by its short name (``json``, ``turtle``...)."""
    try:
        return FORMATS_BY_NAME[name]
    except KeyError:
        known = ", ".join(FORMATS_BY_NAME)
        raise NotAcceptable(f"unknown format {name!r}; known: {known}") from None
