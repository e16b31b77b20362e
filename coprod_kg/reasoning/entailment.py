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
side runs as SPARQL in an in-memory store of the engine, so the cost follows the engine, not
rdflib. Reading the inputs from a store (embedded or remote, through :class:`GraphWriter`) and
writing the result back: :mod:`coprod_kg.reasoning.materialise`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

import pyoxigraph as ox
from rdflib import BNode, Graph, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SKOS
from rdflib.term import Node

from coprod_kg.rdf.terms import Row
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
    #: The ontology's triples as default-graph quads, when read from a store
    #: (:func:`read_schema`): each scratch store gets them without reading the store again.
    quads: tuple[ox.Quad, ...] = ()

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


#: The scratch store's graph that collects what the rules derive (its default graph holds the
#: inputs and the entailments together, so every rule sees both).
DERIVED = ox.NamedNode("urn:coprod:derived")
_IRI = re.compile(r"<([^<>\s]+)>")
#: The graphs of each round's new triples (``{DELTA}{round}``).
DELTA = "urn:coprod:delta/"


def _nn(iri: URIRef | str) -> str:
    return f"<{iri}>"


def _values(pairs: Iterable[tuple[URIRef, URIRef]]) -> str:
    return " ".join(f"({_nn(a)} {_nn(b)})" for a, b in sorted(pairs))


def _derive_into(head: str, where: str, delta: str) -> str:
    """A rule as one SPARQL Update: add ``head`` to the default graph and to graph ``delta``
    (this round's new triples, what the next round starts from) wherever ``where`` matches and
    the triple is not known yet. Each entailment lands in the graph of exactly one round."""
    return (f"INSERT {{ {head} GRAPH <{delta}> {{ {head} }} }} "
            f"WHERE {{ {where} FILTER NOT EXISTS {{ {head} }} }}")


@dataclass(frozen=True)
class Rule:
    """One rule: what it derives from a pattern. A rule with a single ``premise`` (a triple
    pattern) needs, after the first round, only the triples the previous round derived, and
    only if those have one of its ``keys``; a join needs to run again only if those include a
    triple with one of its IRIs as predicate or as class (:meth:`touched_by`)."""

    head: str
    where: str = ""
    premise: str = ""
    #: For a rule with a premise: the predicates (for an ``rdf:type`` premise, the classes) it
    #: can match, one of which the triples it starts from must have; empty: any.
    keys: frozenset[str] = frozenset()

    @cached_property
    def iris(self) -> frozenset[str] | None:
        """The IRIs of the join's pattern; ``None`` when any predicate could match it (a
        variable predicate, or a path through the hierarchy), or it names none."""
        if "?anyP" in self.where or "*" in self.where:
            return None
        return frozenset(_IRI.findall(self.where)) or None

    def touched_by(self, present: frozenset[str]) -> bool:
        """Whether a graph whose predicates and classes are ``present``
        (:func:`predicates_and_classes`) has a triple this rule could match.

        >>> rule = Rule("?x a <urn:D> .", "?x <urn:p> ?y . ?y a <urn:C> .")
        >>> rule.touched_by(frozenset({"urn:C"})), rule.touched_by(frozenset({"urn:q"}))
        (True, False)
        >>> rule = Rule("?s a <urn:C> .", premise="?s <urn:p> ?o .", keys=frozenset({"urn:p"}))
        >>> rule.touched_by(frozenset({"urn:p"})), rule.touched_by(frozenset({"urn:q"}))
        (True, False)
        """
        if self.premise:
            return not self.keys or not self.keys.isdisjoint(present)
        return self.iris is None or not self.iris.isdisjoint(present)

    def update(self, trigger: str | None, delta: str) -> str:
        """The rule as one SPARQL Update; ``trigger``: the graph of the previous round's new
        triples, which the single premise is matched in (``None``: the whole default graph)."""
        if self.premise:
            premise = self.premise if trigger is None else (
                f"GRAPH <{trigger}> {{ {self.premise} }}")
            return _derive_into(self.head, f"{premise} {self.where}", delta)
        return _derive_into(self.head, self.where, delta)


def _keys(pairs: Iterable[tuple[URIRef, URIRef]]) -> frozenset[str]:
    return frozenset(str(a) for a, _ in pairs)


def _rules(schema: Schema) -> list[Rule]:
    """Every rule of the module doc, over the default graph of the scratch store."""
    rdf_type, node = _nn(RDF.type), "FILTER(isIRI(?s) || isBlank(?s))"
    rules: list[Rule] = []
    superclasses = [(c, p) for c, ps in schema.superclasses.items() for p in ps]
    if superclasses:
        rules.append(Rule(f"?s {rdf_type} ?sup .",
                          f"VALUES (?c ?sup) {{ {_values(superclasses)} }} {node}",
                          f"?s {rdf_type} ?c .", _keys(superclasses)))
    superproperties = [(p, q) for p, qs in schema.superproperties.items() for q in qs]
    if superproperties:
        rules.append(Rule("?s ?q ?o .", f"VALUES (?p ?q) {{ {_values(superproperties)} }}",
                          "?s ?p ?o .", _keys(superproperties)))
    swapped = [(p, q) for p, qs in schema.inverses.items() for q in qs]
    swapped += [(p, p) for p in schema.symmetric]
    if swapped:
        rules.append(Rule("?o ?q ?s .", f"VALUES (?p ?q) {{ {_values(swapped)} }} "
                                        "FILTER(!isLiteral(?o))", "?s ?p ?o .", _keys(swapped)))
    domains = [(p, c) for p, cs in schema.domains.items() for c in cs]
    if domains:
        rules.append(Rule(f"?s {rdf_type} ?c .", f"VALUES (?p ?c) {{ {_values(domains)} }}",
                          "?s ?p ?o .", _keys(domains)))
    ranges = [(p, c) for p, cs in schema.ranges.items() for c in cs]
    if ranges:
        rules.append(Rule(f"?o {rdf_type} ?c .", f"VALUES (?p ?c) {{ {_values(ranges)} }} "
                                                 "FILTER(!isLiteral(?o))", "?s ?p ?o .",
                          _keys(ranges)))
    for prop in sorted(schema.transitive):
        rules.append(Rule(f"?s {_nn(prop)} ?o .", f"?s {_nn(prop)}/{_nn(prop)}+ ?o . {node}"))
    for compiled in schema.defined:
        # The types are closed under the hierarchy at the fixed point, which the rounds reach.
        rules.append(Rule(f"?x {rdf_type} {_nn(compiled.iri)} .",
                          f"{compiled.closed_pattern or compiled.pattern} FILTER(isIRI(?x))"))
    return rules


