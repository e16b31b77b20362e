"""Citations: BibTeX, RIS and CSL-JSON of cases, sources, concepts and the dataset, by content
negotiation and by download, each read back with a standard parser; and the pages that show
them (case study, concept, source)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bibtexparser
import pytest
import rispy
from backends import store_of
from fastapi.testclient import TestClient

from api.app import create_app
from coprod_kg.config import PROJECT_ROOT
from coprod_kg.rdf.namespaces import PREFIXES
from coprod_kg.storage.rows import select

BIBTEX = "application/x-bibtex"
RIS = "application/x-research-info-systems"
CSL = "application/vnd.citationstyles.csl+json"
CASE = "/case/swedish-parent-cooperative-preschools"
SOURCE = "/source/ostrom-1996"
CONCEPT = "/concept/delivery-phase"
QUOTED = "/case/web-test-allotments"
P = "\n".join(f"PREFIX {p}: <{iri}>" for p, iri in PREFIXES.items()) + "\n"


@pytest.fixture(scope="module")
def client(web_store: Path, settings_for: Any) -> Iterator[TestClient]:
    settings = settings_for(web_store, ontology_dir=PROJECT_ROOT / "ontology",
                            data_dir=PROJECT_ROOT / "data")
    with TestClient(create_app(settings)) as c:
        yield c


def parse(media: str, text: str) -> dict[str, Any]:
    """One record, read back by the format's own parser, as {title, year, authors, url}."""
    if media == BIBTEX:
        library = bibtexparser.parse_string(text)
        assert not library.failed_blocks and len(library.entries) == 1
        fields = {f.key: f.value for f in library.entries[0].fields}
        return {"title": fields["title"], "year": fields.get("year"), "url": fields.get("url"),
                "doi": fields.get("doi"), "authors": fields.get("author", "")}
    if media == RIS:
        records = rispy.loads(text)
        assert len(records) == 1
        found = records[0]
        return {"title": found["title"], "year": found.get("year"),
                "url": (found.get("urls") or [None])[0], "doi": found.get("doi"),
                "authors": "; ".join(found.get("authors", []))}
    items = json.loads(text)
    assert isinstance(items, list) and len(items) == 1
    item = items[0]
    assert {"id", "type", "title"} <= item.keys()
    year = item.get("issued", {}).get("date-parts", [[None]])[0][0]
    return {"title": item["title"], "year": str(year) if year else None, "url": item.get("URL"),
            "doi": item.get("DOI"),
            "authors": "; ".join(a.get("family", a.get("literal", ""))
                                 for a in item.get("author", []))}


@pytest.mark.parametrize("media", [BIBTEX, RIS, CSL])
@pytest.mark.parametrize("path", [CASE, SOURCE, CONCEPT])
def test_each_format_by_content_negotiation(client: TestClient, path: str, media: str) -> None:
    response = client.get(path, headers={"Accept": media})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(media)
    assert "accept" in response.headers["vary"].lower()
    record = parse(media, response.text)
    assert record["title"]
    if path == SOURCE:
        assert record["title"].startswith("Crossing the Great Divide")
        assert record["year"] == "1996" and "Ostrom" in record["authors"]
        assert record["doi"] == "10.1016/0305-750X(96)00023-X"
    if path == CASE:
        assert record["title"] == "Parent co-operative preschools in Sweden"
        assert record["url"] == "https://w3id.org/coprod/case/swedish-parent-cooperative-preschools"
        assert "coprod-kg editors" in record["authors"]


@pytest.mark.parametrize("name", ["bibtex", "ris", "csljson"])
def test_download_links_on_the_pages(client: TestClient, name: str) -> None:
    for path in (CASE, SOURCE, CONCEPT):
        page = client.get(path).text
        link = f"{path}?format={name}&amp;download=1"
        assert link in page, f"{path} has no {name} download link"
        response = client.get(link.replace("&amp;", "&"))
        assert response.status_code == 200
        assert response.headers["content-disposition"].startswith("attachment")
        media = {"bibtex": BIBTEX, "ris": RIS, "csljson": CSL}[name]
        assert parse(media, response.text)["title"]


