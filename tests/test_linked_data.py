"""Linked data: content negotiation, 404/406, Vary, case documents with fragments, the ontology."""

from __future__ import annotations

from pathlib import Path

import pytest
from backends import store_of
from fastapi.testclient import TestClient
from ld_helpers import parse_triples
from rdflib.namespace import OWL, RDF

from coprod_kg.errors import NotAcceptable
from coprod_kg.rdf import conneg
from coprod_kg.rdf.namespaces import BASE, CLAIM, CP, ONTOLOGY_IRI
from coprod_kg.storage.rows import select

RDF_FORMATS = ("text/turtle", "application/ld+json", "application/n-triples",
               "application/rdf+xml")
TYPE = str(RDF.type)


@pytest.fixture(scope="module")
def case_with_coding(real_store: Path) -> tuple[str, str]:
    """A case of the real data and one of its coding fragment IRIs, found in the store."""
    rows = select(store_of(real_store),
                  f"SELECT ?case ?coding WHERE {{ ?case a <{CP.CoProductionCase}> ; "
                  f"<{CP.hasCoding}> ?coding FILTER(isIRI(?coding)) }} ORDER BY ?case ?coding "
                  "LIMIT 1")
    assert rows, "the real data has no case with an IRI-named coding"
    return rows[0]["case"].value, rows[0]["coding"].value


def path_of(iri: str) -> str:
    assert iri.startswith(BASE)
    return "/" + iri[len(BASE):]


# --- the Accept parser, on its own ------------------------------------------------------------

@pytest.mark.parametrize(("accept", "expected"), [
    (None, "text/html"),
    ("", "text/html"),
    ("*/*", "text/html"),
    ("text/turtle", "text/turtle"),
    ("application/ld+json;q=0.9, text/turtle;q=0.5", "application/ld+json"),
    ("text/html;q=0, */*;q=0.1", "text/turtle"),
    ("text/*;q=0.2, text/turtle;q=0.1, application/rdf+xml;q=0.15", "text/html"),
    ("application/x-turtle", "text/turtle"),
    ("application/n-triples, text/turtle", "text/turtle"),  # tie: the server's order decides
])
def test_negotiate(accept: str | None, expected: str) -> None:
    assert conneg.negotiate(accept, conneg.PAGE_TYPES) == expected


@pytest.mark.parametrize("accept", ["image/png", "text/html;q=0, application/*;q=0",
                                    "garbage", "*/*;q=0"])
def test_negotiate_refuses(accept: str) -> None:
    with pytest.raises(NotAcceptable):
        conneg.negotiate(accept, conneg.PAGE_TYPES)


def test_format_parameter_names() -> None:
    assert conneg.choose("text/html", "ttl", conneg.PAGE_TYPES) == "text/turtle"
    assert conneg.choose(None, "application/rdf+xml", conneg.PAGE_TYPES) == "application/rdf+xml"
    with pytest.raises(NotAcceptable):
        conneg.choose(None, "csv", conneg.PAGE_TYPES)


# --- resources over HTTP ----------------------------------------------------------------------

@pytest.mark.parametrize("media_type", RDF_FORMATS)
def test_case_in_each_rdf_format(real_client: TestClient, case_with_coding: tuple[str, str],
                                 media_type: str) -> None:
    case, coding = case_with_coding
    response = real_client.get(path_of(case), headers={"Accept": media_type})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(media_type)
    assert "accept" in response.headers["vary"].lower()
    triples = parse_triples(response.content, media_type)
    assert (case, TYPE, str(CP.CoProductionCase)) in triples
    # The coding fragment comes along in the case's document, with its own triples.
    assert (case, str(CP.hasCoding), coding) in triples
    assert any(s == coding for s, _, _ in triples)


@pytest.mark.parametrize(("name", "media_type"), [("ttl", "text/turtle"),
                                                   ("jsonld", "application/ld+json"),
                                                   ("nt", "application/n-triples"),
                                                   ("rdf", "application/rdf+xml")])
def test_format_parameter_overrides_accept(real_client: TestClient,
                                           case_with_coding: tuple[str, str], name: str,
                                           media_type: str) -> None:
    response = real_client.get(path_of(case_with_coding[0]), params={"format": name},
                               headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)


def test_q_values_pick_the_representation(real_client: TestClient,
                                          case_with_coding: tuple[str, str]) -> None:
    path = path_of(case_with_coding[0])
    response = real_client.get(path, headers={
        "Accept": "text/html;q=0.3, application/ld+json;q=0.8, text/turtle;q=0.5"})
    assert response.headers["content-type"].startswith("application/ld+json")
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = real_client.get(path, headers={"Accept": browser})
    assert response.headers["content-type"].startswith("text/html")
    assert "accept" in response.headers["vary"].lower()


