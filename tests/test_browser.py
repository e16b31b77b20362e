"""A real browser against a real server: the query page, the explorer, case, concept and source
pages, citations, curation in the browser, /docs, the language switch, and axe-core's
accessibility checks on every page type, with every request to another host blocked.

Drives Debian's Chromium through Playwright; skipped when /usr/bin/chromium is not installed
(``scripts/system-deps.sh`` installs it). axe-core comes from npm
(``scripts/fetch-npm-assets.sh axe``, run by ``make test``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import httpx
import pytest
from conftest import LiveServer, SettingsFactory
from http_helpers import Users, bearer, invalid_record, record, writable_store

from coprod_kg.config import PROJECT_ROOT
from coprod_kg.rdf.namespaces import BASE, CP, PREFIXES
from coprod_kg.storage.embedded.oxigraph_store import OxigraphStore
from coprod_kg.storage.rows import select

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def server(web_store: Path, settings_for: SettingsFactory) -> Iterator[LiveServer]:
    with LiveServer(settings_for(web_store)) as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium (run scripts/system-deps.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


def open_page(browser: Any, origin: str) -> tuple[Any, Any]:
    """A fresh context and page that record every request and block those to other hosts."""
    context = browser.new_context()
    opened = context.new_page()
    opened.requests = []
    opened.blocked = []
    opened.on("request", lambda request: opened.requests.append(request.url))

    def only_here(route: Any) -> None:
        url = route.request.url
        if url.startswith(origin + "/") or url == origin or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            opened.blocked.append(url)
            route.abort()

    context.route("**/*", only_here)
    return context, opened


@pytest.fixture
def page(browser: Any, server: LiveServer) -> Iterator[Any]:
    """A fresh page that records every request it makes (other hosts blocked)."""
    context, opened = open_page(browser, server.url)
    yield opened
    assert opened.blocked == [], f"the page tried to reach other hosts: {opened.blocked}"
    context.close()


def test_query_page_runs_an_example(page: Any, server: LiveServer) -> None:
    page.goto(server.url + "/query")
    page.wait_for_selector(".yasqe .CodeMirror")
    examples = page.locator("button.example")
    assert examples.count() > 0
    examples.nth(0).click()
    page.locator(".yasqe_queryButton:visible").click()
    rows = page.locator(".yasr:visible table tbody tr")
    rows.first.wait_for(timeout=30_000)
    assert rows.count() > 0
    assert "No data available" not in page.inner_text(".yasr:visible table tbody")
    sparql = [url for url in page.requests if url.startswith(server.url + "/sparql")]
    assert sparql, "the editor did not query this server's /sparql"
    outside = [url for url in page.requests
               if not url.startswith(server.url) and not url.startswith("data:")]
    assert outside == [], f"the query page reached outside the server: {outside}"


def test_case_page_renders_with_its_sources(page: Any, server: LiveServer,
                                            web_store: Path) -> None:
    rows = select(OxigraphStore(web_store),
                  f"SELECT ?case (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?case a "
                  f"<{CP.CoProductionCase}> ; <http://purl.org/spar/cito/citesAsEvidence> ?s }}"
                  " GROUP BY ?case ORDER BY ?case LIMIT 1")
    assert rows
    case, sources = rows[0]["case"].value, int(rows[0]["n"].value)
    page.goto(server.url + "/" + case[len(BASE):])
    heading = page.locator("h1")
    assert heading.inner_text().strip()
    items = page.locator("section.sources li a")
    assert items.count() >= sources
    first = items.first.get_attribute("href")
    assert first and first.startswith("/source/")
    items.first.click()
    page.wait_for_load_state()
    assert page.url.startswith(server.url + "/source/")
    assert page.locator("h1").inner_text().strip()


# --- the explorer, pages, citations, curation, /docs, languages, accessibility ----------------

LEVEL = "https://w3id.org/coprod/concept/collective-level"
PHASE = "https://w3id.org/coprod/concept/delivery-phase"
QUOTED = "/case/web-test-allotments"
AXE = PROJECT_ROOT / "build" / "npm" / "axe-core" / "axe.min.js"
P = "\n".join(f"PREFIX {p}: <{iri}>" for p, iri in PREFIXES.items()) + "\n"


def sparql_cases(store: Path, pattern: str) -> set[str]:
    """Cases matching a hand-written pattern, straight from the store."""
    rows = select(OxigraphStore(store), P + "SELECT DISTINCT ?c WHERE { ?c a cp:CoProductionCase"
                  " . " + pattern + " }")
    return {"/case/" + r["c"].value.rsplit("/", 1)[-1] for r in rows}


def listed(page: Any) -> set[str]:
    """The case links of the explorer's table."""
    links = page.locator("table.cases tbody tr td:first-child > a")
    return {links.nth(i).get_attribute("href") for i in range(links.count())}


