"""Entailments materialised at load time into a named graph, computed by the engine itself.

Queries never reason; they read these triples. The rules, applied to a fixed point:

- RDFS: ``rdf:type`` propagated to every named superclass, types from ``rdfs:domain`` and
  ``rdfs:range`` (the range only for resources, not literals), triples propagated to
  superproperties (``owl:equivalentClass``/``owl:equivalentProperty`` count both ways, and a
  class defined as an intersection is a subclass of each named class in it);
- OWL: ``owl:inverseOf`` both ways, ``owl:SymmetricProperty``, ``owl:TransitiveProperty``;
- SKOS: ``skos:broader``/``skos:narrower`` as inverses, with their transitive closures
  ``skos:broaderTransitive``/``skos:narrowerTransitive``;
- the memberships of the ontology's defined classes, compiled to SPARQL by
  :mod:`coprod_kg.reasoning.defined_classes` (HermiT agrees on the bundled data: see the tests);
- the closed class and property hierarchies themselves, as ``rdfs:subClassOf`` and
  ``rdfs:subPropertyOf`` triples.

The schema (the ontology graph, a few thousand triples) is read into Python once; the data
side runs as SPARQL in the store (embedded or remote, through :class:`GraphWriter`), so the cost
follows the engine, not rdflib.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import pyoxigraph as ox
from rdflib import BNode, Graph, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SKOS
from rdflib.term import Node

from coprod_kg.rdf.terms import Row, to_rdflib, triple_to_oxigraph
from coprod_kg.reasoning.defined_classes import CompiledClass, compile_defined_classes

MAX_ROUNDS = 20  # the rules are monotone; the bundled data reaches its fixed point in three
INSERT_BATCH = 20_000  # triples per INSERT DATA request



class GraphWriter(Protocol):
    """The store operations the rules need (the curation writers, embedded or remote, fit)."""

    def select(self, query: str, default_graphs: Sequence[str] | None = None) -> list[Row]:
        """Rows of a SELECT query over the union of ``default_graphs``."""
        ...

    def construct(self, query: str, default_graphs: Sequence[str] | None = None
                  ) -> list[ox.Triple]:
        """Triples of a CONSTRUCT query over the union of ``default_graphs``."""
        ...

    def graph_triples(self, name: str) -> list[ox.Triple]:
        """The triples of one named graph."""
        ...

    def update(self, request: str) -> None:
        """Apply one SPARQL Update request."""
        ...


def _closure(edges: Iterable[tuple[Node, Node]]) -> dict[URIRef, set[URIRef]]:
    """Transitive closure of (child, parent) pairs, keeping named nodes only, without loops."""
    direct: dict[Node, set[Node]] = defaultdict(set)
    for child, parent in edges:
        if child != parent:
            direct[child].add(parent)
    closed: dict[URIRef, set[URIRef]] = {}
    for start in list(direct):
        if not isinstance(start, URIRef):
            continue
        seen: set[Node] = set()
        todo = list(direct[start])
        while todo:
            node = todo.pop()
            if node not in seen and node != start:
                seen.add(node)
                todo.extend(direct.get(node, ()))
        closed[start] = {n for n in seen if isinstance(n, URIRef)}
    return closed


@dataclass
class Schema:
    """What the rules need from the ontology, computed once per load."""

    superclasses: dict[URIRef, set[URIRef]]
    superproperties: dict[URIRef, set[URIRef]]
    inverses: dict[URIRef, set[URIRef]] = field(default_factory=dict)
    symmetric: set[URIRef] = field(default_factory=set)
    transitive: set[URIRef] = field(default_factory=set)
    defined: list[CompiledClass] = field(default_factory=list)
    domains: dict[URIRef, set[URIRef]] = field(default_factory=dict)
    ranges: dict[URIRef, set[URIRef]] = field(default_factory=dict)

    @classmethod
    def of(cls, ontology: Graph) -> Schema:
        """Read the hierarchies and property characteristics of ``ontology``."""
        class_edges: list[tuple[Node, Node]] = list(ontology.subject_objects(RDFS.subClassOf))
        for a, b in ontology.subject_objects(OWL.equivalentClass):
            class_edges += [(a, b), (b, a)]
            members = ontology.value(b, OWL.intersectionOf) if isinstance(b, BNode) else None
            if members is not None:
                class_edges += [(a, m) for m in Collection(ontology, members)]
        property_edges: list[tuple[Node, Node]] = list(ontology.subject_objects(RDFS.subPropertyOf))
        for a, b in ontology.subject_objects(OWL.equivalentProperty):
            property_edges += [(a, b), (b, a)]
        property_edges += [(SKOS.broader, SKOS.broaderTransitive),
                           (SKOS.narrower, SKOS.narrowerTransitive)]
        inverses: dict[URIRef, set[URIRef]] = defaultdict(set)
        pairs = [*ontology.subject_objects(OWL.inverseOf), (SKOS.broader, SKOS.narrower),
                 (SKOS.broaderTransitive, SKOS.narrowerTransitive)]
        for a, b in pairs:
            if isinstance(a, URIRef) and isinstance(b, URIRef):
                inverses[a].add(b)
                inverses[b].add(a)
        named = {n for n in ontology.subjects(RDF.type, OWL.SymmetricProperty)
                 if isinstance(n, URIRef)}
        transitive = {n for n in ontology.subjects(RDF.type, OWL.TransitiveProperty)
                      if isinstance(n, URIRef)} | {SKOS.broaderTransitive, SKOS.narrowerTransitive}
        defined, _ = compile_defined_classes(ontology)
        domains: dict[URIRef, set[URIRef]] = defaultdict(set)
        ranges: dict[URIRef, set[URIRef]] = defaultdict(set)
        for axiom, table in ((RDFS.domain, domains), (RDFS.range, ranges)):
            for prop, kind in ontology.subject_objects(axiom):
                if isinstance(prop, URIRef) and isinstance(kind, URIRef):
                    table[prop].add(kind)
        return cls(_closure(class_edges), _closure(property_edges), dict(inverses), named,
                   transitive, defined, dict(domains), dict(ranges))


def _nn(iri: URIRef) -> str:
    return f"<{iri}>"


def _derive(store: ox.Store, schema: Schema) -> set[ox.Triple]:
    """One round of every rule over the default graph of the scratch ``store``."""
    new: set[ox.Triple] = set()
    rdf_type = ox.NamedNode(str(RDF.type))

    def select(query: str) -> ox.QuerySolutions:
        result = store.query(query)
        assert isinstance(result, ox.QuerySolutions)
        return result

    for row in select("SELECT DISTINCT ?s ?c WHERE { ?s a ?c FILTER(isIRI(?c)) }"):
        subject = row["s"]
        if isinstance(subject, ox.NamedNode | ox.BlankNode):
            for parent in schema.superclasses.get(URIRef(row["c"].value), ()):
                new.add(ox.Triple(subject, rdf_type, ox.NamedNode(parent)))
    rules: list[tuple[URIRef, URIRef, bool]] = []  # (source predicate, derived predicate, swap)
    rules += [(p, q, False) for p, qs in schema.superproperties.items() for q in qs]
    rules += [(p, q, True) for p, qs in schema.inverses.items() for q in qs]
    rules += [(p, p, True) for p in schema.symmetric]
    for source, derived, swap in rules:
        predicate = ox.NamedNode(derived)
        for quad in store.quads_for_pattern(None, ox.NamedNode(source), None, ox.DefaultGraph()):
            if not swap:
                new.add(ox.Triple(quad.subject, predicate, quad.object))
            elif isinstance(quad.object, ox.NamedNode | ox.BlankNode):
                new.add(ox.Triple(quad.object, predicate, quad.subject))
    for prop in set(schema.domains) | set(schema.ranges):
        for quad in store.quads_for_pattern(None, ox.NamedNode(prop), None, ox.DefaultGraph()):
            new.update(ox.Triple(quad.subject, rdf_type, ox.NamedNode(c))
                       for c in schema.domains.get(prop, ()))
            if isinstance(quad.object, ox.NamedNode | ox.BlankNode):
                new.update(ox.Triple(quad.object, rdf_type, ox.NamedNode(c))
                           for c in schema.ranges.get(prop, ()))
    for prop in schema.transitive:
        predicate = ox.NamedNode(prop)
        for row in select(f"SELECT DISTINCT ?s ?o WHERE {{ ?s {_nn(prop)}/{_nn(prop)}+ ?o }}"):
            subject = row["s"]
            if isinstance(subject, ox.NamedNode | ox.BlankNode):
                new.add(ox.Triple(subject, predicate, row["o"]))
    for compiled in schema.defined:
        result = store.query(compiled.construct())
        assert isinstance(result, ox.QueryTriples)
        new.update(result)
    return new


def _hierarchy_triples(schema: Schema) -> set[ox.Triple]:
    sub_class, sub_property = ox.NamedNode(str(RDFS.subClassOf)), ox.NamedNode(
        str(RDFS.subPropertyOf))
    triples = {ox.Triple(ox.NamedNode(c), sub_class, ox.NamedNode(p))
               for c, ps in schema.superclasses.items() for p in ps}
    triples |= {ox.Triple(ox.NamedNode(c), sub_property, ox.NamedNode(p))
                for c, ps in schema.superproperties.items() for p in ps}
    return triples


def _insert(engine: GraphWriter, target: str, triples: Iterable[ox.Triple]) -> None:
    batch: list[str] = []
    for triple in triples:
        batch.append(f"{triple.subject} {triple.predicate} {triple.object} .")
        if len(batch) >= INSERT_BATCH:
            engine.update(f"INSERT DATA {{ GRAPH <{target}> {{ {chr(10).join(batch)} }} }}")
            batch = []
    if batch:
        engine.update(f"INSERT DATA {{ GRAPH <{target}> {{ {chr(10).join(batch)} }} }}")


def read_schema(engine: GraphWriter, ontology_graph: str) -> Schema:
    """The rules' view of the ontology stored in graph ``ontology_graph``."""
    ontology = Graph()
    for triple in engine.graph_triples(ontology_graph):
        ontology.add((to_rdflib(triple.subject), to_rdflib(triple.predicate),
                      to_rdflib(triple.object)))
    return Schema.of(ontology)