def test_nothing_acceptable_is_406(real_client: TestClient,
                                   case_with_coding: tuple[str, str]) -> None:
    path = path_of(case_with_coding[0])
    assert real_client.get(path, headers={"Accept": "image/png"}).status_code == 406
    assert real_client.get(path, params={"format": "csv"}).status_code == 406


@pytest.mark.parametrize("path", ["/case/no-such-case", "/concept/no-such-concept",
                                  "/ontology/NoSuchClass", "/organisation/nobody"])
def test_unknown_iri_is_404(real_client: TestClient, path: str) -> None:
    for accept in ("text/html", "text/turtle"):
        assert real_client.get(path, headers={"Accept": accept}).status_code == 404


def test_case_page_links_values_and_lists_sources(real_client: TestClient, real_store: Path,
                                                  case_with_coding: tuple[str, str]) -> None:
    case, coding = case_with_coding
    page = real_client.get(path_of(case), headers={"Accept": "text/html"}).text
    store = store_of(real_store)
    title = select(store, f"SELECT ?t WHERE {{ <{case}> <http://purl.org/dc/terms/title> ?t }}")
    assert title and title[0]["t"].value in page
    assert f'id="{coding.split("#", 1)[1]}"' in page  # the coding has its own section
    sources = select(store, f"SELECT DISTINCT ?s WHERE {{ <{case}> "
                            "<http://purl.org/spar/cito/citesAsEvidence> ?s }")
    assert sources
    assert 'class="sources"' in page
    for row in sources:
        assert f'href="{path_of(row["s"].value)}"' in page


def test_concept_page_shows_incoming_links(real_client: TestClient, real_store: Path) -> None:
    rows = select(store_of(real_store),
                  f"SELECT ?concept ?coding WHERE {{ ?coding <{CP.level}> ?concept "
                  "FILTER(isIRI(?coding)) } ORDER BY ?concept ?coding LIMIT 1")
    assert rows
    concept, coding = rows[0]["concept"].value, rows[0]["coding"].value
    page = real_client.get(path_of(concept)).text
    assert 'class="incoming"' in page
    assert f'href="{path_of(coding)}"' in page


@pytest.mark.parametrize("media_type", RDF_FORMATS)
def test_ontology_iri_in_each_format(real_client: TestClient, media_type: str) -> None:
    response = real_client.get("/ontology", headers={"Accept": media_type})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert "accept" in response.headers["vary"].lower()
    triples = parse_triples(response.content, media_type)
    assert (ONTOLOGY_IRI, TYPE, str(OWL.Ontology)) in triples
    assert (str(CP.CoProductionCase), TYPE, str(OWL.Class)) in triples


def test_ontology_iri_as_html(real_client: TestClient) -> None:
    response = real_client.get("/ontology", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "CoProductionCase" in response.text


def test_ontology_term_dereferences(real_client: TestClient) -> None:
    response = real_client.get("/ontology/CoProductionCase", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    triples = parse_triples(response.content, "text/turtle")
    assert (str(CP.CoProductionCase), TYPE, str(OWL.Class)) in triples
    html = real_client.get("/ontology/CoProductionCase").text
    assert "<h1>" in html and 'class="definition"' in html


def test_version_iri_leads_to_the_ontology(real_client: TestClient, real_store: Path) -> None:
    rows = select(store_of(real_store), f"SELECT ?v WHERE {{ <{ONTOLOGY_IRI}> "
                                             f"<{OWL.versionIRI}> ?v }}")
    assert rows
    response = real_client.get(path_of(rows[0]["v"].value), params={"format": "ttl"},
                               follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/ontology?format=ttl"


@pytest.mark.parametrize("media_type", ["text/turtle", "text/html"])
def test_claim_iri_dereferences(real_client: TestClient, real_store: Path,
                                media_type: str) -> None:
    """A claim of data/claims.ttl answers at its own IRI, like cases and concepts."""
    rows = select(store_of(real_store),
                  f"SELECT ?claim WHERE {{ ?claim a <{CP.Claim}> "
                  f"FILTER(STRSTARTS(STR(?claim), \"{CLAIM}\")) }} ORDER BY ?claim LIMIT 1")
    assert rows, "the real data has no claim under the claim namespace"
    claim = rows[0]["claim"].value
    response = real_client.get(path_of(claim), headers={"Accept": media_type})
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith(media_type)
    if media_type == "text/turtle":
        triples = parse_triples(response.content, media_type)
        assert (claim, TYPE, str(CP.Claim)) in triples