def facet_link(page: Any, key: str, value: str) -> Any:
    """The link that selects ``value`` in facet ``key``."""
    return page.locator(f"section.facet[aria-labelledby='f-{key}'] "
                        f"a[href*='={quote(value, safe='')}']")


def facet_count(page: Any, key: str, value: str) -> int:
    """The count shown beside a facet value that is not selected yet."""
    item = page.locator(f"section.facet[aria-labelledby='f-{key}'] "
                        f"li:has(a[href*='={quote(value, safe='')}'])")
    return int(item.locator(".count").inner_text())


def test_two_facets_narrow_the_counts_and_rows_as_the_graph_says(
        page: Any, server: LiveServer, web_store: Path) -> None:
    page.goto(server.url + "/browse/cases?size=500")  # every case on one page; links keep it
    assert listed(page) == sparql_cases(web_store, "")
    level = "?c cp:hasCoding/cp:level <" + LEVEL + "> ."
    assert facet_count(page, "level", LEVEL) == len(sparql_cases(web_store, level))
    facet_link(page, "level", LEVEL).click()
    page.wait_for_url("**level=*")
    page.locator("section.facet[aria-labelledby='f-level'] a.selected").wait_for()
    assert listed(page) == sparql_cases(web_store, level)
    both = level + " ?c cp:hasCoding/cp:phase <" + PHASE + "> ."
    assert facet_count(page, "phase", PHASE) == len(sparql_cases(web_store, both))
    facet_link(page, "phase", PHASE).click()
    page.wait_for_url("**phase=*")
    page.locator("section.facet[aria-labelledby='f-phase'] a.selected").wait_for()
    assert listed(page) == sparql_cases(web_store, both)
    # a country the page offers under both filters (the data decides which)
    offered = page.locator("section.facet[aria-labelledby='f-country'] li a").first
    query = urlsplit(str(offered.get_attribute("href")).replace("&amp;", "&")).query
    country = [v for k, v in parse_qsl(query) if k == "country"][-1]
    assert facet_count(page, "country", country) == len(sparql_cases(
        web_store, both + f" ?c cp:country <{country}> .")) > 0
    page.go_back()  # the state is in the URL: back returns to one facet
    page.wait_for_url(lambda url: "phase=" not in url)
    page.locator("section.facet[aria-labelledby='f-phase'] a.selected").wait_for(state="detached")
    assert listed(page) == sparql_cases(web_store, level)


def test_keyword_search_finds_a_case_by_a_word_in_its_quote(page: Any,
                                                            server: LiveServer) -> None:
    page.goto(server.url + "/browse/cases")
    page.fill("#q", "quincunx")
    page.locator("form.search button[type=submit]").click()
    page.wait_for_url("**q=quincunx*")
    page.locator("table.cases mark").first.wait_for()
    assert listed(page) == {QUOTED}
    assert page.locator("table.cases mark").first.inner_text().lower() == "quincunx"


def test_case_page_shows_its_coded_claims_with_source_page_and_quote(
        page: Any, server: LiveServer) -> None:
    page.goto(server.url + QUOTED)
    claims = page.locator("table.claims")
    assert "Tenants trimmed the quincunx hedges together every spring." in claims.inner_text()
    assert "p. 1080" in claims.locator("td.source").first.inner_text()
    assert "Crossing the Great Divide" in claims.locator("td.source").first.inner_text()


def test_concept_page_lists_its_cases(page: Any, server: LiveServer, web_store: Path) -> None:
    page.goto(server.url + "/concept/delivery-phase")
    expected = sparql_cases(web_store, "?c cp:hasCoding/cp:phase <" + PHASE + "> .")
    assert int(page.locator(".case-count").inner_text()) == len(expected)
    links = page.locator("section.concept-cases li a")
    assert {links.nth(i).get_attribute("href") for i in range(links.count())} == expected


@pytest.mark.parametrize("path", ["/case/swedish-parent-cooperative-preschools",
                                  "/source/ostrom-1996"])
def test_citations_download_and_parse(page: Any, server: LiveServer, path: str) -> None:
    import bibtexparser
    import rispy

    page.goto(server.url + path)
    texts = {}
    for name in ("BibTeX", "RIS", "CSL-JSON"):
        with page.expect_download() as download:
            page.locator("section.cite a", has_text=name).first.click()
        texts[name] = Path(download.value.path()).read_text(encoding="utf-8")
    title = page.locator("h1").inner_text().strip()
    entries = bibtexparser.parse_string(texts["BibTeX"]).entries
    assert len(entries) == 1 and entries[0].fields_dict["title"].value == title
    assert rispy.loads(texts["RIS"])[0]["title"] == title
    assert json.loads(texts["CSL-JSON"])[0]["title"] == title


