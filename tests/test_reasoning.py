"""HermiT through owlready2: the ontology is consistent, defined classes classify cases."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from owlready2 import reasoning as owl_reasoning
from rdflib import Graph
from rdflib.namespace import PROV, RDF

from coprod_kg.config import load_settings
from coprod_kg.rdf.namespaces import CASE, CP
from coprod_kg.rdf.sources import load_ontology, parse_turtle_file
from coprod_kg.reasoning.hermit import (
    InconsistentOntology,
    infer_memberships,
    java_available,
    reason,
    reason_over_ontology,
)

ONTOLOGY_DIR = load_settings().ontology_dir
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "reasoning"

pytestmark = pytest.mark.skipif(not java_available(),
                                reason="HermiT needs Java and no 'java' is on the PATH")


def _fixture(name: str) -> Graph:
    return parse_turtle_file(FIXTURES / name)


def test_ontology_is_consistent_with_no_unsatisfiable_class() -> None:
    report = reason_over_ontology(ONTOLOGY_DIR)
    assert report.consistent
    assert report.unsatisfiable == ()


def test_complementary_case_is_classified_with_the_real_ontology() -> None:
    inferred = infer_memberships(load_ontology(ONTOLOGY_DIR), _fixture("complementary-case.ttl"))
    assert (CASE["test-preschool"], RDF.type, CP.ComplementaryCoProductionCase) in inferred
    assert (CASE["other"], RDF.type, CP.ComplementaryCoProductionCase) not in inferred


def test_defined_class_and_superclasses_are_inferred_with_a_small_ontology() -> None:
    data = _fixture("complementary-case.ttl")
    inferred = infer_memberships(_fixture("mini-ontology.ttl"), data)
    assert (CASE["test-preschool"], RDF.type, CP.ComplementaryCoProductionCase) in inferred
    assert (CASE["test-preschool"], RDF.type, PROV.Activity) in inferred
    assert (CASE["other"], RDF.type, CP.ComplementaryCoProductionCase) not in inferred
    assert not any(triple in data for triple in inferred), "asserted types are not repeated"


def test_inconsistent_ontology_is_reported() -> None:
    report = reason(_fixture("inconsistent.ttl"))
    assert not report.consistent
    assert not report.ok


def test_unsatisfiable_class_is_reported() -> None:
    report = reason(_fixture("unsatisfiable.ttl"))
    assert report.consistent
    assert report.unsatisfiable == (str(CP.WidgetGadget),)


def test_inconsistent_data_raises() -> None:
    with pytest.raises(InconsistentOntology):
        infer_memberships(Graph(), _fixture("inconsistent.ttl"))


def test_owlready2_globals_are_restored() -> None:
    memory, tempdir = owl_reasoning.JAVA_MEMORY, tempfile.tempdir
    reason(_fixture("mini-ontology.ttl"))
    assert (owl_reasoning.JAVA_MEMORY, tempfile.tempdir) == (memory, tempdir)
