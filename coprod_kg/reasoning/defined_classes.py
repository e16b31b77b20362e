"""Compile the ontology's defined classes into SPARQL, so the engine classifies at load time.

A defined class (``C owl:equivalentClass E``) whose class expression ``E`` is built from named
classes, ``owl:intersectionOf``, ``owl:unionOf``, ``owl:oneOf`` and restrictions with
``owl:someValuesFrom`` or ``owl:hasValue`` has a sufficient condition that a SPARQL graph pattern
states exactly: an individual matching the pattern belongs to ``C``. HermiT finds the same
memberships (``tests/test_entailment.py`` checks both agree on the bundled data), but it has to
realise the whole ABox and does not scale to a large knowledge graph; the engine does.

Class expressions outside that fragment (complements, cardinalities, universal restrictions)
are reported by :func:`compile_defined_classes` as not compiled, and left to the reasoner.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDFS, XSD
from rdflib.term import Node


class NotCompilable(ValueError):
    """A class expression outside the fragment this module translates."""


@dataclass(frozen=True)
class CompiledClass:
    """A defined class and the SPARQL pattern (over ``?x``) that is sufficient for membership."""

    iri: URIRef
    pattern: str
    #: The same pattern for a graph whose types are closed under the class hierarchy (the
    #: rules' fixed point): ``?x a C`` instead of a path through ``rdfs:subClassOf``.
    closed_pattern: str = ""

    def construct(self) -> str:
        """A CONSTRUCT query giving the memberships the pattern entails."""
        return f"CONSTRUCT {{ ?x a <{self.iri}> }} WHERE {{ {self.pattern} FILTER(isIRI(?x)) }}"


def _term(node: Node) -> str:
    if isinstance(node, URIRef):
        return f"<{node}>"
    if isinstance(node, Literal):
        return node.n3()
    raise NotCompilable(f"an anonymous individual ({node}) cannot be named in SPARQL")


class _Compiler:
    """Translate one class expression at a time into a group graph pattern."""

    def __init__(self, ontology: Graph, closed: bool = False) -> None:
        self.ontology = ontology
        self.closed = closed
        self._fresh = count()

    def variable(self) -> str:
        return f"?v{next(self._fresh)}"

    def expression(self, node: Node, var: str, depth: int = 0) -> str:
        if depth > 16:
            raise NotCompilable("class expression nested too deeply")
        if isinstance(node, URIRef):
            if node == OWL.Thing:
                return f"{var} ?anyP{next(self._fresh)} ?anyO{next(self._fresh)} ."
            if self.closed:
                return f"{var} a {_term(node)} ."
            # A member of a subclass is a member: the subclass closure is materialised too,
            # but matching through the hierarchy here keeps one pass sufficient.
            return f"{var} a/<{RDFS.subClassOf}>* {_term(node)} ."
        if not isinstance(node, BNode):
            raise NotCompilable(f"unexpected class expression {node!r}")
        graph = self.ontology
        members = graph.value(node, OWL.intersectionOf)
        if members is not None:
            return " ".join(self.expression(m, var, depth + 1) for m in Collection(graph, members))
        members = graph.value(node, OWL.unionOf)
        if members is not None:
            parts = [self.expression(m, var, depth + 1) for m in Collection(graph, members)]
            return " UNION ".join("{ " + part + " }" for part in parts)
        members = graph.value(node, OWL.oneOf)
        if members is not None:
            values = " ".join(_term(m) for m in Collection(graph, members))
            return f"VALUES {var} {{ {values} }}"
        prop = graph.value(node, OWL.onProperty)
        if prop is not None:
            return self.restriction(node, prop, var, depth)
        raise NotCompilable("only intersections, unions, oneOf and restrictions are compiled")

    def restriction(self, node: Node, prop: Node, var: str, depth: int) -> str:
        graph = self.ontology
        if not isinstance(prop, URIRef):
            inverse = graph.value(prop, OWL.inverseOf)
            if not isinstance(inverse, URIRef):
                raise NotCompilable("property expression other than a named or inverse property")
            path = f"^<{inverse}>"
        else:
            path = f"<{prop}>"
        value = graph.value(node, OWL.hasValue)
        if value is not None:
            return f"{var} {path} {_term(value)} ."
        filler = graph.value(node, OWL.someValuesFrom)
        if filler is not None:
            inner = self.variable()
            if filler in (OWL.Thing, RDFS.Literal) or str(filler).startswith(str(XSD)):
                return f"{var} {path} {inner} ."
            return f"{var} {path} {inner} . " + self.expression(filler, inner, depth + 1)
        raise NotCompilable("restrictions other than someValuesFrom and hasValue")


def _definitions(ontology: Graph) -> Iterator[tuple[URIRef, Node]]:
    for cls, expression in ontology.subject_objects(OWL.equivalentClass):
        if isinstance(cls, URIRef) and isinstance(expression, BNode):
            yield cls, expression
        elif isinstance(expression, URIRef) and isinstance(cls, BNode):
            yield expression, cls


def compile_defined_classes(ontology: Graph) -> tuple[list[CompiledClass], list[URIRef]]:
    """Every defined class of ``ontology`` compiled to SPARQL, and those that could not be.

    >>> from rdflib import Namespace
    >>> ex = Namespace("http://example.org/")
    >>> onto = Graph().parse(data='''
    ...   @prefix owl: <http://www.w3.org/2002/07/owl#> . @prefix ex: <http://example.org/> .
    ...   ex:Busy owl:equivalentClass [ owl:intersectionOf ( ex:Case
    ...       [ owl:onProperty ex:coding ; owl:someValuesFrom
    ...           [ owl:onProperty ex:level ; owl:hasValue ex:collective ] ] ) ] .''')
    >>> compiled, failed = compile_defined_classes(onto)
    >>> [str(c.iri) for c in compiled], failed
    (['http://example.org/Busy'], [])
    """
    compiled: list[CompiledClass] = []
    failed: list[URIRef] = []
    for cls, expression in sorted(_definitions(ontology), key=lambda pair: str(pair[0])):
        try:
            pattern = _Compiler(ontology).expression(expression, "?x")
            closed = _Compiler(ontology, closed=True).expression(expression, "?x")
        except NotCompilable:
            failed.append(cls)
            continue
        compiled.append(CompiledClass(cls, pattern, closed))
    return compiled, failed
