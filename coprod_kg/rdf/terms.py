"""Convert RDF terms between rdflib and pyoxigraph, keeping blank-node labels stable."""

from __future__ import annotations

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

from coprod_kg.errors import BadInput

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def to_oxigraph(node: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """An rdflib term as a pyoxigraph term.

    >>> to_oxigraph(Literal("chat", lang="fr"))
    <Literal value=chat language=fr>
    """
    if isinstance(node, URIRef):
        return ox.NamedNode(str(node))
    if isinstance(node, BNode):
        return ox.BlankNode(_bnode_label(str(node)))
    if isinstance(node, Literal):
        if node.language:
            return ox.Literal(str(node), language=node.language)
        if node.datatype is not None:
            return ox.Literal(str(node), datatype=ox.NamedNode(str(node.datatype)))
        return ox.Literal(str(node))
    raise BadInput(f"cannot store the RDF term {node!r}")


def _bnode_label(label: str) -> str:
    """pyoxigraph blank-node ids must be valid N-Triples labels."""
    return "".join(c if c.isalnum() or c in "_-" else "_" for c in label) or "b"


def to_rdflib(node: object) -> Node:
    """A pyoxigraph term as an rdflib term (blank nodes keep their label)."""
    if isinstance(node, ox.NamedNode):
        return URIRef(node.value)
    if isinstance(node, ox.BlankNode):
        return BNode(node.value)
    if isinstance(node, ox.Literal):
        if node.language:
            return Literal(node.value, lang=node.language)
        datatype = node.datatype.value
        return Literal(node.value, datatype=None if datatype == XSD_STRING else URIRef(datatype))
    raise BadInput(f"cannot convert the RDF term {node!r}")


def triple_to_oxigraph(s: Node, p: Node, o: Node) -> ox.Triple:
    """One rdflib triple as a pyoxigraph triple."""
    predicate = to_oxigraph(p)
    if not isinstance(predicate, ox.NamedNode):
        raise BadInput(f"a predicate must be an IRI, not {p!r}")
    subject = to_oxigraph(s)
    if isinstance(subject, ox.Literal):
        raise BadInput(f"a subject cannot be a literal: {s!r}")
    return ox.Triple(subject, predicate, to_oxigraph(o))


#: One row of a SELECT answer: each bound variable's term.
Row = dict[str, ox.NamedNode | ox.BlankNode | ox.Literal]


def solution_rows(solutions: ox.QuerySolutions) -> list[Row]:
    """The rows of a SELECT answer as dictionaries (unbound variables left out)."""
    names = [v.value for v in solutions.variables]
    rows: list[Row] = []
    for solution in solutions:
        row: Row = {}
        for name in names:
            value = solution[name]
            if isinstance(value, ox.NamedNode | ox.BlankNode | ox.Literal):
                row[name] = value
        rows.append(row)
    return rows
