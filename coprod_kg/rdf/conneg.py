"""Content negotiation, the one place that picks a format from an ``Accept`` header (RFC 9110
§12.5.1) or a ``?format=`` value, over the formats of :mod:`coprod_kg.rdf.formats`.

Pure functions with no web framework, shared by the linked-data pages, the dumps, VoID and the
SPARQL endpoint. The server's preference breaks ties: ``offered`` is listed best first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from coprod_kg.errors import NotAcceptable
from coprod_kg.rdf.formats import (
    FORMATS,
    GRAPH_ALIASES,
    Format,
    QueryForm,
    formats_for,
    rdf_format,
)

HTML = rdf_format("html").media_type
TURTLE = rdf_format("turtle").media_type
JSON_LD = rdf_format("jsonld").media_type
N_TRIPLES = rdf_format("ntriples").media_type
N_QUADS = rdf_format("nquads").media_type
RDF_XML = rdf_format("rdfxml").media_type

#: RDF serialisations of one graph, in the server's order of preference.
RDF_GRAPH_TYPES: tuple[str, ...] = (TURTLE, JSON_LD, N_TRIPLES, RDF_XML)
#: What a linked-data page offers: HTML for people first, then RDF.
PAGE_TYPES: tuple[str, ...] = (HTML, *RDF_GRAPH_TYPES)

#: Names accepted by ``?format=`` (for links and clients that cannot set headers).
FORMAT_ALIASES: dict[str, str] = {
    name: f.media_type for f in FORMATS if f.kind != "results"
    for name in (f.name, f.short, *f.names)
}

#: Other names clients send for the same formats (normalised before matching).
SYNONYMS: dict[str, str] = {alt: f.media_type for f in FORMATS for alt in f.page_also}


@dataclass(frozen=True)
class MediaRange:
    """One element of an Accept header: ``type/subtype`` (either may be ``*``) and its weight."""

    type: str
    subtype: str
    q: float

    def matches(self, media_type: str) -> bool:
        """Whether this range covers ``media_type`` (a concrete ``type/subtype``).

        >>> MediaRange("text", "*", 1.0).matches("text/turtle")
        True
        """
        kind, _, sub = media_type.partition("/")
        return self.type in ("*", kind) and self.subtype in ("*", sub)

    @property
    def specificity(self) -> int:
        """2 for ``type/subtype``, 1 for ``type/*``, 0 for ``*/*``."""
        return (self.type != "*") + (self.subtype != "*")


def _weight(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return 0.0  # a malformed weight cannot make a type acceptable
            return min(max(q, 0.0), 1.0)
    return 1.0


def parse_accept(header: str | None, synonyms: bool = True) -> list[MediaRange]:
    """Parse an Accept header into media ranges; malformed elements are skipped.

    With ``synonyms`` the alternative names of RDF formats (:data:`SYNONYMS`) are normalised;
    the SPARQL endpoint turns that off, since ``application/xml`` means SPARQL XML results there.

    >>> [(r.type, r.subtype, r.q) for r in parse_accept("text/html;q=0.5, text/turtle")]
    [('text', 'html', 0.5), ('text', 'turtle', 1.0)]
    """
    ranges: list[MediaRange] = []
    for element in (header or "").split(","):
        media, *params = element.split(";")
        media = media.strip().lower()
        if synonyms:
            media = SYNONYMS.get(media, media)
        kind, slash, sub = media.partition("/")
        if not slash or not kind or not sub or (kind == "*" and sub != "*"):
            continue
        ranges.append(MediaRange(kind, sub, _weight(params)))
    return ranges


def quality(ranges: Sequence[MediaRange], media_type: str) -> float:
    """The weight the client gives ``media_type``: that of the most specific matching range."""
    best: MediaRange | None = None
    for candidate in ranges:
        if candidate.matches(media_type) and (
            best is None or candidate.specificity > best.specificity
        ):
            best = candidate
    return 0.0 if best is None else best.q


def negotiate(accept: str | None, offered: Sequence[str]) -> str:
    """The offered media type the client prefers; ties go to the earlier one in ``offered``.

    An absent or empty Accept header means "anything", so the first offered type wins.
    Raises :class:`NotAcceptable` when the client accepts none of ``offered``.

    >>> negotiate("application/ld+json, text/turtle;q=0.9", PAGE_TYPES)
    'application/ld+json'
    >>> negotiate("text/*;q=0.3, text/turtle", PAGE_TYPES)
    'text/turtle'
    >>> negotiate(None, PAGE_TYPES)
    'text/html'
    """
    if not offered:
        raise ValueError("negotiate() needs at least one offered media type")
    ranges = parse_accept(accept)
    if not ranges:
        if accept and accept.strip():
            raise NotAcceptable(f"cannot read the Accept header {accept!r}; offered: "
                                + ", ".join(offered))
        return offered[0]
    q, media = _pick(ranges, [(media, (media,)) for media in offered])
    if q <= 0.0:
        raise NotAcceptable(f"none of the offered types is acceptable: {', '.join(offered)}")
    return media


def format_media_type(name: str, offered: Sequence[str]) -> str:
    """The media type named by a ``?format=`` value, if it is among ``offered``.

    Accepts an alias (``ttl``, ``jsonld``, ``nt``, ``rdf``, ``html``...) or a media type.

    >>> format_media_type("ttl", PAGE_TYPES)
    'text/turtle'
    """
    key = name.strip().lower()
    media = FORMAT_ALIASES.get(key, SYNONYMS.get(key, key))
    if media not in offered:
        known = sorted(alias for alias, m in FORMAT_ALIASES.items() if m in offered)
        raise NotAcceptable(f"unknown format {name!r}; use one of: {', '.join(known)}")
    return media


def choose(accept: str | None, format_param: str | None, offered: Sequence[str]) -> str:
    """``?format=`` when given (it wins over the header), otherwise the Accept header."""
    if format_param:
        return format_media_type(format_param, offered)
    return negotiate(accept, offered)


# --- the one ranking -------------------------------------------------------------------------

T = TypeVar("T")


def _specificity(media_range: MediaRange, media_type: str) -> int:
    """How closely ``media_range`` matches ``media_type``: 3 exact, 2 type/*, 1 */*, 0 not."""
    return media_range.specificity + 1 if media_range.matches(media_type) else 0


def _quality(ranges: Sequence[MediaRange], names: Sequence[str]) -> tuple[float, int]:
    """The client's preference for a format known by ``names`` (its own media type first, then
    its aliases): (q, closeness) of its best-matched name.

    Each name takes the q of its most specific matching range (RFC 9110 section 12.5.1); the
    format's own media type beats an alias, so ``application/json`` on a SELECT picks SPARQL
    JSON and on a CONSTRUCT picks JSON-LD.
    """
    best = (0.0, 0)
    for index, media_type in enumerate(names):
        matches = [(_specificity(r, media_type), r.q) for r in ranges
                   if _specificity(r, media_type)]
        if matches:
            spec, q = max(matches)
            best = max(best, (q, spec * 2 + (index == 0)))
    return best


def _pick(ranges: Sequence[MediaRange], candidates: Sequence[tuple[T, Sequence[str]]]
             ) -> tuple[float, T]:
    """The candidate the client prefers, and its q: the highest q, then the closest match,
    then the server's order (``candidates`` is listed best first)."""
    scored = [(_quality(ranges, names), -index, value)
              for index, (value, names) in enumerate(candidates)]
    (q, _), _, best = max(scored, key=lambda item: (item[0][0], item[0][1], item[1]))
    return q, best


# --- the answer of a SPARQL query ---------------------------------------------------------


@lru_cache(maxsize=1024)  # a pure function of a few strings, asked for every query
def negotiate_query(form: QueryForm, accept: str | None, format_param: str | None = None
                    ) -> Format:
    """Choose the format to answer a query of ``form`` (the formats of :func:`negotiate`, with
    the media types that name a results or a graph format depending on the form).

    A ``format`` parameter (a short name like ``csv``, a media type, or the ``xml``/``json`` that
    clients such as SPARQLWrapper send for every form) wins when it names a format of this form;
    otherwise the Accept header decides, ties going to our default. Raises
    :class:`NotAcceptable` when nothing fits.

    >>> negotiate_query(QueryForm.SELECT, "text/csv;q=0.9, application/sparql-results+xml").name
    'xml'
    >>> negotiate_query(QueryForm.CONSTRUCT, None).name
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
    q, best = _pick(ranges, [(fmt, fmt.media_types) for fmt in candidates])
    if q <= 0:
        raise NotAcceptable(f"none of the media types in Accept: {accept!r} can answer a "
                            f"{form.value} query; available: {offered}")
    return best
