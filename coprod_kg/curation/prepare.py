"""Turn submitted bytes into a checked version: parse, identify the case, validate, convert."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pyoxigraph as ox
from rdflib import Graph

from coprod_kg.curation.identity import case_of
from coprod_kg.curation.updates import graph_digest
from coprod_kg.errors import ValidationFailed
from coprod_kg.rdf_input import parse_rdf
from coprod_kg.terms import triple_to_oxigraph
from coprod_kg.validation import ValidationContext, ValidationResult
from coprod_kg.validation_worker import validate_bounded


@dataclass(frozen=True)
class Prepared:
    """A parsed, identified and (unless skipped) validated submission."""

    case: str
    graph: Graph
    triples: list[ox.Triple]
    content_hash: str
    digest: str
    result: ValidationResult | None
    source_name: str | None


def prepare(data: bytes, media_type: str, source_name: str | None,
            context: ValidationContext | None) -> Prepared:
    """Parse and check ``data``; ``context=None`` skips SHACL (bundled, trusted files).

    Raises ParseError / UnsupportedMediaType / BadInput (input), Unprocessable (identity) and
    :class:`ValidationFailed` (violations).
    """
    result = None
    if context is None:
        graph = parse_rdf(data, media_type, source_name)
    else:  # in the server's validation workers, under the upload limits
        graph, result = validate_bounded(data, media_type, source_name, context)
    case = case_of(graph)
    if result is not None and not result.conforms:
        raise ValidationFailed(result)
    triples = [triple_to_oxigraph(s, p, o) for s, p, o in graph]
    return Prepared(case, graph, triples, hashlib.sha256(data).hexdigest(),
                    graph_digest(triples), result, source_name)
