"""A real browser against a real server: the query page runs an example; a case page renders.

Drives Debian's Chromium through Playwright; skipped when /usr/bin/chromium is not installed
(``scripts/system-deps.sh`` installs it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import LiveServer, SettingsFactory

from coprod_kg.namespaces import BASE, CP
from coprod_kg.oxigraph_store import OxigraphStore
from coprod_kg.rows import select

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def server(real_store: Path, settings_for: SettingsFactory) -> Iterator[LiveServer]:
    with LiveServer(settings_for(real_store)) as live:
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


@pytest.fixture
def page(browser: Any, server: LiveServer) -> Iterator[Any]:
    """A fresh page that records every request it makes."""
    context = browser.new_context()
    opened = context.new_page()
    opened.requests = []
    opened.on("request", lambda request: opened.requests.append(request.url))
    yield opened
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
                                            real_store: Path) -> None:
    rows = select(OxigraphStore(real_store),
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
