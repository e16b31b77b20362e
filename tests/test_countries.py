"""The committed countries module is exactly what the generator produces from pycountry."""

from __future__ import annotations

from pathlib import Path

import pycountry
import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS

from coprod_kg.publishing.countries import DEFAULT_OUTPUT, render, write
from coprod_kg.rdf.namespaces import COUNTRY, CP, CPS


@pytest.fixture(scope="module")
def countries() -> Graph:
    """The committed ontology/countries.ttl, parsed."""
    return Graph().parse(DEFAULT_OUTPUT, format="turtle")


def test_committed_file_equals_a_fresh_generation(tmp_path: Path) -> None:
    fresh = write(tmp_path / "countries.ttl")
    assert fresh.read_text(encoding="utf-8") == DEFAULT_OUTPUT.read_text(encoding="utf-8"), (
        "ontology/countries.ttl differs from the generator output: "
        "run `python -m coprod_kg.publishing.countries` instead of editing it by hand")
    assert list(tmp_path.iterdir()) == [fresh], "the atomic write left a temporary file behind"


def test_generation_is_deterministic() -> None:
    assert render() == render()


@pytest.mark.parametrize(("code", "name", "alpha_3"),
                         [("SE", "Sweden", "SWE"), ("JP", "Japan", "JPN"), ("BR", "Brazil", "BRA")])
def test_known_countries_exist(countries: Graph, code: str, name: str, alpha_3: str) -> None:
    country = COUNTRY[code]
    assert (country, RDF.type, CP.Country) in countries
    assert (country, RDF.type, SKOS.Concept) in countries
    assert (country, SKOS.inScheme, CPS.countries) in countries
    assert str(countries.value(country, SKOS.notation)) == code
    assert str(countries.value(country, RDFS.label)) == name
    assert countries.value(country, SKOS.exactMatch) == URIRef(
        f"http://publications.europa.eu/resource/authority/country/{alpha_3}")


@pytest.mark.parametrize("code", ["XX", "ZZ", "EU", "se"])
def test_bogus_codes_do_not_exist(countries: Graph, code: str) -> None:
    assert not list(countries.predicate_objects(COUNTRY[code]))


def test_every_iso_country_is_a_complete_concept(countries: Graph) -> None:
    members = set(countries.subjects(RDF.type, CP.Country))
    assert len(members) == len(pycountry.countries) > 200
    for country in members:
        for predicate in (RDFS.label, SKOS.prefLabel, SKOS.definition, RDFS.isDefinedBy,
                          DCTERMS.source, SKOS.exactMatch, SKOS.notation):
            assert countries.value(country, predicate) is not None, f"{country} lacks {predicate}"
        assert (CPS.countries, SKOS.hasTopConcept, country) in countries
