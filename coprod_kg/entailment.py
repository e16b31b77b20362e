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
  :mod:`coprod_kg.defined_classes` (HermiT agrees on the bundled data: see the tests);
- the closed class and property hierarchies themselves, as ``rdfs:subClassOf`` and
  ``rdfs:subPropertyOf`` triples.

The schema (the ontology graph, a few thousand triples) is read into Python once; the data
side runs as SPARQL inside pyoxigraph, so the cost follows the engine, not rdflib.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib import BNode, Graph, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SKOS
from rdflib.term import Node

from coprod_kg.defined_classes import CompiledClass, compile_defined_classes
from coprod_kg.terms import to_rdflib, triple_to_oxigraph

MAX_ROUNDS = 20  # the rules are monotone; the bundled data reaches its fixed point in three


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


def _derive(store: ox.Store, schema: Schema,
            graphs: list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph]) -> set[ox.Triple]:
    """One round of every rule over the union of ``graphs``."""
    new: set[ox.Triple] = set()

    def select(query: str) -> Iterable[ox.QuerySolution]:
        result = store.query(query, default_graph=graphs)
        assert isinstance(result, ox.QuerySolutions)
        return result

    for row in select("SELECT DISTINCT ?s ?c WHERE { ?s a ?c FILTER(isIRI(?c)) }"):
        for parent in schema.superclasses.get(URIRef(row["c"].value), ()):
            new.add(ox.Triple(row["s"], ox.NamedNode(str(RDF.type)), ox.NamedNode(parent)))
    rules: list[tuple[URIRef, URIRef, bool]] = []  # (source predicate, derived predicate, swap)
    rules += [(p, q, False) for p, qs in schema.superproperties.items() for q in qs]
    rules += [(p, q, True) for p, qs in schema.inverses.items() for q in qs]
    rules += [(p, p, True) for p in schema.symmetric]
    for source, derived, swap in rules:
        predicate = ox.NamedNode(derived)
        for row in select(f"SELECT ?s ?o WHERE {{ ?s {_nn(source)} ?o }}"):
            if swap:
                if not isinstance(row["o"], ox.Literal):
                    new.add(ox.Triple(row["o"], predicate, row["s"]))
            else:
                new.add(ox.Triple(row["s"], predicate, row["o"]))
    rdf_type = ox.NamedNode(str(RDF.type))
    for prop in set(schema.domains) | set(schema.ranges):
        for row in select(f"SELECT DISTINCT ?s ?o WHERE {{ ?s {_nn(prop)} ?o }}"):
            new.update(ox.Triple(row["s"], rdf_type, ox.NamedNode(c))
                       for c in schema.domains.get(prop, ()))
            if not isinstance(row["o"], ox.Literal):
                new.update(ox.Triple(row["o"], rdf_type, ox.NamedNode(c))
                           for c in schema.ranges.get(prop, ()))
    for prop in schema.transitive:
        predicate = ox.NamedNode(prop)
        for row in select(f"SELECT DISTINCT ?s ?o WHERE {{ ?s {_nn(prop)}/{_nn(prop)}+ ?o }}"):
            new.add(ox.Triple(row["s"], predicate, row["o"]))
    for compiled in schema.defined:
        result = store.query(compiled.construct(), default_graph=graphs)
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


def materialise(store: ox.Store, ontology_graph: str, sources: Iterable[str],
                target: str) -> int:
    """Replace graph ``target`` by the entailments of the ontology plus ``sources``.

    Asserted triples (in the ontology or a source) are not repeated. Returns the triple count.
    """
    ontology = Graph()
    onto_node = ox.NamedNode(ontology_graph)
    for quad in store.quads_for_pattern(None, None, None, onto_node):
        ontology.add((to_rdflib(quad.subject), to_rdflib(quad.predicate),
                      to_rdflib(quad.object)))
    schema = Schema.of(ontology)
    target_node = ox.NamedNode(target)
    inputs: list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph] = [onto_node]
    inputs += [ox.NamedNode(g) for g in sources if g not in (ontology_graph, target)]
    if store.contains_named_graph(target_node):
        store.remove_graph(target_node)
    store.add_graph(target_node)
    known: set[ox.Triple] = set()
    fresh = _hierarchy_triples(schema)
    for _ in range(MAX_ROUNDS):
        fresh = {t for t in fresh if t not in known}
        if not fresh:
            break
        known |= fresh
        store.extend([ox.Quad(t.subject, t.predicate, t.object, target_node) for t in fresh])
        fresh = _derive(store, schema, [*inputs, target_node])
    # Drop what a source already asserts: the default graph must not count a triple twice.
    graph_list = " ".join(f"<{g.value}>" for g in inputs if isinstance(g, ox.NamedNode))
    store.update(f"""DELETE {{ GRAPH <{target}> {{ ?s ?p ?o }} }} WHERE {{
        GRAPH <{target}> {{ ?s ?p ?o }} VALUES ?g {{ {graph_list} }} GRAPH ?g {{ ?s ?p ?o }} }}""")
    return sum(1 for _ in store.quads_for_pattern(None, None, None, target_node))


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
    materialise(store, names["ontology"], [names["data"]], names["inferred"])
    inferred = Graph()
    for quad in store.quads_for_pattern(None, None, None, ox.NamedNode(names["inferred"])):
        inferred.add((to_rdflib(quad.subject), to_rdflib(quad.predicate),
                      to_rdflib(quad.object)))
    return inferred