def entail(triples: Iterable[ox.Triple], schema: Schema) -> set[ox.Triple]:
    """The entailments of ``triples`` (ontology and data together) under the rules.

    The triples go into the default graph of a scratch in-memory store, where the rules run to
    their fixed point (querying one default graph is far faster than a union of named graphs).
    Asserted triples are not repeated; blank nodes keep their labels, so an entailment about a
    blank node of ``triples`` names the same node.
    """
    scratch = ox.Store()
    default = ox.DefaultGraph()
    scratch.extend([ox.Quad(t.subject, t.predicate, t.object, default) for t in triples])
    asserted = {q.triple for q in scratch.quads_for_pattern(None, None, None, default)}
    known: set[ox.Triple] = set()
    fresh = _hierarchy_triples(schema)
    for _ in range(MAX_ROUNDS):
        fresh = {t for t in fresh if t not in known and t not in asserted}
        if not fresh:
            break
        known |= fresh
        scratch.extend([ox.Quad(t.subject, t.predicate, t.object, default) for t in fresh])
        fresh = _derive(scratch, schema)
    return known


def materialise(engine: GraphWriter, ontology_graph: str, sources: Iterable[str],
                target: str, schema: Schema | None = None) -> int:
    """Replace graph ``target`` by the entailments of the ontology plus ``sources``.

    The inputs are read from ``engine`` and the rules run in memory (:func:`entail`); only the
    result is written back, in batches. Returns the triple count. Pass ``schema`` (from
    :func:`read_schema`) to reuse it across several calls.
    """
    schema = schema or read_schema(engine, ontology_graph)
    inputs = [ontology_graph] + [g for g in sources if g not in (ontology_graph, target)]
    triples: list[ox.Triple] = []
    for name in dict.fromkeys(inputs):
        triples.extend(engine.graph_triples(name))
    known = entail(triples, schema)
    replace_graph = getattr(engine, "replace_graph", None)  # a Graph Store: bounded requests
    if replace_graph is not None:
        replace_graph(target, sorted(known, key=str))
        return len(known)
    engine.update(f"DROP SILENT GRAPH <{target}>")
    _insert(engine, target, sorted(known, key=str))
    return len(known)


