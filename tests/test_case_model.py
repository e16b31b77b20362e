"""The actors, governance, sustainability, risks-outcomes and case-model modules hang together.

Structural checks run on the Turtle alone; the reasoning checks run HermiT (skipped without Java)
to show that the defined classes classify cases and organisations, and catch contradictions.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, SKOS

from coprod_kg.rdf.namespaces import CASE, CP, CPC, CPS, ORGANISATION
from coprod_kg.rdf.sources import load_files, parse_turtle_file
from coprod_kg.reasoning.hermit import InconsistentOntology, infer_memberships, java_available

ONTOLOGY_DIR = Path(__file__).resolve().parent.parent / "ontology"
MODULES = ("actors", "governance", "sustainability", "risks-outcomes", "case-model")

#: Each enumerated class of these modules and the scheme whose concepts it enumerates.
ENUMERATIONS = {
    "Role": "roles", "Sector": "sectors", "LegalForm": "legal-forms",
    "EmesCriterion": "emes-criteria",
    "PublicAdministrationRegime": "regimes", "ServiceLogic": "service-logics",
    "StakeholderArrangement": "stakeholder-arrangements", "ExitVoiceConcept": "exit-and-voice",
    "SustainabilityFactor": "sustainability-factors", "Risk": "risks", "Outcome": "outcomes",
    "GovernmentMotive": "government-motives", "EvidenceBasis": "evidence-bases",
    "CurationStatus": "curation-statuses", "Trajectory": "trajectories",
}


@pytest.fixture(scope="module")
def modules() -> Graph:
    graph = Graph()
    for name in MODULES:
        parse_turtle_file(ONTOLOGY_DIR / f"{name}.ttl", into=graph)
    return graph


@pytest.fixture(scope="module")
def ontology() -> Graph:
    """Every Turtle file of the ontology directory (the modules of the other owners included)."""
    files = sorted(ONTOLOGY_DIR.glob("*.ttl"))
    assert files, f"no Turtle files in {ONTOLOGY_DIR}"
    return load_files(files)


@pytest.mark.parametrize("name", MODULES)
def test_module_header(modules: Graph, name: str) -> None:
    module = URIRef(f"https://w3id.org/coprod/ontology/module/{name}")
    assert (module, RDF.type, OWL.Ontology) in modules
    assert (module, URIRef("http://purl.org/dc/terms/license"),
            URIRef("https://creativecommons.org/licenses/by/4.0/")) in modules


@pytest.mark.parametrize(("cls", "scheme"), sorted(ENUMERATIONS.items()))
def test_enumeration_matches_scheme(modules: Graph, cls: str, scheme: str) -> None:
    one_of = [o for eq in modules.objects(CP[cls], OWL.equivalentClass)
              for o in modules.objects(eq, OWL.oneOf)]
    assert len(one_of) == 1, f"cp:{cls} needs exactly one owl:oneOf"
    members = set(Collection(modules, one_of[0]))
    in_scheme = set(modules.subjects(SKOS.inScheme, CPS[scheme]))
    typed = set(modules.subjects(RDF.type, CP[cls]))
    assert members and members == in_scheme == typed
    distinct = [set(Collection(modules, d)) for d in modules.objects(None, OWL.distinctMembers)]
    assert members in distinct, f"cp:{cls} members are not declared all different"


def _case_data(relation: URIRef, level: URIRef, organisation_types: list[URIRef]) -> Graph:
    data = Graph()
    case, org = CASE["test-case"], ORGANISATION["x"]
    coding = URIRef(case + "#coding-1")
    data.add((case, RDF.type, CP.CoProductionCase))
    data.add((case, CP.hasCoding, coding))
    data.add((coding, RDF.type, CP.Coding))
    data.add((coding, CP.relationType, relation))
    data.add((coding, CP.level, level))
    data.add((coding, CP.timeDimension, CPC.enduring))
    data.add((coding, CP.actsThrough, org))
    data.add((case, CP.provider, org))
    data.add((org, CP.sector, CPC["third-sector"]))
    data.add((org, CP.membershipBased, Literal(True)))
    for org_type in organisation_types:
        data.add((org, RDF.type, org_type))
    return data


needs_java = pytest.mark.skipif(not java_available(), reason="HermiT needs Java")


@needs_java
@pytest.mark.slow
def test_defined_classes_classify_a_case(ontology: Graph) -> None:
    data = _case_data(CPC.complementary, CPC["collective-level"], [CP.Organisation])
    inferred = infer_memberships(ontology, data)
    case_types = set(inferred.objects(CASE["test-case"], RDF.type))
    assert {CP.ComplementaryCoProductionCase, CP.CollectiveCoProductionCase,
            CP.EnduringCoProductionCase, URIRef("http://www.w3.org/ns/prov#Activity")} <= case_types
    assert not case_types & {CP.SupplementaryCoProductionCase, CP.InterdependentCoProductionCase,
                             CP.IndividualCoProductionCase, CP.AdHocCoProductionCase}
    org_types = set(inferred.objects(ORGANISATION["x"], RDF.type))
    assert {CP.ThirdSectorOrganisation, CP.MembershipBasedOrganisation} <= org_types


@needs_java
@pytest.mark.slow
def test_a_for_profit_firm_in_the_third_sector_is_a_contradiction(ontology: Graph) -> None:
    data = _case_data(CPC.supplementary, CPC["individual-level"], [CP.ForProfitFirm])
    with pytest.raises(InconsistentOntology):
        infer_memberships(ontology, data)


def _facts_data() -> Graph:
    """A case whose only coding records facts beyond the typology (no rdf:type on the coding)."""
    data = Graph()
    case = CASE["test-facts"]
    coding = URIRef(case + "#coding-1")
    data.add((case, RDF.type, CP.CoProductionCase))
    data.add((case, CP.hasCoding, coding))
    data.add((case, CP.primaryDocument, URIRef("https://example.org/report.pdf")))
    data.add((coding, CP.trajectory, CPC.discontinued))
    data.add((coding, CP.participantCount,
              Literal("20000", datatype=URIRef("http://www.w3.org/2001/XMLSchema#"
                                               "nonNegativeInteger"))))
    data.add((coding, CP.funding, Literal("half of the city's budget", lang="en")))
    return data


@needs_java
@pytest.mark.slow
def test_facts_beyond_the_typology_are_consistent_and_typed(ontology: Graph) -> None:
    data = _facts_data()
    inferred = infer_memberships(ontology, data)
    coding = URIRef(CASE["test-facts"] + "#coding-1")
    assert CP.Coding in set(inferred.objects(coding, RDF.type))


@needs_java
@pytest.mark.slow
def test_a_trajectory_outside_the_scheme_is_a_contradiction(ontology: Graph) -> None:
    data = _facts_data()
    coding = URIRef(CASE["test-facts"] + "#coding-1")
    other = URIRef("https://w3id.org/coprod/concept/test-paused")
    data.add((coding, CP.trajectory, other))
    for member in ("sustained", "failed", "discontinued", "discouraged"):
        data.add((other, OWL.differentFrom, CPC[member]))
    with pytest.raises(InconsistentOntology):
        infer_memberships(ontology, data)
