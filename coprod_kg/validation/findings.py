"""Turn a SHACL validation report graph into findings a curator can read."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SH
from rdflib.term import Node

from coprod_kg.rdf.namespaces import BASE
from coprod_kg.rdf.sources import new_graph

#: Namespace of our shapes (each rule is a shape IRI in it).
SHAPES_BASE = BASE + "shapes/"

_NAMES = new_graph()
_NAMES.bind("cpsh", SHAPES_BASE)

SEVERITIES = {SH.Violation: "violation", SH.Warning: "warning", SH.Info: "info"}


def curie(term: Node | None) -> str | None:
    """A short name for a term: ``cp:level`` for IRIs we know, the text of a literal.

    >>> curie(URIRef("https://w3id.org/coprod/ontology/level"))
    'cp:level'
    """
    if term is None:
        return None
    if isinstance(term, URIRef):
        return _NAMES.namespace_manager.normalizeUri(term)
    if isinstance(term, Literal):
        return str(term)
    return "(unnamed node)"


@dataclass(frozen=True)
class Finding:
    """One SHACL result, in plain terms."""

    severity: str
    focus_node: Node
    path: Node | None
    value: Node | None
    message: str
    expected: str | None
    source_shape: Node
    component: URIRef
    field: str | None
    source: str | None = None
    line: int | None = None

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dictionary of this finding."""
        return {
            "severity": self.severity,
            "focus_node": _plain(self.focus_node),
            "field": self.field,
            "path": _plain(self.path),
            "value": _plain(self.value),
            "message": self.message,
            "expected": self.expected,
            "rule": _plain(self.source_shape),
            "component": curie(self.component),
            "file": self.source,
            "line": self.line,
        }


def _plain(term: Node | None) -> str | None:
    if term is None:
        return None
    if isinstance(term, BNode):
        return "_:" + str(term)
    return str(term)


def _one(graph: Graph, subject: Node, predicate: URIRef) -> Node | None:
    return next(iter(graph.objects(subject, predicate)), None)


def _message(report: Graph, result: Node, shapes: Graph, shape: Node | None) -> str:
    candidates = list(report.objects(result, SH.resultMessage))
    if not candidates and shape is not None:
        candidates = list(shapes.objects(shape, SH.message))
    for item in candidates:
        if isinstance(item, Literal) and item.language in ("en", None):
            return str(item)
    return str(candidates[0]) if candidates else "This value breaks a rule of the case model."


def _list(shapes: Graph, head: Node) -> list[Node]:
    return list(Collection(shapes, head)) if isinstance(head, BNode | URIRef) else []


def expected_for(shapes: Graph, shape: Node, component: Node) -> str | None:
    """What the constraint asks for, from the shape itself (None for SPARQL rules)."""
    def value(pred: URIRef) -> Node | None:
        return _one(shapes, shape, pred)

    local = str(component).rsplit("#", 1)[-1]
    if local == "ClassConstraintComponent":
        return f"an instance of {curie(value(SH['class']))}"
    if local == "DatatypeConstraintComponent":
        return f"a literal of type {curie(value(SH.datatype))}"
    if local == "InConstraintComponent":
        items = _list(shapes, value(SH["in"]) or RDF.nil)
        return "one of " + ", ".join(str(curie(i)) for i in items)
    if local == "PatternConstraintComponent":
        return f"text matching {value(SH.pattern)}"
    if local == "MinCountConstraintComponent":
        return f"at least {value(SH.minCount)} value(s)"
    if local == "MaxCountConstraintComponent":
        return f"at most {value(SH.maxCount)} value(s)"
    if local == "NodeKindConstraintComponent":
        return "a link (IRI)" if value(SH.nodeKind) == SH.IRI else f"a {curie(value(SH.nodeKind))}"
    if local == "UniqueLangConstraintComponent":
        return "at most one value per language"
    if local == "ClosedConstraintComponent":
        return "only the properties of the case model"
    if local == "OrConstraintComponent":
        return "one of: " + ", ".join(_alternative(shapes, alt)
                                       for alt in _list(shapes, value(SH["or"]) or RDF.nil))
    return None


def _alternative(shapes: Graph, alt: Node) -> str:
    pairs = ((SH.datatype, "type"), (SH["class"], "instance of"), (SH.path, "a value for"))
    for pred, label in pairs:
        found = _one(shapes, alt, pred)
        if found is not None:
            return f"{label} {curie(found)}"
    return "another form"


def _field(shapes: Graph, shape: Node | None, path: Node | None) -> str | None:
    if shape is not None:
        name = _one(shapes, shape, SH.name)
        if name is not None:
            return str(name)
    if path is not None:
        for named in shapes.subjects(SH.path, path):
            name = _one(shapes, named, SH.name)
            if name is not None:
                return str(name)
        label = _one(shapes, path, RDFS.label)
        return str(label) if label is not None else curie(path)
    return None


def extract(report: Graph, shapes: Graph, keep: Iterable[Node] | None = None) -> list[Finding]:
    """The top-level results of ``report`` (only for focus nodes in ``keep``, if given)."""
    wanted = None if keep is None else set(keep)
    findings = []
    for result in report.objects(None, SH.result):
        focus = _one(report, result, SH.focusNode)
        if focus is None or (wanted is not None and focus not in wanted):
            continue
        shape = _one(report, result, SH.sourceShape)
        component = _one(report, result, SH.sourceConstraintComponent)
        path = _one(report, result, SH.resultPath)
        severity = _one(report, result, SH.resultSeverity)
        findings.append(Finding(
            severity=SEVERITIES.get(severity, "violation") if isinstance(severity, URIRef)
            else "violation",
            focus_node=focus,
            path=path,
            value=_one(report, result, SH.value),
            message=_message(report, result, shapes, shape),
            expected=None if shape is None or component is None
            else expected_for(shapes, shape, component),
            source_shape=shape if shape is not None else BNode(),
            component=component if isinstance(component, URIRef) else SH.ConstraintComponent,
            field=_field(shapes, shape, path),
        ))
    return findings
