"""Helpers shared by the linked-data, dump and page tests: parse RDF answers into plain triples."""

from __future__ import annotations

import pyoxigraph as ox
from rdflib import Graph, URIRef

#: rdflib's parser name for each RDF media type (JSON-LD goes through pyoxigraph: rdflib's
#: JSON-LD parser warns about its own deprecated ConjunctiveGraph, and warnings are errors).
RDFLIB_FORMATS = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/rdf+xml": "xml",
}

Triple = tuple[str, str, str]


def _text(term: object) -> str:
    if isinstance(term, ox.NamedNode | URIRef):
        return str(term.value if isinstance(term, ox.NamedNode) else term)
    if isinstance(term, ox.BlankNode):
        return "_:"
    if isinstance(term, ox.Literal):
        return term.value
    return "_:" if type(term).__name__ == "BNode" else str(term)


def parse_triples(body: bytes, media_type: str) -> set[Triple]:
    """The triples of an RDF document as (subject, predicate, object) strings.

    IRIs and literals become their text, blank nodes ``_:`` (enough for membership checks).
    """
    media_type = media_type.split(";")[0].strip()
    if media_type == "application/ld+json":
        quads = ox.parse(body, ox.RdfFormat.JSON_LD)
        return {(_text(q.subject), _text(q.predicate), _text(q.object)) for q in quads}
    graph = Graph().parse(data=body, format=RDFLIB_FORMATS[media_type])
    return {(_text(s), _text(p), _text(o)) for s, p, o in graph}


def parse_quads(body: bytes) -> list[tuple[str, str, str, str]]:
    """The quads of an N-Quads document as strings (rdflib's Dataset warns, so pyoxigraph)."""
    return [(_text(q.subject), _text(q.predicate), _text(q.object), _text(q.graph_name))
            for q in ox.parse(body, ox.RdfFormat.N_QUADS)]
