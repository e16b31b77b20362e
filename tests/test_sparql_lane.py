"""The lean ``GET /sparql`` path (:func:`api.routers.sparql.sparql_lane`).

An anonymous GET that the answer cache does not answer skips FastAPI's routing and dependency
solving; every other request (a bearer token, POST) takes the route. The lane must answer
exactly as the route does: the same statuses, bodies and headers for answers, refusals,
the service description and the redirect of a browser, and the same 429 past a client's budget.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph
from rdflib.compare import to_canonical_graph
from starlette.types import Receive, Scope, Send

import api.routers.sparql as sparql_router
from api.app import create_app
from coprod_kg.config import Settings
from tests.test_api_budget import JSON, FakeStore, make

MINI = Path(__file__).resolve().parent / "fixtures" / "mini"
#: Headers that must agree between the lane and the route (Date and the server's own differ).
COMPARED = ("content-type", "etag", "cache-control", "vary", "location", "retry-after",
            "access-control-allow-origin", "access-control-expose-headers")

#: (query string parameters, headers): answers, refusals and the other branches of GET.
CORPUS: list[tuple[list[tuple[str, str]], dict[str, str]]] = [
    ([("query", "SELECT * WHERE { ?s ?p ?o } LIMIT 3")], {"Accept": JSON}),
    ([("query", "SELECT * WHERE { ?s ?p ?o } LIMIT 3")], {"Accept": "text/csv"}),
    ([("query", "ASK { ?s ?p ?o }")], {}),
    ([("query", "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 2")],
     {"Accept": "text/turtle"}),
    ([("query", "DESCRIBE <https://w3id.org/coprod/case/none>")], {"Origin": "https://x.org"}),
    ([("query", "SELECT * WHERE { ?s ?p ?o } LIMIT 3"), ("format", "xml")], {}),
    ([("query", "SELECT * WHERE { ?s ?p")], {}),  # malformed: 400 with the position
    ([("query", "SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }")], {}),
    ([("query", "ASK {}"), ("query", "ASK {}")], {}),  # two queries
    ([("update", "DROP ALL")], {}),
    ([("query", "ASK {}"), ("using-graph-uri", "http://x/")], {}),
    ([("query", "SELECT * WHERE { ?s ?p ?o } LIMIT 1")], {"Accept": "image/png"}),  # 406
    ([("query", "SELECT * WHERE { ?s ?p ?o }"), ("default-graph-uri", "http://x/none")], {}),
    ([], {"Accept": "text/html"}),  # a browser: 303 to the query page
    ([], {"Accept": "text/turtle"}),  # the service description
]


def _app_client(settings: Settings, lane: Callable[[Scope, Receive, Send], Any] | None,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with monkeypatch.context() as patch:
        patch.setattr(sparql_router, "sparql_lane", lane)  # read by create_app
        app = create_app(settings)
    with TestClient(app) as client:
        yield client


class Counting:
    """The lane, counting the requests it serves."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        await sparql_router.sparql_lane(scope, receive, send)


@pytest.fixture
def settings(mini_store: Path, settings_for: Any) -> Settings:
    built: Settings = settings_for(mini_store, ontology_dir=MINI / "ontology",
                                   data_dir=MINI / "data")
    return built


def test_anonymous_gets_take_the_lane_and_the_others_the_route(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    lane = Counting()
    for client in _app_client(settings, lane, monkeypatch):
        query = {"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 2"}
        assert client.get("/sparql", params=query).status_code == 200
        assert lane.calls == 1
        assert client.get("/sparql", params=query).status_code == 200  # a hit: no lane
        assert lane.calls == 1
        assert client.post("/sparql", data=query).status_code == 200
        assert client.get("/sparql", params=query,
                          headers={"Authorization": "Bearer nobody"}).status_code == 200
        assert lane.calls == 1


def _body(content_type: str | None, body: bytes) -> bytes:
    """``body``, or for Turtle its canonical N-Triples (blank node labels and the order of
    statements may differ between two serialisations of one graph)."""
    if not (content_type or "").startswith("text/turtle"):
        return body
    canonical = to_canonical_graph(Graph().parse(data=body, format="turtle"))
    return "\n".join(sorted(canonical.serialize(format="nt").splitlines())).encode()


def _outcomes(client: TestClient) -> list[tuple[int, bytes, dict[str, str | None]]]:
    found = []
    for params, headers in CORPUS:
        answer = client.get("/sparql", params=params, headers=headers, follow_redirects=False)
        found.append((answer.status_code, _body(answer.headers.get("content-type"),
                                                answer.content),
                      {name: answer.headers.get(name) for name in COMPARED}))
    return found


@pytest.mark.parametrize("budget", ["on", "off"])
def test_the_lane_answers_as_the_route_does(settings: Settings, budget: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    if budget == "off":  # the lane then admits nothing and charges nobody
        settings = replace(settings, client_query_seconds=0.0, client_concurrency=0)
    lane = Counting()
    with_lane = [o for client in _app_client(settings, lane, monkeypatch)
                 for o in _outcomes(client)]
    assert lane.calls == len(CORPUS)  # every request of the corpus went through it
    without = [o for client in _app_client(settings, None, monkeypatch)
               for o in _outcomes(client)]
    assert [status for status, _, _ in with_lane] == [
        200, 200, 200, 200, 200, 200, 400, 400, 400, 400, 400, 406, 200, 303, 200]
    assert with_lane == without


class PublishedFakeStore(FakeStore):
    """The budget tests' store, with a published state: its GETs go through the lane."""

    local_state = True

    def published_state(self) -> str:
        return "state-1"


def test_the_lane_keeps_the_clients_budget(mini_settings: Settings) -> None:
    for setup in make(mini_settings, store_class=PublishedFakeStore):
        setup.store.cost = 4.0
        client = setup.client

        def ask(n: int, client: TestClient = client) -> Any:
            return client.get("/sparql", params={"query": f"SELECT * WHERE {{ ?s ?p {n} }}"},
                              headers={"Accept": JSON, "X-Forwarded-For": "198.51.100.7"})
        assert [ask(n).status_code for n in range(3)] == [200, 200, 200]
        refused = ask(3)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "5"
        assert setup.store.queries == 3  # the refused query never reached the store
        assert ask(0).status_code == 429  # a kept answer is not served past the budget either


class MovedOnStore(PublishedFakeStore):
    """A state is published while each query runs: the answer says it came from the new
    state (as the embedded store's do), or, with ``says`` off, the state read afterwards
    has changed (as on the remote back end)."""

    says = True

    def __init__(self, clock: Any) -> None:
        super().__init__(clock)
        self.state = "state-1"

    def published_state(self) -> str:
        return self.state

    def query(self, request: Any) -> Any:
        answer = super().query(request)
        self.state = f"state-{self.queries + 1}"
        return replace(answer, state=self.state) if self.says else answer


@pytest.mark.parametrize("says", [True, False])
def test_an_answer_from_a_state_newer_than_its_key_is_neither_tagged_nor_kept(
        mini_settings: Settings, says: bool) -> None:
    for setup in make(mini_settings, store_class=MovedOnStore):
        assert isinstance(setup.store, MovedOnStore)
        setup.store.says = says
        for expected_queries in (1, 2):
            answer = setup.query("198.51.100.7")
            assert answer.status_code == 200
            assert "etag" not in answer.headers
            assert answer.headers["cache-control"] == "no-cache"
            assert setup.store.queries == expected_queries  # not answered from the cache
