"""The query budget over HTTP: 429 with Retry-After once a client's query time is spent or its
concurrency cap reached, charged per client (through trusted proxies only), curators exempt.

The store is a fake whose queries move an injected clock by a chosen number of seconds, so
nothing here depends on how fast the machine is.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.budget import Fairness
from coprod_kg.config import Settings, load_settings
from coprod_kg.curation.accounts import Accounts
from coprod_kg.errors import BadInput, QueryTimeout
from coprod_kg.fairness.budget import QueryBudget, waiting_for_worker
from coprod_kg.rdf.formats import QueryForm
from coprod_kg.storage.store import GraphRecord, QueryRequest, QueryResult

SELECT = "SELECT * WHERE { ?s ?p ?o } LIMIT 1"
JSON = "application/sparql-results+json"
PROXY = ("127.0.0.1", 4000)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeStore:
    """Each query takes ``cost`` seconds of the fake clock; ``gate`` (if set) holds it."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.cost = 1.0
        self.wait = 0.0  # seconds spent waiting for a worker before the query starts
        self.busy = False  # the wait ends without a worker
        self.fail = False
        self.gate: threading.Event | None = None
        self.running = threading.Semaphore(0)
        self.queries = 0

    def query(self, request: QueryRequest) -> QueryResult:
        self.queries += 1
        if not request.query.startswith("SELECT"):  # the worker's parse refuses it at once
            raise BadInput("malformed query")
        with waiting_for_worker():  # what a worker pool wraps around its wait for a worker
            self.clock.now += self.wait
            if self.busy:
                raise QueryTimeout("every query worker is busy; try again later")
        self.clock.now += self.cost
        if self.gate is not None:
            self.running.release()
            self.gate.wait(60)
        if self.fail:
            raise QueryTimeout("the query ran longer than 30 s and was stopped")
        return QueryResult(b'{"head":{"vars":[]},"results":{"bindings":[]}}', JSON,
                           QueryForm.SELECT)

    def graphs(self) -> list[GraphRecord]:
        return []

    def ready(self) -> bool:
        return True

    def close(self) -> None:
        pass


class Setup:
    def __init__(self, client: TestClient, store: FakeStore, clock: Clock,
                 settings: Settings) -> None:
        self.client, self.store, self.clock, self.settings = client, store, clock, settings

    def query(self, client_ip: str | None = None, method: str = "GET", **headers: str) -> Any:
        if client_ip is not None:
            headers["X-Forwarded-For"] = client_ip
        headers.setdefault("Accept", JSON)
        if method == "GET":
            return self.client.get("/sparql", params={"query": SELECT}, headers=headers)
        return self.client.post("/sparql", data={"query": SELECT}, headers=headers)


def make(settings: Settings, peer: tuple[str, int] = PROXY,
         store_class: type[FakeStore] = FakeStore, **overrides: Any) -> Iterator[Setup]:
    settings = settings.with_overrides(**{"client_query_seconds": 10.0, "client_window": 60.0,
                                          "client_concurrency": 2,
                                          "trusted_proxies": "127.0.0.1", **overrides})
    clock = Clock()
    store = store_class(clock)
    app = create_app(settings, store=store)
    state = Fairness(settings)
    state.budget = QueryBudget(settings.client_query_seconds, settings.client_window,
                               settings.client_concurrency, clock=clock)
    app.state.fairness = state
    with TestClient(app, client=peer) as client:
        yield Setup(client, store, clock, settings)


@pytest.fixture
def setup(mini_settings: Settings) -> Iterator[Setup]:
    yield from make(mini_settings)


def test_a_spent_budget_answers_429_with_retry_after(setup: Setup) -> None:
    setup.store.cost = 4.0
    # 10 s per 60 s refills 1/6 s per second, also while a query runs (4 s: 2/3 s back)
    for _ in range(3):  # used before each: 0, 3 1/3, 6 2/3 s: under 10, so each may start
        assert setup.query("198.51.100.7").status_code == 200
    answer = setup.query("198.51.100.7")  # 10 2/3 s used: 2/3 s over → back in 4 s
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "5"
    assert "budget" in answer.text
    assert setup.store.queries == 3  # the refused query never reached the store
    post = setup.query("198.51.100.7", method="POST")
    assert post.status_code == 429 and post.headers["retry-after"] == "5"
    setup.clock.now += 3.9
    assert setup.query("198.51.100.7").status_code == 429
    setup.clock.now += 0.2
    assert setup.query("198.51.100.7").status_code == 200


def test_other_clients_are_unaffected(setup: Setup) -> None:
    setup.store.cost = 30.0
    assert setup.query("198.51.100.7").status_code == 200
    assert setup.query("198.51.100.7").status_code == 429
    setup.store.cost = 0.01
    for other in ("198.51.100.8", "2001:db8::1", "203.0.113.1"):
        assert setup.query(other).status_code == 200
    assert setup.query("198.51.100.7").status_code == 429


def test_failed_queries_are_charged(setup: Setup) -> None:
    setup.store.cost = 11.0
    setup.store.fail = True
    assert setup.query("198.51.100.7").status_code == 503
    setup.store.fail = False
    assert setup.query("198.51.100.7").status_code == 429


