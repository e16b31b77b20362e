"""Turn submitted bytes into a checked version: parse, identify the case, validate, convert."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pyoxigraph as ox
from rdflib import Graph

from coprod_kg.curation.confinement import check_record
from coprod_kg.curation.identity import case_of
from coprod_kg.curation.updates import graph_digest
from coprod_kg.rdf.parsing import parse_rdf
from coprod_kg.rdf.terms import triple_to_oxigraph
from coprod_kg.validation.shacl import ValidationContext, ValidationFailed, ValidationResult
from coprod_kg.validation.worker import validate_bounded


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
    minted: frozenset[str] = frozenset()  #: new resources it describes (when confined)


#: Checks a record against the store before SHACL runs: (case, triples) -> the IRIs it mints.
Confine = Callable[[str, Sequence[ox.Triple]], set[str]]


def prepare(data: bytes, media_type: str, source_name: str | None,
            context: ValidationContext | None, confine: Confine | None = None) -> Prepared:
    """Parse and check ``data``; ``context=None`` skips SHACL (bundled, trusted files).

    ``confine`` (the curation service's store-side confinement check) runs after the checks
    that need no store and before SHACL, so a record reaching beyond its case is refused as
    such, naming the triple, whatever else is wrong with it.

    Raises ParseError / UnsupportedMediaType / BadInput (input), Unprocessable (identity),
    OutsideCase (a triple reaches beyond the case: the rules that need no store, see
    :mod:`~coprod_kg.curation.confinement`) and :class:`ValidationFailed` (violations).
    """
    result = None
    if context is None:
        graph = parse_rdf(data, media_type, source_name)
    else:  # in the server's validation workers, under the upload limits
        graph, result = validate_bounded(data, media_type, source_name, context)
    case = case_of(graph)
    triples = [triple_to_oxigraph(s, p, o) for s, p, o in graph]
    check_record(triples, case)
    minted = frozenset(confine(case, triples)) if confine is not None else frozenset()
    if result is not None and not result.conforms:  # after confinement: its refusal names
        raise ValidationFailed(result)               # the offending triple
    return Prepared(case, graph, triples, hashlib.sha256(data).hexdigest(),
                    graph_digest(triples), result, source_name, minted)
