"""Entailments materialised at load time into the ``graph/inferred`` named graph.

Queries never reason; they read these triples. Computed here, in plain Python over rdflib
graphs, to a fixed point:

- RDFS: ``rdf:type`` propagated to (named) superclasses, and triples to superproperties
  (``owl:equivalentClass``/``owl:equivalentProperty`` count both ways);
- OWL: ``owl:inverseOf`` both ways, ``owl:SymmetricProperty``, ``owl:TransitiveProperty``;
- SKOS: ``skos:broader``/``skos:narrower`` as inverses, and their transitive closures
  ``skos:broaderTransitive``/``skos:narrowerTransitive``;
- the class memberships only a DL reasoner finds (HermiT through owlready2, in
  :func:`coprod_kg.reasoning.infer_memberships`), when that module is available.
"""

from __future__ import annotations

import importlib
import logging
from collections import defaultdict
from collections.abc import Iterable

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS
from rdflib.term import Node

log = logging.getLogger(__name__)

Triple = tuple[Node, Node, Node]


def _closure(edges: Iterable[tuple[Node, Node]]) -> dict[Node, set[Node]]:
    """Reflexive-free transitive closure of a relation given as (child, parent) pairs."""
    direct: dict[Node, set[Node]] = defaultdict(set)
    for child, parent in edges:
        if child != parent:
            direct[child].add(parent)
    closed: dict[Node, set[Node]] = {}
    for start in list(direct):
        seen: set[Node] = set()
        todo = list(direct[start])
        while todo:
            node = todo.pop()
            if node not in seen and node != start:
                seen.add(node)
                todo.extend(direct.get(node, ()))
        closed[start] = seen
    return closed


def _hierarchy(schema: Graph, sub: URIRef, equivalent: URIRef) -> dict[Node, set[Node]]:
    edges = list(schema.subject_objects(sub))
    for a, b in schema.subject_objects(equivalent):
        edges += [(a, b), (b, a)]
    return {k: {v for v in vs if isinstance(v, URIRef)} for k, vs in _closure(edges).items()}


def _step(triples: set[Triple], classes: dict[Node, set[Node]],
          properties: dict[Node, set[Node]], inverses: dict[Node, set[Node]],
          symmetric: set[Node], transitive: set[Node]) -> set[Triple]:
    """One round of rules over ``triples``; returns what it derives (possibly already known)."""
    new: set[Triple] = set()
    by_predicate: dict[Node, list[tuple[Node, Node]]] = defaultdict(list)
    for s, p, o in triples:
        by_predicate[p].append((s, o))
        if p == RDF.type:
            new.update((s, RDF.type, c) for c in classes.get(o, ()))
        new.update((s, q, o) for q in properties.get(p, ()))
        if isinstance(o, Literal):
            continue
        new.update((o, q, s) for q in inverses.get(p, ()))
        if p in symmetric:
            new.add((o, p, s))
    for p in transitive:
        for child, ancestors in _closure(by_predicate.get(p, [])).items():
            new.update((child, p, a) for a in ancestors)
    return new


def compute_entailments(ontology: Graph, data: Graph) -> Graph:
    """Every triple entailed by ``ontology`` + ``data`` under the rules above, minus the asserted.

    >>> from rdflib import Namespace
    >>> ex = Namespace("http://example.org/")
    >>> onto, data = Graph(), Graph()
    >>> _ = onto.add((ex.Cat, RDFS.subClassOf, ex.Animal))
    >>> _ = data.add((ex.tom, RDF.type, ex.Cat))
    >>> (ex.tom, RDF.type, ex.Animal) in compute_entailments(onto, data)
    True
    """
    schema = ontology
    classes = _hierarchy(schema, RDFS.subClassOf, OWL.equivalentClass)
    properties = _hierarchy(schema, RDFS.subPropertyOf, OWL.equivalentProperty)
    hierarchy_triples = {(c, RDFS.subClassOf, p) for c, ps in classes.items() for p in ps
                         if isinstance(c, URIRef) and c != p}
    hierarchy_triples |= {(c, RDFS.subPropertyOf, p) for c, ps in properties.items() for p in ps
                          if isinstance(c, URIRef) and c != p}
    properties.setdefault(SKOS.broader, set()).add(SKOS.broaderTransitive)
    properties.setdefault(SKOS.narrower, set()).add(SKOS.narrowerTransitive)
    inverses: dict[Node, set[Node]] = defaultdict(set)
    for a, b in schema.subject_objects(OWL.inverseOf):
        inverses[a].add(b)
        inverses[b].add(a)
    for a, b in ((SKOS.broader, SKOS.narrower), (SKOS.broaderTransitive, SKOS.narrowerTransitive)):
        inverses[a].add(b)
        inverses[b].add(a)
    symmetric = set(schema.subjects(RDF.type, OWL.SymmetricProperty))
    transitive = set(schema.subjects(RDF.type, OWL.TransitiveProperty))
    transitive |= {SKOS.broaderTransitive, SKOS.narrowerTransitive}

    asserted: set[Triple] = set(ontology) | set(data)
    known = set(asserted)
    for _ in range(50):  # the rules are monotone; a handful of rounds reach the fixed point
        derived = _step(known, classes, properties, inverses, symmetric, transitive)
        fresh = derived - known
        if not fresh:
            break
        known |= fresh
    known |= hierarchy_triples  # the closed hierarchies themselves
    inferred = Graph()
    for triple in known - asserted:
        inferred.add(triple)
    for triple in _reasoner_memberships(ontology, data):
        if triple not in asserted:
            inferred.add(triple)
    return inferred


def _reasoner_memberships(ontology: Graph, data: Graph) -> Graph:
    """Class memberships from the DL reasoner, or an empty graph if it is not installed."""
    try:
        reasoning = importlib.import_module("coprod_kg.reasoning")
    except ImportError:
        log.warning("coprod_kg.reasoning is not available; DL class memberships skipped")
        return Graph()
    infer = getattr(reasoning, "infer_memberships", None)
    if infer is None:
        log.warning("coprod_kg.reasoning has no infer_memberships(); DL memberships skipped")
        return Graph()
    result: Graph = infer(ontology, data)
    return result
