"""The web pages: home (counts and figure), query page, browse pages, static files."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.views.figure import Axis, LevelPhaseGrid, render_svg
from coprod_kg.quality.competency import list_questions
from coprod_kg.rdf.namespaces import BASE, CP
from coprod_kg.storage.embedded.oxigraph_store import OxigraphStore
from coprod_kg.storage.rows import count, select

SVG = "{http://www.w3.org/2000/svg}"
COMPETENCY = Path(__file__).parent / "competency"


def text_of(page: str) -> str:
    """The page's text with tags dropped and entities decoded (for membership checks)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_home_shows_counts_and_a_figure(real_client: TestClient, real_store: Path) -> None:
    response = real_client.get("/")
    assert response.status_code == 200
    page = response.text
    store = OxigraphStore(real_store)
    cases = count(store, "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE "
                         f"{{ ?c a <{CP.DocumentedCase}> }}")
    illustrations = count(store, "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE "
                                 f"{{ ?c a <{CP.IllustrativeExample}> }}")
    triples = count(store, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    assert cases > 0 and illustrations > 0
    assert re.search(rf'class="number">{cases}</span>\s*documented cases', page)
    assert re.search(rf'class="number">{illustrations}</span>\s*illustrative examples', page)
    countries = count(store, "SELECT (COUNT(DISTINCT ?k) AS ?n) WHERE "
                             f"{{ ?c a <{CP.DocumentedCase}> ; <{CP.country}> ?k }}")
    assert countries > 1
    assert re.search(rf'class="number">{countries}</span>\s*countries with documented cases',
                     page)
    assert re.search(rf'class="number">{triples}</span>\s*triples', page)
    svg = re.search(r"<svg.*?</svg>", page, re.S)
    assert svg, "no inline SVG on the home page"
    root = ET.fromstring(svg.group(0))
    assert root.find(f"{SVG}title") is not None
    numbers = [int(t.text or "0") for t in root.iter(f"{SVG}text")
               if t.get("class") == "fig-count"]
    assert len(numbers) == 12  # 3 levels x 4 phases
    assert sum(numbers) > 0


def test_figure_counts_match_the_store(real_client: TestClient, real_store: Path) -> None:
    rows = select(OxigraphStore(real_store),
                  f"SELECT ?level ?phase (COUNT(DISTINCT ?case) AS ?n) WHERE {{ "
                  f"?case a <{CP.CoProductionCase}> ; <{CP.hasCoding}> ?a, ?b . "
                  f"?a <{CP.level}> ?level . ?b <{CP.phase}> ?phase }} GROUP BY ?level ?phase")
    assert rows
    page = real_client.get("/").text
    for row in rows:
        # Each non-empty cell links to the list of its cases, and that list has n rows.
        n = int(row["n"].value)
        response = real_client.get("/browse/cases", params={"level": row["level"].value,
                                                             "phase": row["phase"].value,
                                                             "size": "500"})  # one page
        assert response.status_code == 200
        assert response.text.count('<tr><td><a href="/case/') == n
    assert "/browse/cases?level=" in page


def test_render_svg_is_well_formed_and_escapes() -> None:
    grid = LevelPhaseGrid((Axis("l1", "A & B"), Axis("l2", "<two>")), (Axis("p1", "P"),),
                          {("l1", "p1"): 3})
    root = ET.fromstring(render_svg(grid))
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert "A & B" in texts and "<two>" in texts and "3" in texts and "0" in texts


def test_query_page_offers_the_competency_questions(real_client: TestClient) -> None:
    questions = list_questions(COMPETENCY)
    assert questions, "no competency questions found"
    page = real_client.get("/query").text
    assert page.count('class="example"') == len(questions)
    assert "/static/yasgui/yasgui.min.js" in page
    assert 'data-endpoint="/sparql"' in page
    assert html.escape(questions[0].question, quote=False) in page


@pytest.mark.parametrize("path", ["/static/yasgui/yasgui.min.js", "/static/yasgui/yasgui.min.css",
                                  "/static/css/site.css", "/static/js/query.js"])
def test_static_files(real_client: TestClient, path: str) -> None:
    response = real_client.get(path)
    assert response.status_code == 200, "run scripts/fetch-yasgui.sh (make) first"
    assert response.content


def test_static_files_stay_in_their_folder(real_client: TestClient) -> None:
    assert real_client.get("/static/../app.py").status_code == 404
    assert real_client.get("/static/%2e%2e/app.py").status_code == 404
    assert real_client.get("/static/none.css").status_code == 404


def test_browse_cases_lists_every_case(real_client: TestClient, real_store: Path) -> None:
    rows = select(OxigraphStore(real_store),
                  f"SELECT ?c WHERE {{ ?c a <{CP.CoProductionCase}> }}")
    assert rows
    assert len(rows) > 50  # more than one page of the default size
    page = real_client.get("/browse/cases", params={"size": "500"}).text
    for row in rows:
        assert f'href="/case/{row["c"].value.rsplit("/", 1)[-1]}"' in page


def test_browse_concepts_lists_every_scheme(real_client: TestClient, real_store: Path) -> None:
    rows = select(OxigraphStore(real_store),
                  "SELECT DISTINCT ?s WHERE "
                  "{ ?c <http://www.w3.org/2004/02/skos/core#inScheme> ?s }")
    assert rows
    page = real_client.get("/browse/concepts").text
    for row in rows:
        iri = row["s"].value
        href = "/" + iri[len(BASE):] if iri.startswith(BASE) else iri
        assert f'href="{html.escape(href)}"' in page


@pytest.mark.parametrize(("path", "namespace"), [("/browse/organisations", "organisation"),
                                                 ("/browse/sources", "source")])
def test_browse_lists(real_client: TestClient, real_store: Path, path: str,
                      namespace: str) -> None:
    rows = select(OxigraphStore(real_store),
                  f"SELECT DISTINCT ?x WHERE {{ ?x a ?t FILTER(STRSTARTS(STR(?x), "
                  f"\"https://w3id.org/coprod/{namespace}/\") && !CONTAINS(STR(?x), \"#\")) }}")
    assert rows
    response = real_client.get(path)
    assert response.status_code == 200
    for row in rows:
        assert f'href="/{namespace}/{row["x"].value.rsplit("/", 1)[-1]}"' in response.text


def test_pages_have_landmarks_and_language(real_client: TestClient) -> None:
    for path in ("/", "/query", "/browse/cases", "/browse/concepts"):
        page = real_client.get(path).text
        assert '<html lang="en">' in page
        assert '<main id="main">' in page and "<h1" in page
        assert 'aria-label="Main"' in page


def test_the_jsonld_context_is_served(app_client: TestClient) -> None:
    response = app_client.get("/context.jsonld")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/ld+json")
    context = response.json()["@context"]
    assert context["cp"] == "https://w3id.org/coprod/ontology/"


def test_every_page_links_the_explorer_validation_curation_and_docs(
        real_client: TestClient) -> None:
    page = real_client.get("/browse/concepts").text
    nav = page.split('aria-label="Main"', 1)[1].split("</nav>", 1)[0]
    for path in ("/browse/cases", "/validate", "/contribute", "/review", "/sign-in", "/docs",
                 "/query"):
        assert f'href="{path}"' in nav, path
    assert 'class="languages"' in page and 'hreflang="pl"' in page


@pytest.mark.parametrize("path", ["/", "/browse/cases", "/docs", "/sign-in", "/review",
                                  "/review/fixmystreet/1", "/contribute", "/cite",
                                  "/case/fixmystreet", "/concept/delivery-phase",
                                  "/source/pestoff-2015", "/query", "/validate"])
def test_pages_load_nothing_from_another_origin(real_client: TestClient, path: str) -> None:
    response = real_client.get(path)
    assert response.status_code == 200, response.text
    loaded = re.findall(r'<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)="([^"]+)"',
                        response.text)
    outside = [u for u in loaded if re.match(r"^(https?:)?//", u)]
    assert outside == [], outside


def test_the_api_reference_is_served_from_here(real_client: TestClient) -> None:
    page = real_client.get("/docs").text
    assert '<html lang="en">' in page
    assert "/static/swagger-ui/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    assert real_client.get("/static/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert real_client.get("/redoc").status_code == 404


FACT_PROPERTIES = ("trajectory", "participantCount", "funding", "activity", "measuredOutcome")


def _facts_section(page: str) -> str:
    found = re.search(r'<section class="facts-reported".*?</section>', page, re.S)
    assert found, "no 'What the sources report' section"
    return html.unescape(found.group(0))


def test_case_pages_show_each_fact_with_its_source_locator_and_quote(
        real_client: TestClient, real_store: Path) -> None:
    """Every trajectory, number of participants, funding, activity and measured outcome in the
    store appears on its case's page beside the locator and the quote of its coding."""
    values = " ".join(f"cp:{p}" for p in FACT_PROPERTIES)
    rows = select(OxigraphStore(real_store), (
        "PREFIX cp: <https://w3id.org/coprod/ontology/>\n"
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
        "SELECT ?case ?p ?value ?label ?locator ?quote WHERE { "
        f"VALUES ?p {{ {values} }} ?case cp:hasCoding ?c . ?c ?p ?value . "
        "OPTIONAL { ?value skos:prefLabel ?label FILTER(LANG(?label) = 'en') } "
        "OPTIONAL { ?c cp:locator ?locator } OPTIONAL { ?c cp:quote ?quote } }"))
    assert {r["p"].value.rsplit("/", 1)[-1] for r in rows} >= {
        "trajectory", "participantCount", "funding", "activity"}
    pages: dict[str, str] = {}
    for row in rows:
        case = row["case"].value
        if case not in pages:
            response = real_client.get(case.removeprefix(BASE.rstrip("/")))
            assert response.status_code == 200
            pages[case] = _facts_section(response.text)
        section = pages[case]
        shown = row["label"].value if "label" in row else row["value"].value
        assert shown in section, (case, shown)
        if "locator" in row:
            assert row["locator"].value in section, (case, row["locator"].value)
        if "quote" in row:
            assert row["quote"].value in section, (case, row["quote"].value[:40])


def test_a_case_page_links_its_primary_documents(real_client: TestClient,
                                                 real_store: Path) -> None:
    rows = select(OxigraphStore(real_store),
                  "PREFIX cp: <https://w3id.org/coprod/ontology/>\n"
                  "SELECT ?case ?doc WHERE { ?case cp:primaryDocument ?doc }")
    assert rows, "no case has a primary document"
    for row in rows:
        page = real_client.get(row["case"].value.removeprefix(BASE.rstrip("/"))).text
        assert "Primary documents" in page
        assert f'<a href="{html.escape(row["doc"].value)}" rel="external noopener">' in page


def test_the_facts_read_in_polish_headings(real_client: TestClient) -> None:
    try:
        page = real_client.get("/case/community-health-councils-england", params={"lang": "pl"})
    finally:
        real_client.cookies.clear()  # the switch sets a cookie; the client is shared
    assert page.status_code == 200
    assert "Co podają źródła" in page.text and "Dokumenty źródłowe" in page.text