def predicates_and_classes(scratch: ox.Store, graph: str) -> frozenset[str]:
    """The IRIs used as predicate, or as class (object of ``rdf:type``), in ``graph``: one
    read per round, which every join's :meth:`Rule.touched_by` then looks at."""
    result = scratch.query(f"SELECT DISTINCT ?i WHERE {{ GRAPH <{graph}> {{ {{ ?s ?i ?o }} "
                           f"UNION {{ ?s a ?i }} }} FILTER(isIRI(?i)) }}")
    assert isinstance(result, ox.QuerySolutions)
    return frozenset(row["i"].value for row in result)


def _count(scratch: ox.Store, graph: str) -> int:
    result = scratch.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    assert isinstance(result, ox.QuerySolutions)
    value = next(iter(result))["n"]
    assert isinstance(value, ox.Literal)
    return int(value.value)


def derived_graphs(scratch: ox.Store) -> list[ox.NamedNode]:
    """The graphs of ``scratch`` holding what :func:`close` derived: :data:`DERIVED`, or one
    graph per round when it was closed with ``gather=False`` (no triple in two of them)."""
    return sorted((g for g in scratch.named_graphs() if isinstance(g, ox.NamedNode)
                   and (g == DERIVED or g.value.startswith(DELTA))), key=lambda g: g.value)


def close(scratch: ox.Store, schema: Schema, start: str | None = None,
          gather: bool = True) -> int:
    """Apply the rules to the default graph of the in-memory ``scratch`` store until nothing
    new follows; the entailments (never an asserted triple) are also in graph :data:`DERIVED`
    (``gather``), or left in one graph per round (:func:`derived_graphs`: a big load writes
    them out from there, without copying them once more in the scratch store). Returns their
    count.

    Every rule runs inside the engine as one SPARQL Update. The first round matches every rule
    against all triples; later rounds match the single-premise rules against the triples the
    round before derived only (semi-naive evaluation), when those have one of the predicates
    (or classes) they start from, and the joins against all of them when those new triples
    could matter to them.
    ``start``: the default graph was closed before graph ``start``'s triples were added to it,
    so the first round too needs only those.
    """
    first = f"{DELTA}0"
    hierarchy = _hierarchy_triples(schema)
    if hierarchy and start is None:
        scratch.update(_derive_into("?s ?p ?o .", "VALUES (?s ?p ?o) { " + " ".join(
            f"({t.subject} {t.predicate} {t.object})" for t in sorted(hierarchy, key=str))
            + " }", first))
    rules = _rules(schema)
    for step in range(MAX_ROUNDS):
        trigger = start if step == 0 else f"{DELTA}{step}"
        delta = f"{DELTA}{step + 1}"
        present = None if trigger is None else predicates_and_classes(scratch, trigger)
        for rule in rules:
            if present is None or rule.touched_by(present):
                scratch.update(rule.update(trigger, delta))
        if not scratch.contains_named_graph(ox.NamedNode(delta)):
            break
    rounds = [g for g in derived_graphs(scratch) if g != DERIVED]
    if not gather:
        return sum(_count(scratch, g.value) for g in rounds)
    for graph in rounds:
        scratch.update(f"ADD <{graph.value}> TO <{DERIVED.value}> ; DROP GRAPH <{graph.value}>")
    return _count(scratch, DERIVED.value)


def _hierarchy_triples(schema: Schema) -> set[ox.Triple]:
    sub_class, sub_property = ox.NamedNode(str(RDFS.subClassOf)), ox.NamedNode(
        str(RDFS.subPropertyOf))
    triples = {ox.Triple(ox.NamedNode(c), sub_class, ox.NamedNode(p))
               for c, ps in schema.superclasses.items() for p in ps}
    triples |= {ox.Triple(ox.NamedNode(c), sub_property, ox.NamedNode(p))
                for c, ps in schema.superproperties.items() for p in ps}
    return triples


def default_quads(triples: Iterable[ox.Triple]) -> list[ox.Quad]:
    """``triples`` as quads of the default graph (the scratch store's input)."""
    default = ox.DefaultGraph()
    return [ox.Quad(t.subject, t.predicate, t.object, default) for t in triples]


def entail(triples: Iterable[ox.Triple], schema: Schema) -> set[ox.Triple]:
    """The entailments of ``triples`` (ontology and data together) under the rules.

    The triples go into the default graph of a scratch in-memory store, where the rules run to
    their fixed point (:func:`close`). Asserted triples are not repeated; blank nodes keep their
    labels, so an entailment about a blank node of ``triples`` names the same node.
    """
    scratch = ox.Store()
    scratch.bulk_extend(default_quads(triples))
    close(scratch, schema)
    return {q.triple for q in scratch.quads_for_pattern(None, None, None, DERIVED)}
