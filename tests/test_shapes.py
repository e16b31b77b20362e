"""The shapes themselves: valid SHACL, a message on every rule, a fixture for every rule."""

from __future__ import annotations

import re
from pathlib import Path

import pyshacl
import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import SH

from coprod_kg.config import load_settings
from coprod_kg.rdf.sources import load_shapes

DATA = Path(__file__).parent / "data"
SHACL_SHACL = Path(pyshacl.__file__).parent / "assets" / "shacl-shacl.ttl"
EXPECT = re.compile(r"^# expect: <([^>]+)> <([^>]+)>$", re.MULTILINE)

#: Constraint parameters -> the component each one belongs to (SHACL Core, §4).
PARAMETERS = {
    SH["class"]: "Class", SH.datatype: "Datatype", SH.minCount: "MinCount",
    SH.maxCount: "MaxCount", SH.pattern: "Pattern", SH.nodeKind: "NodeKind",
    SH.uniqueLang: "UniqueLang", SH["in"]: "In", SH["or"]: "Or", SH.closed: "Closed",
    SH.sparql: "SPARQL", SH.hasValue: "HasValue", SH["not"]: "Not",
}


@pytest.fixture(scope="module")
def shapes() -> Graph:
    return load_shapes(load_settings().shapes_dir)


def _rules(shapes: Graph) -> set[tuple[URIRef, URIRef]]:
    """(shape IRI, constraint component) of every named shape's own constraints."""
    rules = set()
    for param, component in PARAMETERS.items():
        for shape in shapes.subjects(param, None):
            if isinstance(shape, URIRef):
                rules.add((shape, SH[f"{component}ConstraintComponent"]))
    return rules


def _expectations(folder: str) -> set[tuple[URIRef, URIRef]]:
    files = sorted((DATA / folder).glob("*.ttl"))
    assert files, f"no fixtures in tests/data/{folder}"
    found = set()
    for path in files:
        match = EXPECT.search(path.read_text(encoding="utf-8"))
        assert match, f"{path.name} has no '# expect: <shape> <component>' header"
        found.add((URIRef(match.group(1)), URIRef(match.group(2))))
    return found


def test_shapes_are_valid_shacl(shapes: Graph) -> None:
    meta = Graph().parse(SHACL_SHACL)
    conforms, _, text = pyshacl.validate(shapes, shacl_graph=meta)
    assert conforms, text


def test_every_rule_has_a_message_for_curators(shapes: Graph) -> None:
    rules = _rules(shapes)
    assert rules
    silent = []
    for shape, _component in rules:
        messages = list(shapes.objects(shape, SH.message))
        messages += [m for c in shapes.objects(shape, SH.sparql)
                     for m in shapes.objects(c, SH.message)]
        if not any(len(str(m)) > 20 for m in messages):
            silent.append(shape)
    assert not silent, f"shapes without a plain-words sh:message: {sorted(silent)}"


def test_every_rule_has_exactly_its_fixture(shapes: Graph) -> None:
    """One invalid (or warning) fixture per constraint, and no fixture for a missing rule."""
    expected = _expectations("invalid") | _expectations("warnings")
    rules = _rules(shapes)
    assert rules - expected == set(), "rules without a fixture"
    assert expected - rules == set(), "fixtures naming a rule that does not exist"


def test_warning_fixtures_are_exactly_the_warning_rules(shapes: Graph) -> None:
    warning_shapes = {s for s in shapes.subjects(SH.severity, SH.Warning)}
    assert warning_shapes
    assert {shape for shape, _ in _expectations("warnings")} == warning_shapes


def test_case_iri_rule_matches_the_iri_scheme(shapes: Graph) -> None:
    pattern = str(shapes.value(URIRef("https://w3id.org/coprod/shapes/Case-iri"), SH.pattern))
    assert re.match(pattern, "https://w3id.org/coprod/case/swedish-preschools-2")
    for bad in ("https://w3id.org/coprod/case/Swedish", "https://w3id.org/coprod/case/a#b",
                "https://w3id.org/coprod/case/", "http://example.org/case/x"):
        assert not re.match(pattern, bad), bad