def test_docs_render_from_this_server(page: Any, server: LiveServer) -> None:
    page.goto(server.url + "/docs")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "coprod-kg" in page.locator(".swagger-ui .info .title").inner_text()
    page.locator(".opblock-tag").first.wait_for()
    assert page.locator(".opblock").count() > 10


def test_the_language_switch_shows_polish_labels(page: Any, server: LiveServer) -> None:
    page.goto(server.url + "/browse/cases")
    page.locator("nav.languages a[hreflang=pl]").click()
    page.wait_for_url("**lang=pl*")
    assert page.locator("html").get_attribute("lang") == "pl"
    assert "Przypadki" in page.locator("nav[aria-label=Main]").inner_text()
    phases = page.locator("section.facet[aria-labelledby='f-phase']").inner_text()
    assert "faza realizacji" in phases
    page.locator("nav[aria-label=Main] a", has_text="Pojęcia").click()  # the choice is kept
    assert page.locator("html").get_attribute("lang") == "pl"


@pytest.fixture(scope="module")
def writable(web_store: Path, settings_for: SettingsFactory,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Users]]:
    """A live server over a private, writable copy of the web store, with accounts."""
    store = writable_store(web_store, tmp_path_factory.mktemp("web-curation") / "store")
    users = Users.make(store)
    with LiveServer(settings_for(store)) as live:
        yield live, users


def sign_in(page: Any, url: str, token: str) -> None:
    page.goto(url + "/sign-in")
    page.fill("#token", token)
    page.locator("#sign-in-form button[type=submit]").click()
    page.locator("#who", has_text="Signed in as").wait_for()  # not "Not signed in."


def test_a_curator_reviews_and_accepts_in_the_browser(
        browser: Any, writable: tuple[LiveServer, Users]) -> None:
    live, users = writable
    response = httpx.post(live.url + "/submissions", timeout=60,
                          content=record("web-test-meadow", "Meadow kept by zyzzyva volunteers"),
                          headers={**bearer(users.alice), "Content-Type": "text/turtle"})
    assert response.status_code == 201, response.text
    context, page = open_page(browser, live.url)
    try:
        sign_in(page, live.url, users.curator)
        assert "curator" in page.locator("#who").inner_text()
        page.goto(live.url + "/review")
        row = page.locator("#pending tbody tr", has_text="web-test-meadow")
        row.wait_for()
        row.locator("a").click()
        page.locator("ol.diff.added").wait_for()
        assert "zyzzyva" in page.locator("ol.diff.added").inner_text()
        page.locator("#report .summary").wait_for()
        assert "Conforms" in page.locator("#report .summary").inner_text()
        page.locator("#accept").click()
        page.locator("#review-status", has_text="Accepted").wait_for()
        page.goto(live.url + "/browse/cases?q=zyzzyva")
        assert listed(page) == {"/case/web-test-meadow"}
        # the token never travelled in a URL, and no cookie holds it
        assert not any(users.curator in url for url in page.requests)
        assert all(users.curator not in c["value"] for c in context.cookies())
        assert page.blocked == []
    finally:
        context.close()


def test_a_contributor_sees_the_report_as_they_type(browser: Any,
                                                    writable: tuple[LiveServer, Users]) -> None:
    live, users = writable
    context, page = open_page(browser, live.url)
    try:
        sign_in(page, live.url, users.bob)
        page.goto(live.url + "/contribute")
        page.fill("#c-text", invalid_record("web-test-draft").decode())
        page.locator("#live-report .summary").wait_for()
        assert "Does not conform" in page.locator("#live-report .summary").inner_text()
        assert page.locator("#live-lines li.hit").count() > 0
        page.fill("#c-text", record("web-test-draft").decode())
        page.locator("#live-report .summary", has_text="Conforms").wait_for()
        page.locator("#c-submit").click()
        page.locator("#contribute-status", has_text="pending review").wait_for()
    finally:
        context.close()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical violations axe-core finds on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 12).map(n => n.target.join(' '))}))")
    return [v for v in found if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("path", ["/", "/browse/cases?level=" + LEVEL, QUOTED,
                                  "/concept/delivery-phase", "/source/ostrom-1996", "/query",
                                  "/validate", "/review", "/contribute", "/docs"])
def test_no_serious_accessibility_violation(browser: Any, writable: tuple[LiveServer, Users],
                                           path: str) -> None:
    if not AXE.is_file():
        pytest.fail("axe-core is missing: run scripts/fetch-npm-assets.sh axe")
    live, users = writable
    context, page = open_page(browser, live.url)
    try:
        if path == "/review":
            sign_in(page, live.url, users.curator)
        page.goto(live.url + path)
        page.wait_for_load_state("networkidle")
        if path == "/review":
            page.locator("#pending").wait_for()
        if path == "/query":
            page.locator(".yasqe .CodeMirror").wait_for()
        found = axe_violations(page)
        assert found == [], json.dumps(found, indent=1)
        assert page.blocked == []
    finally:
        context.close()