def compute_entailments(ontology: Graph, data: Graph) -> Graph:
    """The entailments of ``ontology`` + ``data`` as an rdflib graph (for small inputs, tests).

    >>> from rdflib import Namespace
    >>> ex = Namespace("http://example.org/")
    >>> onto, data = Graph(), Graph()
    >>> _ = onto.add((ex.Cat, RDFS.subClassOf, ex.Animal))
    >>> _ = data.add((ex.tom, RDF.type, ex.Cat))
    >>> (ex.tom, RDF.type, ex.Animal) in compute_entailments(onto, data)
    True
    """
    # Imported here: the curation package builds on this module.
    from coprod_kg.storage.embedded.writer import OxigraphWriter

    store = ox.Store()
    names = {"ontology": "urn:coprod:ontology", "data": "urn:coprod:data",
             "inferred": "urn:coprod:inferred"}
    for graph, name in ((ontology, names["ontology"]), (data, names["data"])):
        node = ox.NamedNode(name)
        quads = []
        for s, p, o in graph:
            triple = triple_to_oxigraph(s, p, o)
            quads.append(ox.Quad(triple.subject, triple.predicate, triple.object, node))
        store.extend(quads)
    materialise(OxigraphWriter.over(store), names["ontology"], [names["data"]],
                names["inferred"])
    inferred = Graph()
    for quad in store.quads_for_pattern(None, None, None, ox.NamedNode(names["inferred"])):
        inferred.add((to_rdflib(quad.subject), to_rdflib(quad.predicate),
                      to_rdflib(quad.object)))
    return inferred
