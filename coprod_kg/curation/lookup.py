"""Queries over the store that validation and identity checks need (public graphs only)."""

from __future__ import annotations

from collections.abc import Sequence

import pyoxigraph as ox
from rdflib import Graph, URIRef

from coprod_kg.curation.model import CASE_GRAPH_BASE, INFERRED_SUFFIX, case_slug
from coprod_kg.rdf.namespaces import INFERRED_GRAPH
from coprod_kg.rdf.terms import to_rdflib
from coprod_kg.storage.store import GraphReader

_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"


def _values(iris: Sequence[str]) -> str:
    return " ".join(str(ox.NamedNode(i)) for i in sorted(iris))


def types_and_labels(reader: GraphReader, public: Sequence[str],
                     nodes: set[URIRef]) -> Graph:
    """``rdf:type`` and ``rdfs:label`` of ``nodes`` in the public graphs: ONE CONSTRUCT."""
    out = Graph()
    if not nodes or not public:
        return out
    query = (f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES ?s {{ {_values([str(n) for n in nodes])} }}"
             f" VALUES ?p {{ <{_RDF_TYPE}> <{_LABEL}> }} ?s ?p ?o }}")
    for t in reader.construct(query, default_graphs=list(public)):
        out.add((to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)))
    return out


def described_elsewhere(reader: GraphReader, public: Sequence[str], subjects: set[str],
                        case: str) -> dict[str, str]:
    """Which of ``subjects`` another public graph already describes: subject -> graph.

    The case's own version graphs and entailment graphs (derived, not descriptions) do not
    count.
    """
    own = f"{CASE_GRAPH_BASE}{case_slug(case)}/"
    graphs = [g for g in public if not g.startswith(own) and g != str(INFERRED_GRAPH)
              and not g.endswith(INFERRED_SUFFIX)]
    if not subjects or not graphs:
        return {}
    query = (f"SELECT DISTINCT ?s ?g WHERE {{ VALUES ?s {{ {_values(sorted(subjects))} }} "
             f"VALUES ?g {{ {_values(graphs)} }} GRAPH ?g {{ ?s ?p ?o }} }}")
    return {row["s"].value: row["g"].value for row in reader.select(query, default_graphs=None)}
