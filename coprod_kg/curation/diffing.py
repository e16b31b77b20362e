"""Compare two versions of a case, blank nodes matched by canonical labelling (rdflib).

The entailments of each version (what the load-time rules add to the ontology's own) are
compared apart, so a curator sees what a version implies as well as what it states.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pyoxigraph as ox
from rdflib import Graph
from rdflib.compare import graph_diff, to_isomorphic

from coprod_kg.curation.model import Diff
from coprod_kg.curation.updates import ntriples_lines
from coprod_kg.rdf.namespaces import PREFIXES
from coprod_kg.rdf.terms import to_rdflib, triple_to_oxigraph


def _graph(triples: Sequence[ox.Triple]) -> Graph:
    graph = Graph()
    for t in triples:
        graph.add((to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)))
    return graph


def _turtle(graph: Graph) -> str:
    if len(graph) == 0:
        return ""
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    return graph.serialize(format="turtle")


def diff_versions(case: str, number: int, base: int | None, new: Sequence[ox.Triple],
                  old: Sequence[ox.Triple], entailed_new: Iterable[ox.Triple] = (),
                  entailed_old: Iterable[ox.Triple] = ()) -> Diff:
    """What ``new`` adds to and removes from ``old``, asserted and entailed triples apart."""
    _, removed, added = graph_diff(to_isomorphic(_graph(old)), to_isomorphic(_graph(new)))
    _, gone, implied = graph_diff(to_isomorphic(_graph(list(entailed_old))),
                                  to_isomorphic(_graph(list(entailed_new))))
    return Diff(case=case, number=number, base=base,
                added=ntriples_lines(triple_to_oxigraph(*t) for t in added),
                removed=ntriples_lines(triple_to_oxigraph(*t) for t in removed),
                added_turtle=_turtle(added), removed_turtle=_turtle(removed),
                entailed_added=ntriples_lines(triple_to_oxigraph(*t) for t in implied),
                entailed_removed=ntriples_lines(triple_to_oxigraph(*t) for t in gone),
                entailed_added_turtle=_turtle(implied),
                entailed_removed_turtle=_turtle(gone))