def test_the_wait_for_a_worker_is_not_charged(setup: Setup) -> None:
    """The pool marks when the query gets a worker (in the threadpool thread)."""
    setup.store.wait, setup.store.cost = 30.0, 0.5
    for _ in range(5):  # 150 s of waiting, 2.5 s of query time
        assert setup.query("198.51.100.7").status_code == 200
    state = setup.client.app.state.fairness  # type: ignore[attr-defined]
    assert state.budget.used("198.51.100.7") <= 2.5
    setup.store.busy = True
    for _ in range(5):
        assert setup.query("198.51.100.7").status_code == 503
    assert state.budget.used("198.51.100.7") <= 2.5


def test_bad_queries_cost_nothing_but_pass_the_gate(setup: Setup) -> None:
    for _ in range(20):
        answer = setup.client.get("/sparql", params={"query": "SELEKT"},
                                  headers={"X-Forwarded-For": "198.51.100.7"})
        assert answer.status_code == 400
    setup.store.cost = 20.0
    assert setup.query("198.51.100.7").status_code == 200
    refused = setup.client.get("/sparql", params={"query": "SELEKT"},
                               headers={"X-Forwarded-For": "198.51.100.7"})
    assert refused.status_code == 429


def test_the_concurrency_cap_answers_429(setup: Setup) -> None:
    setup.store.cost = 0.0
    setup.store.gate = threading.Event()
    answers: list[int] = []
    threads = [threading.Thread(target=lambda: answers.append(
        setup.query("198.51.100.7").status_code)) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for _ in threads:  # both are inside the store (bounded wait: a hang fails the test)
            assert setup.store.running.acquire(timeout=60)
        third = setup.query("198.51.100.7")
        assert third.status_code == 429
        assert third.headers["retry-after"] == "1"
        assert "concurrent" in third.text
        setup.store.gate.set()  # another client is not capped
        assert setup.query("198.51.100.8").status_code == 200
    finally:
        setup.store.gate.set()
        for thread in threads:
            thread.join(60)
    assert answers == [200, 200]
    assert setup.query("198.51.100.7").status_code == 200  # the slots are free again


def test_an_untrusted_peer_cannot_choose_its_identity(mini_settings: Settings) -> None:
    for setup in make(mini_settings, peer=("203.0.113.50", 5000)):
        setup.store.cost = 11.0
        assert setup.query("198.51.100.1").status_code == 200
        for spoof in ("198.51.100.2", "198.51.100.3, 198.51.100.4", "10.0.0.1"):
            assert setup.query(spoof).status_code == 429
            assert setup.query(method="POST", Forwarded=f"for={spoof}").status_code == 429


def test_without_trusted_proxies_the_headers_are_ignored(mini_settings: Settings) -> None:
    for setup in make(mini_settings, trusted_proxies=""):
        setup.store.cost = 11.0
        assert setup.query("198.51.100.1").status_code == 200
        assert setup.query("198.51.100.2").status_code == 429


def test_forwarded_header_behind_a_trusted_proxy(mini_settings: Settings) -> None:
    for setup in make(mini_settings, forwarded_header="forwarded"):
        setup.store.cost = 11.0
        assert setup.query(Forwarded='for="[2001:db8::7]:443"').status_code == 200
        assert setup.query(Forwarded="for=2001:db8::9").status_code == 429  # same /64
        # X-Forwarded-For is not read: both are charged to the proxy itself
        assert setup.query("198.51.100.1").status_code == 200
        assert setup.query("198.51.100.2").status_code == 429
        assert setup.query(Forwarded="for=198.51.100.1").status_code == 200


def test_curators_are_exempt_and_contributors_charged_to_their_account(
        setup: Setup) -> None:
    registry = Accounts(setup.settings.store)
    curator = registry.add("carol", "curator")
    contributor = registry.add("alice", "contributor")
    setup.store.cost = 11.0
    assert setup.query("198.51.100.7").status_code == 200
    assert setup.query("198.51.100.7").status_code == 429
    setup.store.cost = 0.0  # (a query's own time refills every budget a little)
    for _ in range(3):
        assert setup.query("198.51.100.7", Authorization=f"Bearer {curator}").status_code == 200
    # an unknown token is an anonymous request of its address, not a 401
    assert setup.query("198.51.100.7", Authorization="Bearer nope").status_code == 429
    assert setup.query("198.51.100.9", Authorization="Bearer nope").status_code == 200
    as_alice = {"Authorization": f"Bearer {contributor}"}
    setup.store.cost = 11.0
    assert setup.query("198.51.100.8", **as_alice).status_code == 200
    assert setup.query("198.51.100.9", **as_alice).status_code == 429
    setup.store.cost = 0.0
    assert setup.query("198.51.100.8").status_code == 200  # the address itself is not charged


def test_zero_turns_the_budget_off(mini_settings: Settings) -> None:
    for setup in make(mini_settings, client_query_seconds=0.0, client_concurrency=0):
        setup.store.cost = 1000.0
        for _ in range(5):
            assert setup.query("198.51.100.7").status_code == 200


def test_the_default_settings_build_a_working_budget(mini_settings: Settings) -> None:
    defaults = load_settings({})
    settings = mini_settings.with_overrides(client_query_seconds=defaults.client_query_seconds,
                                            client_concurrency=defaults.client_concurrency)
    with TestClient(create_app(settings, store=FakeStore(Clock()))) as client:
        answer = client.get("/sparql", params={"query": SELECT}, headers={"Accept": JSON})
        assert answer.status_code == 200
        state = client.app.state.fairness  # type: ignore[attr-defined]
        assert state.budget.seconds == 60 and state.budget.concurrency == 5
        assert len(state.budget) == 1
