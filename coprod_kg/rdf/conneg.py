"""Content negotiation: pick a media type from an ``Accept`` header (RFC 9110 §12.5.1).

Pure functions with no web framework, shared by the linked-data pages, the dumps, VoID and the
SPARQL endpoint. The server's preference breaks ties: ``offered`` is listed best first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from coprod_kg.errors import NotAcceptable

HTML = "text/html"
TURTLE = "text/turtle"
JSON_LD = "application/ld+json"
N_TRIPLES = "application/n-triples"
N_QUADS = "application/n-quads"
RDF_XML = "application/rdf+xml"

#: RDF serialisations of one graph, in the server's order of preference.
RDF_GRAPH_TYPES: tuple[str, ...] = (TURTLE, JSON_LD, N_TRIPLES, RDF_XML)
#: What a linked-data page offers: HTML for people first, then RDF.
PAGE_TYPES: tuple[str, ...] = (HTML, *RDF_GRAPH_TYPES)

#: Names accepted by ``?format=`` (for links and clients that cannot set headers).
FORMAT_ALIASES: dict[str, str] = {
    "html": HTML,
    "ttl": TURTLE,
    "turtle": TURTLE,
    "jsonld": JSON_LD,
    "json-ld": JSON_LD,
    "json": JSON_LD,
    "nt": N_TRIPLES,
    "ntriples": N_TRIPLES,
    "n-triples": N_TRIPLES,
    "nq": N_QUADS,
    "nquads": N_QUADS,
    "n-quads": N_QUADS,
    "rdf": RDF_XML,
    "xml": RDF_XML,
    "rdfxml": RDF_XML,
    "rdf-xml": RDF_XML,
}

#: Other names clients send for the same formats (normalised before matching).
SYNONYMS: dict[str, str] = {
    "application/x-turtle": TURTLE,
    "application/turtle": TURTLE,
    "text/plain": N_TRIPLES,  # N-Triples' historical media type
    "application/xml": RDF_XML,
    "text/xml": RDF_XML,
    "application/xhtml+xml": HTML,
}


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
    scored = [(quality(ranges, media), -index, media) for index, media in enumerate(offered)]
    q, _, media = max(scored)
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