def test_the_dataset_has_a_citation_with_its_version(client: TestClient,
                                                     web_store: Path) -> None:
    version = select(store_of(web_store), P + "SELECT ?v WHERE { "
                     "<https://w3id.org/coprod/ontology> owl:versionInfo ?v }")[0]["v"].value
    for media in (BIBTEX, RIS, CSL):
        response = client.get("/cite", headers={"Accept": media})
        assert response.status_code == 200
        text = response.text
        assert version in text and "published state" in text
        assert parse(media, text)["title"].startswith("coprod-kg")
    page = client.get("/cite").text
    assert "<h1>Cite the dataset</h1>" in page and version in page
    assert 'href="/cite"' in client.get("/").text


def test_other_formats_still_negotiate(client: TestClient) -> None:
    assert client.get(CASE, headers={"Accept": "text/turtle"}).headers[
        "content-type"].startswith("text/turtle")
    assert client.get(CASE).headers["content-type"].startswith("text/html")
    assert client.get(CASE, headers={"Accept": "application/x-bibtex;q=0.5, text/html"}
                      ).headers["content-type"].startswith("text/html")
    assert client.get("/source/nothing-here", headers={"Accept": BIBTEX}).status_code == 404
    assert client.get(CASE, params={"format": "nonsense"}).status_code in (400, 406)


def test_case_page_shows_claims_with_source_page_and_quote(client: TestClient) -> None:
    page = client.get(QUOTED).text
    table = re.search(r'<table class="claims">.*?</table>', page, re.S)
    assert table
    claims = table.group(0)
    assert "Tenants trimmed the quincunx hedges together every spring." in claims
    assert "p. 1080" in claims
    assert "Ostrom, E. (1996). Crossing the Great Divide" in claims
    assert "collective co-production" in claims and "delivery phase" in claims
    for heading in ("Cite this case", "History", "All triples", "Sources", "Related cases"):
        assert heading in page
    assert "Uppsala" in page and "allotment tenants" in page and "doi.org/10.1016" in page


def test_concept_page_lists_its_cases(client: TestClient, web_store: Path) -> None:
    rows = select(store_of(web_store), P + "SELECT DISTINCT ?c WHERE { ?c a cp:CoProductionCase ;"
                  " cp:hasCoding/cp:phase cpc:delivery-phase }")
    page = client.get(CONCEPT).text
    assert f'<span class="case-count">{len(rows)}</span>' in page
    section = page.split('class="concept-cases"', 1)[1].split("</section>", 1)[0]
    for row in rows:
        assert f'href="/case/{row["c"].value.rsplit("/", 1)[-1]}"' in section
    assert "/browse/cases?phase=https%3A%2F%2Fw3id.org%2Fcoprod%2Fconcept%2Fdelivery-phase" in page
    assert "closeMatch" in page and "Definition" in page


def test_source_page_lists_the_cases_and_concepts_citing_it(client: TestClient,
                                                           web_store: Path) -> None:
    page = client.get(SOURCE).text
    assert "https://doi.org/10.1016/0305-750X(96)00023-X" in page
    rows = select(store_of(web_store), P + "SELECT DISTINCT ?c WHERE { ?c a cp:CoProductionCase ;"
                  " cito:citesAsEvidence src:ostrom-1996 }")
    assert rows
    for row in rows:
        assert f'href="/case/{row["c"].value.rsplit("/", 1)[-1]}"' in page


def test_a_concept_is_cited_by_its_english_label(client: TestClient) -> None:
    # delivery-phase is labelled in six languages (ontology/labels.ttl); a citation is English
    response = client.get(CONCEPT, headers={"Accept": CSL})
    assert response.status_code == 200
    assert parse(CSL, response.text)["title"] == "delivery phase"
