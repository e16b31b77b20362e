"""Exact caching by published state: entity tags, 304, Cache-Control and Vary, who is served
from the cache, its byte bound, POST queries, and the setting that turns it off.

The app runs over a copy of the miniature store through a store that counts the queries that
reach the engine and can pretend that a new state was published; nothing here is timed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_api_budget import Clock

from api.answer_keys import sparql_variant
from api.app import create_app
from api.budget import Fairness
from api.caching import if_none_match
from coprod_kg.caching.answers import AnswerCache, CachedAnswer, answer_key
from coprod_kg.config import Settings
from coprod_kg.fairness.budget import QueryBudget
from coprod_kg.fairness.clients import client_key
from coprod_kg.storage.embedded.oxigraph_store import OxigraphStore
from coprod_kg.storage.store import GraphRecord, QueryRequest, QueryResult

CASE = "https://w3id.org/coprod/case/example-case"
SELECT = f"SELECT ?p ?o WHERE {{ <{CASE}> ?p ?o }} ORDER BY ?p ?o"
JSON = "application/sparql-results+json"
TURTLE = "text/turtle"


class CountingStore:
    """The in-process store, counting the queries that reach it; ``state`` overrides the
    published state (a new publication, as far as the cache can tell)."""

    local_state = True

    def __init__(self, inner: OxigraphStore, clock: Clock | None = None) -> None:
        self.inner = inner
        self.queries = 0
        self.state: str | None = None
        self.clock = clock
        self.cost = 0.0

    def query(self, request: QueryRequest) -> QueryResult:
        self.queries += 1
        if self.clock is not None:
            self.clock.now += self.cost
        return self.inner.query(request)

    def graphs(self) -> list[GraphRecord]:
        return self.inner.graphs()

    def ready(self) -> bool:
        return True

    def published_state(self) -> str | None:
        return self.state or self.inner.published_state()

    def close(self) -> None:
        self.inner.close()


class Site:
    def __init__(self, client: TestClient, store: CountingStore) -> None:
        self.client, self.store = client, store

    def sparql(self, query: str = SELECT, accept: str = JSON, **headers: str) -> Any:
        return self.client.get("/sparql", params={"query": query},
                               headers={"Accept": accept, **headers})


def _site(mini_store: Path, tmp_path: Path, settings_for: Any, **overrides: Any
          ) -> Iterator[Site]:
    store_dir = tmp_path / "store"
    shutil.copytree(mini_store, store_dir)
    settings: Settings = settings_for(store_dir, **overrides)
    store = CountingStore(OxigraphStore(store_dir))
    with TestClient(create_app(settings, store=store)) as client:
        yield Site(client, store)


@pytest.fixture
def site(mini_store: Path, tmp_path: Path, settings_for: Any) -> Iterator[Site]:
    yield from _site(mini_store, tmp_path, settings_for)


# --- entity tags and 304 ------------------------------------------------------------------

def test_a_get_answer_has_a_strong_tag_and_can_be_revalidated(site: Site) -> None:
    first = site.sparql()
    assert first.status_code == 200
    tag = first.headers["etag"]
    assert tag.startswith('"') and tag.endswith('"') and not tag.startswith("W/")
    assert first.headers["cache-control"] == "public, no-cache"
    vary = {v.strip().lower() for v in first.headers["vary"].split(",")}
    assert {"accept", "authorization"} <= vary
    assert site.sparql().headers["etag"] == tag
    assert site.store.queries == 1  # the repeat came from the cache


@pytest.mark.parametrize("header", [
    "{tag}", "W/{tag}", '"other", {tag}', '"other",W/{tag} , "x"', "*", " {tag} ",
])
def test_if_none_match_gets_304_without_running_anything(site: Site, header: str) -> None:
    tag = site.sparql().headers["etag"]
    before = site.store.queries
    answer = site.sparql(**{"If-None-Match": header.format(tag=tag)})
    assert answer.status_code == 304
    assert answer.content == b""
    assert answer.headers["etag"] == tag
    assert answer.headers["cache-control"] == "public, no-cache"
    assert site.store.queries == before


def test_a_304_needs_no_cached_answer(mini_store: Path, tmp_path: Path,
                                      settings_for: Any) -> None:
    """The tag is derived from the state and the request: even with the cache off (or after
    eviction, or in another process) a matching tag is 304 before any query runs."""
    for site in _site(mini_store, tmp_path, settings_for, answer_cache_bytes=0):
        tag = site.sparql().headers["etag"]
        assert site.sparql().status_code == 200
        assert site.store.queries == 2  # no cache: both ran
        assert site.sparql(**{"If-None-Match": tag}).status_code == 304
        assert site.store.queries == 2


@pytest.mark.parametrize("header", ['"nope"', 'W/"nope"', "", '"a", "b"', "garbage"])
def test_a_tag_that_does_not_match_gets_the_answer(site: Site, header: str) -> None:
    site.sparql()
    answer = site.sparql(**{"If-None-Match": header})
    assert answer.status_code == 200 and answer.json()["results"]["bindings"]


def test_the_tag_depends_on_query_format_and_dataset(site: Site) -> None:
    base = site.sparql().headers["etag"]
    assert site.sparql(SELECT + " LIMIT 1").headers["etag"] != base
    assert site.sparql(accept="text/csv").headers["etag"] != base
    dataset = site.client.get("/sparql", params={"query": SELECT, "default-graph-uri": CASE},
                              headers={"Accept": JSON})
    assert dataset.headers["etag"] != base
    # Two spellings of the same wish share the answer: the negotiated format is the key.
    same = site.sparql(accept=f"{JSON};q=0.9")
    assert same.headers["etag"] == base
    assert sparql_variant(JSON, None) == sparql_variant(f"{JSON};q=0.9", None)


def test_a_new_published_state_is_never_answered_from_an_older_one(site: Site) -> None:
    old = site.sparql()
    site.store.state = "a-new-state"
    new = site.sparql()
    assert new.headers["etag"] != old.headers["etag"]
    assert site.store.queries == 2  # recomputed, not served from the old state's entry
    assert site.sparql(**{"If-None-Match": old.headers["etag"]}).status_code == 200
    page = site.client.get("/case/example-case", headers={"Accept": TURTLE})
    site.store.state = "a-third-state"
    assert site.client.get("/case/example-case",
                           headers={"Accept": TURTLE}).headers["etag"] != page.headers["etag"]


def test_errors_are_not_cached_or_tagged(site: Site) -> None:
    for _ in range(2):
        answer = site.sparql("SELECT * WHERE { ?s ?p ")
        assert answer.status_code == 400
        assert "etag" not in answer.headers
    assert site.store.queries == 2
    for _ in range(2):
        missing = site.client.get("/case/no-such-case", headers={"Accept": TURTLE})
        assert missing.status_code == 404 and "etag" not in missing.headers


# --- linked data, pages, VoID ---------------------------------------------------------------

@pytest.mark.parametrize(("path", "accept"), [
    ("/case/example-case", TURTLE), ("/case/example-case", "application/ld+json"),
    ("/case/example-case", "text/html"), ("/.well-known/void", TURTLE),
    ("/.well-known/void", "text/html"),
])
def test_documents_and_pages_are_tagged_kept_and_revalidated(site: Site, path: str,
                                                             accept: str) -> None:
    first = site.client.get(path, headers={"Accept": accept})
    assert first.status_code == 200, first.text
    tag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, no-cache"
    assert "authorization" in first.headers["vary"].lower()
    ran = site.store.queries
    again = site.client.get(path, headers={"Accept": accept})
    assert again.content == first.content and again.headers["etag"] == tag
    assert site.store.queries == ran  # from the cache
    assert site.client.get(path, headers={"Accept": accept,
                                          "If-None-Match": tag}).status_code == 304
    assert site.store.queries == ran


def test_pages_differ_by_language_and_format(site: Site) -> None:
    english = site.client.get("/case/example-case",
                              headers={"Accept": "text/html", "Accept-Language": "en"})
    polish = site.client.get("/case/example-case",
                             headers={"Accept": "text/html", "Accept-Language": "pl"})
    turtle = site.client.get("/case/example-case", headers={"Accept": TURTLE})
    tags = {english.headers["etag"], polish.headers["etag"], turtle.headers["etag"]}
    assert len(tags) == 3
    assert 'lang="pl"' in polish.text and 'lang="en"' in english.text


# --- who is served from the cache -----------------------------------------------------------

@pytest.mark.parametrize("path", ["/sparql", "/case/example-case"])
def test_authenticated_requests_are_never_cached_nor_served_from_the_cache(
        site: Site, path: str) -> None:
    params = {"query": SELECT} if path == "/sparql" else {}
    accept = {"Accept": JSON if path == "/sparql" else TURTLE}
    token = {"Authorization": "Bearer some-token", **accept}
    anonymous = site.client.get(path, params=params, headers=accept)
    assert anonymous.status_code == 200
    ran = site.store.queries
    private = site.client.get(path, params=params, headers=token)
    assert private.headers["cache-control"] == "private, no-store"
    assert "etag" not in private.headers
    assert site.store.queries > ran  # not served the anonymous answer
    ran = site.store.queries
    again = site.client.get(path, params=params,
                            headers={**token, "If-None-Match": anonymous.headers["etag"]})
    assert again.status_code == 200 and site.store.queries > ran  # no 304 from the public tag


def test_an_authenticated_answer_is_not_kept_for_anonymous_readers(site: Site) -> None:
    site.sparql(Authorization="Bearer some-token")
    ran = site.store.queries
    site.sparql()
    assert site.store.queries == ran + 1


# --- POST ----------------------------------------------------------------------------------

def test_post_queries_are_cached_in_process_but_not_tagged(site: Site) -> None:
    form = site.client.post("/sparql", data={"query": SELECT}, headers={"Accept": JSON})
    assert form.status_code == 200 and "etag" not in form.headers
    assert "public" not in form.headers.get("cache-control", "")
    direct = site.client.post("/sparql", content=SELECT.encode(), headers={
        "Accept": JSON, "Content-Type": "application/sparql-query"})
    assert direct.content == form.content
    assert site.store.queries == 1
    got = site.sparql()  # the same key: query, dataset, format
    assert got.content == form.content and "etag" in got.headers
    assert site.store.queries == 1
    other = site.client.post("/sparql", data={"query": SELECT, "default-graph-uri": CASE},
                             headers={"Accept": JSON})
    assert other.status_code == 200 and site.store.queries == 2


# --- the bound and the setting -------------------------------------------------------------

def test_the_cache_is_bounded_in_bytes_and_evicts_the_least_recently_used() -> None:
    cache = AnswerCache(10_000, entry_max=3_000)
    answers = {f"k{i}": CachedAnswer(((b"content-type", b"text/plain"),), bytes(2_000))
               for i in range(8)}
    for key in ("k0", "k1", "k2", "k3"):
        assert cache.put(key, answers[key])
    assert cache.get("k0") is not None  # now the most recently used
    for key in ("k4", "k5"):
        cache.put(key, answers[key])
    assert cache.used <= 10_000
    assert "k0" in cache and "k1" not in cache and "k2" not in cache
    assert not cache.put("huge", CachedAnswer((), bytes(3_000)))
    assert "huge" not in cache
    assert len(cache) * 2_000 <= cache.used <= 10_000


def test_a_zero_bound_disables_the_cache() -> None:
    cache = AnswerCache(0)
    assert not cache.enabled
    assert not cache.put("k", CachedAnswer((), b"x"))
    assert cache.get("k") is None


def test_answers_over_the_entry_limit_are_sent_but_not_kept(
        mini_store: Path, tmp_path: Path, settings_for: Any) -> None:
    for site in _site(mini_store, tmp_path, settings_for, answer_cache_bytes=2048):
        big = "SELECT * WHERE { ?s ?p ?o }"
        first = site.sparql(big)
        assert first.status_code == 200 and len(first.content) > 2048 // 8
        assert "etag" in first.headers
        site.sparql(big)
        assert site.store.queries == 2


def test_the_setting_turns_the_cache_off(mini_store: Path, tmp_path: Path,
                                         settings_for: Any) -> None:
    for site in _site(mini_store, tmp_path, settings_for, answer_cache_bytes=0):
        for _ in range(3):
            assert site.sparql().status_code == 200
            site.client.get("/case/example-case", headers={"Accept": TURTLE})
        assert site.store.queries >= 6


def test_keys_are_exact() -> None:
    assert answer_key("s", "a", "bc") != answer_key("s", "ab", "c")
    assert if_none_match('"a"', '"a"') and not if_none_match('"a"', '"b"')
    assert if_none_match('W/"a"', 'W/"a"') and if_none_match('"a"', 'W/"a"')
    assert not if_none_match(None, '"a"')


# --- the budget ----------------------------------------------------------------------------

def test_cache_hits_are_not_charged_but_a_spent_client_is_still_refused(
        mini_store: Path, tmp_path: Path, settings_for: Any) -> None:
    store_dir = tmp_path / "store"
    shutil.copytree(mini_store, store_dir)
    settings: Settings = settings_for(store_dir, client_query_seconds=10.0,
                                      client_window=60.0, client_concurrency=2)
    clock = Clock()
    store = CountingStore(OxigraphStore(store_dir), clock)
    store.cost = 4.0
    app = create_app(settings, store=store)
    fairness = Fairness(settings)
    fairness.budget = QueryBudget(10.0, 60.0, 2, clock=clock)
    app.state.fairness = fairness
    with TestClient(app) as client:
        site = Site(client, store)
        assert site.sparql().status_code == 200
        for _ in range(5):  # hits: no query time
            assert site.sparql().status_code == 200
        assert store.queries == 1
        assert fairness.budget.used(client_key("testclient")) == pytest.approx(4.0)
        store.cost = 20.0
        assert site.sparql(SELECT + " LIMIT 5").status_code == 200  # spends it all
        refused = site.sparql()  # a hit, but the client is past its budget
        assert refused.status_code == 429 and "retry-after" in refused.headers
        assert store.queries == 2
