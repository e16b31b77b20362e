"""A second SHACL engine (pyshacl-turbo, a Rust re-implementation with pySHACL's API, 120/120 on
the W3C suite incl. SHACL-SPARQL) must reach the same verdict, and break the same rules, on every
fixture. A shape only one engine understands is a bug in the shape."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph

from coprod_kg.config import load_settings
from coprod_kg.errors import BadInput
from coprod_kg.rdf.parsing import parse_rdf
from coprod_kg.validation.findings import extract
from coprod_kg.validation.shacl import ValidationContext, context_graph, graph_lookup, validate

turbo = pytest.importorskip("pyshacl_turbo")

DATA = Path(__file__).parent / "data"
FIXTURES = sorted((DATA / "valid").glob("*.ttl")) + sorted((DATA / "invalid").glob("*.ttl")) \
    + sorted((DATA / "warnings").glob("*.ttl"))


@pytest.fixture(scope="module")
def context() -> ValidationContext:
    kg = Graph()
    for path in sorted((DATA / "kg").glob("*.ttl")):
        kg.parse(path)
    return ValidationContext.load(load_settings(), graph_lookup(kg))


def test_fixtures_found() -> None:
    assert len(FIXTURES) > 50


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_same_verdict_and_rules(path: Path, context: ValidationContext) -> None:
    data = path.read_bytes()
    ours = validate(data, "text/turtle", context=context)
    theirs = validate(data, "text/turtle", context=context.with_engine("pyshacl-turbo"))
    assert theirs.conforms == ours.conforms
    assert {(f.source_shape, f.component, f.severity, f.line) for f in theirs.findings} == \
        {(f.source_shape, f.component, f.severity, f.line) for f in ours.findings}


def test_turbo_is_called_directly_too(context: ValidationContext) -> None:
    """Guard against with_engine silently running pySHACL: call turbo's API on the same graph."""
    path = DATA / "invalid" / "Case-end-after-start.ttl"
    submission = parse_rdf(path.read_bytes(), "text/turtle")
    conforms, report, _ = turbo.validate(context_graph(submission, context),
                                         shacl_graph=context.shapes, allow_warnings=True)
    assert conforms is False
    found = extract(report, context.shapes, keep=set(submission.subjects()))
    assert [str(f.source_shape).rsplit("/", 1)[-1] for f in found] == ["Case-end-after-start"]


def test_unknown_engine_is_refused(context: ValidationContext) -> None:
    with pytest.raises(BadInput, match="unknown SHACL engine"):
        context.with_engine("nope")
