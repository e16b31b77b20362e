"""Entailments computed by the engine agree with HermiT, and every defined class compiles."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import RDF, RDFS, SKOS

from coprod_kg.config import load_settings
from coprod_kg.rdf.sources import load_files, load_ontology, turtle_files
from coprod_kg.reasoning.defined_classes import compile_defined_classes
from coprod_kg.reasoning.entailment import DERIVED, Schema, close
from coprod_kg.reasoning.hermit import infer_memberships, java_available
from coprod_kg.reasoning.materialise import compute_entailments, read_schema
from coprod_kg.storage.embedded.writer import OxigraphWriter

SETTINGS = load_settings()
CP = Namespace("https://w3id.org/coprod/ontology/")
EX = Namespace("http://example.org/")


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return load_ontology(SETTINGS.ontology_dir)


@pytest.fixture(scope="module")
def bundled() -> Graph:
    files = turtle_files(SETTINGS.data_dir)
    assert files, "no bundled data to compare on"
    return load_files(files)


def _new_types(inferred: Graph, data: Graph) -> set[tuple[URIRef, URIRef]]:
    subjects = {s for s in data.subjects() if isinstance(s, URIRef)}
    return {(s, o) for s, _, o in inferred.triples((None, RDF.type, None))
            if s in subjects and isinstance(s, URIRef) and isinstance(o, URIRef)
            and (s, RDF.type, o) not in data}


def test_every_defined_class_of_the_ontology_compiles(ontology: Graph) -> None:
    compiled, failed = compile_defined_classes(ontology)
    assert compiled, "the ontology has no defined classes to compile"
    assert failed == [], f"defined classes the engine cannot classify: {failed}"


@pytest.mark.skipif(not java_available(), reason="HermiT needs a Java runtime")
def test_engine_memberships_equal_hermit_on_the_bundled_cases(ontology: Graph,
                                                               bundled: Graph) -> None:
    ours = _new_types(compute_entailments(ontology, bundled), bundled)
    hermit = _new_types(infer_memberships(ontology, bundled), bundled)
    assert (CP.ComplementaryCoProductionCase in {c for _, c in ours}), "nothing was classified"
    assert ours - hermit == set(), "the engine infers memberships HermiT does not"
    assert hermit - ours == set(), "HermiT infers memberships the engine misses"


def test_rules_cover_hierarchies_inverses_and_skos() -> None:
    onto = Graph().parse(data="""
        @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        @prefix owl: <http://www.w3.org/2002/07/owl#> . @prefix ex: <http://example.org/> .
        ex:Cat rdfs:subClassOf ex:Mammal . ex:Mammal rdfs:subClassOf ex:Animal .
        ex:hasKitten rdfs:subPropertyOf ex:hasChild . ex:hasChild owl:inverseOf ex:hasParent .
        ex:owns rdfs:domain ex:Owner ; rdfs:range ex:Thing .
        """, format="turtle")
    data = Graph().parse(data="""
        @prefix skos: <http://www.w3.org/2004/02/skos/core#> . @prefix ex: <http://example.org/> .
        ex:tom a ex:Cat ; ex:hasKitten ex:kit ; ex:owns ex:ball , "a string" .
        ex:c skos:broader ex:b . ex:b skos:broader ex:a .
        """, format="turtle")
    inferred = compute_entailments(onto, data)
    for triple in [(EX.tom, RDF.type, EX.Animal), (EX.tom, EX.hasChild, EX.kit),
                   (EX.kit, EX.hasParent, EX.tom), (EX.tom, RDF.type, EX.Owner),
                   (EX.ball, RDF.type, EX.Thing), (EX.Cat, RDFS.subClassOf, EX.Animal),
                   (EX.a, SKOS.narrower, EX.b), (EX.c, SKOS.broaderTransitive, EX.a),
                   (EX.a, SKOS.narrowerTransitive, EX.c)]:
        assert triple in inferred, triple
    assert (EX.tom, RDF.type, EX.Cat) not in inferred, "asserted triples must not repeat"


def test_a_definition_outside_the_fragment_is_reported(tmp_path: Path) -> None:
    onto = Graph().parse(data="""
        @prefix owl: <http://www.w3.org/2002/07/owl#> . @prefix ex: <http://example.org/> .
        ex:Lonely owl:equivalentClass [ owl:complementOf ex:Social ] .""", format="turtle")
    compiled, failed = compile_defined_classes(onto)
    assert compiled == [] and failed == [EX.Lonely]


def test_a_join_runs_again_when_the_round_before_derived_one_of_its_predicates() -> None:
    """``y r x`` and ``z r y``, ``r`` the inverse of ``p``, ``p`` under the transitive ``q``:
    the first round derives the ``p`` triples, the second their ``q`` triples, and only a run of
    the transitive join in the third (its predicate is among what the second derived) gives
    ``x q z``."""
    owl = Namespace("http://www.w3.org/2002/07/owl#")
    onto, data = Graph(), Graph()
    onto.add((EX.r, owl.inverseOf, EX.p))
    onto.add((EX.p, RDFS.subPropertyOf, EX.q))
    onto.add((EX.q, RDF.type, owl.TransitiveProperty))
    data.add((EX.y, EX.r, EX.x))
    data.add((EX.z, EX.r, EX.y))
    inferred = compute_entailments(onto, data)
    assert {(EX.x, EX.p, EX.y), (EX.x, EX.q, EX.y), (EX.y, EX.q, EX.z)} <= set(inferred)
    assert (EX.x, EX.q, EX.z) in inferred


def test_the_schema_is_read_again_exactly_when_the_ontology_changed() -> None:
    """The schema is kept by the ontology's triples: the same triples give the same schema
    without reading it again, one more axiom gives a new one that has it."""
    writer = OxigraphWriter.over(ox.Store())
    sub_class = ox.NamedNode(str(RDFS.subClassOf))
    cat, animal, being = (ox.NamedNode(f"http://example.org/{n}")
                          for n in ("Cat", "Animal", "Being"))
    writer.replace_graph("urn:o", [ox.Triple(cat, sub_class, animal)])
    first = read_schema(writer, "urn:o")
    assert read_schema(writer, "urn:o") is first
    writer.replace_graph("urn:o", [ox.Triple(cat, sub_class, animal),
                                   ox.Triple(animal, sub_class, being)])
    second = read_schema(writer, "urn:o")
    assert second is not first
    assert URIRef(being.value) in second.superclasses[URIRef(cat.value)]
    assert URIRef(being.value) not in first.superclasses[URIRef(cat.value)]


class _CountingStore:
    """A scratch store that keeps the text of every update it runs."""

    def __init__(self) -> None:
        self.store = ox.Store()
        self.updates: list[str] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)

    def update(self, request: str) -> None:
        self.updates.append(request)
        self.store.update(request)


def test_a_premise_rule_runs_only_on_rounds_that_derived_one_of_its_predicates() -> None:
    """Round 1 types ``x`` by the domain of ``p``; round 2 starts from that type only, so the
    superclass rule runs on it and the domain rule, whose premise needs a ``p`` triple, does
    not run again; the entailments are the same."""
    onto = Graph()
    onto.add((EX.p, RDFS.domain, EX.C))
    onto.add((EX.C, RDFS.subClassOf, EX.D))
    scratch = _CountingStore()
    quads = [ox.Quad(ox.NamedNode(str(EX.x)), ox.NamedNode(str(EX.p)),
                     ox.NamedNode(str(EX.y)), ox.DefaultGraph())]
    scratch.store.bulk_extend(quads)
    close(scratch, Schema.of(onto))  # type: ignore[arg-type]
    derived = {(q.subject.value, q.object.value)
               for q in scratch.store.quads_for_pattern(None, ox.NamedNode(str(RDF.type)), None,
                                                        DERIVED)}
    assert derived == {(str(EX.x), str(EX.C)), (str(EX.x), str(EX.D))}
    domain_runs = [u for u in scratch.updates if f"(<{EX.p}> <{EX.C}>)" in u]
    superclass_runs = [u for u in scratch.updates if f"(<{EX.C}> <{EX.D}>)" in u]
    assert len(domain_runs) == 1  # the first round only
    assert len(superclass_runs) == 2  # the first round, and the round after x got type C
