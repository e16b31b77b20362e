"""The source page: its reference, DOI, and the cases and concepts that cite it."""

from __future__ import annotations

from dataclasses import dataclass, field

from coprod_kg.rdf.namespaces import PREFIXES
from coprod_kg.storage.rows import Row, select
from coprod_kg.storage.store import KnowledgeStore

from .case_study import Link, labels
from .i18n import pick
from .linked_data import check_iri

_P = "\n".join(f"PREFIX {p}: <{iri}>" for p, iri in PREFIXES.items()) + "\n"


@dataclass
class CitedBy:
    """Who cites a source: cases (as evidence) and ontology terms (as their source)."""

    cases: list[Link] = field(default_factory=list)
    concepts: list[Link] = field(default_factory=list)
    works: list[Link] = field(default_factory=list)


def cited_by(store: KnowledgeStore, iri: str, lang: str = "en") -> CitedBy:
    """The cases, concepts and terms, and other works that cite ``iri``."""
    check_iri(iri)
    cases = select(store, _P + "SELECT DISTINCT ?x WHERE { ?x a cp:CoProductionCase . "
                   f"{{ ?x cito:citesAsEvidence <{iri}> }} UNION "
                   f"{{ ?x cp:hasCoding/cp:evidenceSource <{iri}> }} }}")
    terms = select(store, _P + f"SELECT DISTINCT ?x WHERE {{ ?x dcterms:source <{iri}> "
                   "FILTER(isIRI(?x)) }")
    works = select(store, _P + f"SELECT DISTINCT ?x WHERE {{ ?x cito:cites <{iri}> }}")
    iris = {r["x"].value for rows in (cases, terms, works) for r in rows}
    names = labels(store, iris)

    def links(rows: list[Row]) -> list[Link]:
        found = [Link(pick(names.get(r["x"].value, {}), lang)
                      or r["x"].value.rsplit("/", 1)[-1], r["x"].value) for r in rows]
        return sorted(found, key=lambda link: link.text.lower())

    return CitedBy(links(cases), links(terms), links(works))
