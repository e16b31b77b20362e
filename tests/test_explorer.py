"""The case explorer over HTTP: facets and counts against SPARQL written by hand, keyword search,
downloads, charts, hostile parameters, the per-state index, and the language switch."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from backends import store_of
from fastapi.testclient import TestClient

from api.app import create_app
from api.views.case_index import IndexCache, state_key
from coprod_kg.config import PROJECT_ROOT
from coprod_kg.rdf.namespaces import CP, CPC, PREFIXES
from coprod_kg.storage.rows import select
from coprod_kg.storage.store import GraphRecord, KnowledgeStore, QueryRequest, QueryResult

LEVEL = str(CPC["collective-level"])
PHASE = str(CPC["delivery-phase"])
QUOTED = "https://w3id.org/coprod/case/web-test-allotments"
SVG = "{http://www.w3.org/2000/svg}"
P = "\n".join(f"PREFIX {p}: <{iri}>" for p, iri in PREFIXES.items()) + "\n"


@pytest.fixture(scope="module")
def client(web_store: Path, settings_for: object) -> Iterator[TestClient]:
    settings = settings_for(web_store, ontology_dir=PROJECT_ROOT / "ontology",  # type: ignore
                            data_dir=PROJECT_ROOT / "data")
    with TestClient(create_app(settings)) as c:
        yield c


def expected_cases(web_store: Path, pattern: str) -> set[str]:
    """The cases matching a hand-written pattern, straight from the store."""
    rows = select(store_of(web_store), P + "SELECT DISTINCT ?c WHERE { ?c a cp:CoProductionCase . "
                  + pattern + " }")
    return {r["c"].value for r in rows}


def facet_counts(page: str, key: str) -> dict[str, int]:
    """The values and counts a facet shows, read from the page."""
    section = re.search(rf'aria-labelledby="f-{key}">(.*?)</section>', page, re.S)
    assert section, f"no facet {key}"
    counts = {}
    for href, n in re.findall(r'<a href="([^"]*)"[^>]*>.*?</a> <span class="count">(\d+)</span>',
                              section.group(1), re.S):
        values = [v for k, v in parse_qsl(urlsplit(href.replace("&amp;", "&")).query)
                  if k == key]
        if values:
            counts[values[-1]] = int(n)
    return counts


def test_two_facets_narrow_the_list_and_every_count(client: TestClient,
                                                    web_store: Path) -> None:
    pattern = (f"?c cp:hasCoding/cp:level <{LEVEL}> . ?c cp:hasCoding/cp:phase <{PHASE}> .")
    wanted = expected_cases(web_store, pattern)
    assert 0 < len(wanted) < len(expected_cases(web_store, ""))
    listed = client.get("/browse/cases", params={"level": LEVEL, "phase": PHASE,
                                                 "format": "json", "size": "500"}).json()
    assert {c["iri"] for c in listed["cases"]} == wanted
    page = client.get("/browse/cases", params={"level": LEVEL, "phase": PHASE,
                                               "size": "500"}).text
    assert page.count('<tr><td><a href="/case/') == len(wanted)
    rows = select(store_of(web_store), P + "SELECT ?v (COUNT(DISTINCT ?c) AS ?n) WHERE { "
                  "?c a cp:CoProductionCase . " + pattern + " ?c cp:country ?v } GROUP BY ?v")
    assert facet_counts(page, "country") == {r["v"].value: int(r["n"].value) for r in rows}
    rows = select(store_of(web_store), P + "SELECT ?v (COUNT(DISTINCT ?c) AS ?n) WHERE { "
                  "?c a cp:CoProductionCase . " + pattern + " ?c cp:hasCoding/cp:relationType ?v"
                  " } GROUP BY ?v")
    assert facet_counts(page, "relation") == {r["v"].value: int(r["n"].value) for r in rows}
    # one facet alone: more cases than with two
    one = client.get("/browse/cases", params={"level": LEVEL, "format": "json"}).json()
    assert one["total"] == len(expected_cases(web_store, f"?c cp:hasCoding/cp:level <{LEVEL}> ."))
    assert one["total"] > len(wanted)


def test_this_list_as_sparql_returns_the_list(client: TestClient) -> None:
    for params in ({"level": LEVEL, "phase": PHASE}, {"q": "parents"},
                   {"decade": "1980", "kind": str(CP["DocumentedCase"])}):
        page = client.get("/browse/cases", params=params).text
        link = re.search(r'<a href="(/query\?query=[^"]+)">', page)
        assert link, "no 'this list as SPARQL' link"
        query = dict(parse_qsl(urlsplit(link.group(1).replace("&amp;", "&")).query))["query"]
        answer = client.get("/sparql", params={"query": query},
                            headers={"Accept": "application/sparql-results+json"})
        assert answer.status_code == 200, answer.text
        found = {b["case"]["value"] for b in answer.json()["results"]["bindings"]}
        listed = client.get("/browse/cases", params={**params, "format": "json"}).json()
        assert found == {c["iri"] for c in listed["cases"]}, params
        # the query page opens with that query in its editor
        assert "data-query=" in client.get(link.group(1).replace("&amp;", "&")).text


def test_keyword_search_finds_a_case_by_a_word_of_its_quote(client: TestClient) -> None:
    listed = client.get("/browse/cases", params={"q": "quincunx", "format": "json"}).json()
    assert [c["iri"] for c in listed["cases"]] == [QUOTED]
    page = client.get("/browse/cases", params={"q": "QUINCUNX"}).text
    assert "<mark>quincunx</mark>" in page
    # prefixes match, diacritics do not matter, every word must occur
    assert client.get("/browse/cases", params={"q": "quinc", "format": "json"}).json()["total"] == 1
    assert client.get("/browse/cases", params={"q": "quíncunx hedges",
                                               "format": "json"}).json()["total"] == 1
    assert client.get("/browse/cases", params={"q": "quincunx postal",
                                               "format": "json"}).json()["total"] == 0


@pytest.mark.parametrize("words", [
    '"', '""', '"quincunx', "quincunx\"*", "NEAR(a b)", "a OR b", "a AND", "NOT", "*", "^x",
    "title:quincunx", "{a b}", "-", "a - b", "(", ")", "'; DROP TABLE docs; --", "\\",
    "\u0000", "\u210c\U0001d522\U0001d529",
    "日本語", "x" * 300, " ".join(["w"] * 100), "%", "_", "<script>",
])
def test_hostile_keywords_never_break_the_search(client: TestClient, words: str) -> None:
    response = client.get("/browse/cases", params={"q": words})
    assert response.status_code == 200, response.text
    assert "<script>" not in response.text.split("<main", 1)[1].split("</main>")[0]


@pytest.mark.parametrize("params", [
    {"level": "javascript:alert(1)"}, {"level": "<x>"}, {"level": "http://a b"},
    {"level": 'http://a"><script>'}, {"phase": "x" * 3000}, {"decade": "19x0"},
    {"decade": "1985"}, {"kind": "http://example.org/Other"}, {"page": "0"}, {"page": "-1"},
    {"page": "abc"}, {"size": "1e9"}, {"q": "x" * 301}, {"format": "xml"},
])
def test_hostile_parameters_are_400(client: TestClient, params: dict[str, str]) -> None:
    response = client.get("/browse/cases", params=params)
    assert response.status_code == 400, response.text


def test_csv_and_json_downloads_hold_every_case_of_the_list(client: TestClient,
                                                           web_store: Path) -> None:
    everything = expected_cases(web_store, "")
    response = client.get("/browse/cases", params={"format": "csv", "size": "5"})
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["iri"] for r in rows} == everything
    listed = client.get("/browse/cases", params={"format": "json"}).json()
    assert listed["total"] == len(everything)


def test_charts_follow_the_filters_with_data_and_query(client: TestClient,
                                                      web_store: Path) -> None:
    page = client.get("/browse/cases", params={"level": LEVEL}).text
    svgs = re.findall(r"<svg.*?</svg>", page, re.S)
    assert len(svgs) == 4
    for svg in svgs:
        root = ET.fromstring(svg)
        # a chart with links is a labelled group (an "img" would hide them), else an image
        assert root.get("role") == ("group" if root.find(f".//{SVG}a") is not None else "img")
        assert root.find(f"{SVG}title") is not None and root.find(f"{SVG}desc") is not None
    for name in ("level-phase", "relation-service", "country", "start-year"):
        response = client.get(f"/browse/cases/charts/{name}.csv", params={"level": LEVEL})
        assert response.status_code == 200
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert rows or name == "start-year"
    grid = list(csv.DictReader(io.StringIO(client.get(
        "/browse/cases/charts/level-phase.csv", params={"level": LEVEL}).text)))
    # filtered on collective: the other levels count nothing
    assert all(int(r["cases"]) == 0 for r in grid if r["level"] != LEVEL)
    cell = next(r for r in grid if r["level"] == LEVEL and r["phase"] == PHASE)
    assert int(cell["cases"]) == len(expected_cases(
        web_store, f"?c cp:hasCoding/cp:level <{LEVEL}> . ?c cp:hasCoding/cp:phase <{PHASE}> ."))
    assert client.get("/browse/cases/charts/nothing.csv").status_code == 404


class _Changing:
    """A store whose published state changes when told to."""

    def __init__(self, inner: KnowledgeStore) -> None:
        self.inner = inner
        self.extra: list[GraphRecord] = []

    def query(self, request: QueryRequest) -> QueryResult:
        return self.inner.query(request)

    def graphs(self) -> list[GraphRecord]:
        return self.inner.graphs() + self.extra

    def ready(self) -> bool:
        return True

    def close(self) -> None:
        return None


def test_the_index_is_built_once_per_published_state(web_store: Path) -> None:
    store = _Changing(store_of(web_store))
    cache = IndexCache()
    first = cache.get(store)
    assert cache.get(store) is first
    store.extra.append(GraphRecord("urn:x:new", "test", "0" * 64, 1))
    second = cache.get(store)
    assert second is not first and second.key == state_key(store) != first.key


def test_the_language_switch_shows_polish_labels(client: TestClient) -> None:
    page = client.get("/browse/cases", params={"lang": "pl"})
    assert '<html lang="pl">' in page.text
    assert "Przypadki" in page.text and "faza realizacji" in page.text
    assert page.cookies.get("lang") == "pl" or "lang=pl" in page.headers.get("set-cookie", "")
    assert '<html lang="pl">' in client.get("/browse/concepts").text  # the choice is kept
    client.cookies.clear()
    assert '<html lang="en">' in client.get("/browse/concepts").text
    # Accept-Language alone, and the fallback to English where no Polish label exists
    page = client.get("/concept/delivery-phase", headers={"Accept-Language": "pl-PL,pl;q=0.9"})
    assert "<h1>faza realizacji</h1>" in page.text
    assert "Pojęcia" in page.text
    # a concept outside the core schemes has no Polish label (ontology/labels.ttl)
    english = client.get("/concept/core-task", headers={"Accept-Language": "pl"}).text
    assert "<h1>core task</h1>" in english
    every = client.get("/", headers={"Accept-Language": "fr, pl;q=0.5"}).text
    assert '<html lang="pl">' in every


TRAJECTORIES = [str(CPC[n]) for n in ("sustained", "failed", "discontinued", "discouraged")]


def test_the_trajectory_facet_counts_what_the_store_says(client: TestClient,
                                                        web_store: Path) -> None:
    page = client.get("/browse/cases").text
    rows = select(store_of(web_store), P + "SELECT ?v (COUNT(DISTINCT ?c) AS ?n) WHERE { "
                  "?c a cp:CoProductionCase ; cp:hasCoding/cp:trajectory ?v } GROUP BY ?v")
    expected = {r["v"].value: int(r["n"].value) for r in rows}
    assert expected, "no case in the store records a trajectory"
    assert set(expected) <= set(TRAJECTORIES)
    assert facet_counts(page, "trajectory") == expected
    assert re.search(r'<h3 id="f-trajectory">Trajectory</h3>', page)


@pytest.mark.parametrize("name", ["failed", "discontinued", "discouraged"])
def test_a_trajectory_lists_its_cases_and_its_sparql_agrees(client: TestClient, web_store: Path,
                                                            name: str) -> None:
    value = str(CPC[name])
    wanted = expected_cases(web_store, f"?c cp:hasCoding/cp:trajectory <{value}> .")
    assert wanted, f"no case is coded {name}"
    listed = client.get("/browse/cases", params={"trajectory": value, "format": "json"}).json()
    assert {c["iri"] for c in listed["cases"]} == wanted
    assert all(value in c["trajectory"].split() for c in listed["cases"])
    page = client.get("/browse/cases", params={"trajectory": value}).text
    link = re.search(r'<a href="(/query\?query=[^"]+)">', page)
    assert link
    query = dict(parse_qsl(urlsplit(link.group(1).replace("&amp;", "&")).query))["query"]
    answer = client.get("/sparql", params={"query": query},
                        headers={"Accept": "application/sparql-results+json"})
    assert {b["case"]["value"] for b in answer.json()["results"]["bindings"]} == wanted


@pytest.mark.parametrize("value", ["failed", "http://a\"><script>", "x" * 3000])
def test_a_hostile_trajectory_is_400(client: TestClient, value: str) -> None:
    assert client.get("/browse/cases", params={"trajectory": value}).status_code == 400
