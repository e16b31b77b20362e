"""No query makes the server call out: an SSRF corpus against a real server and a listener.

Each spelling goes over GET and over POST to a server on 127.0.0.1 while a TCP listener on
another loopback port counts the connections it receives: there must be none. The corpus runs
twice: through the normal path (the parser refuses it: 400), and with the parser check turned
off in the workers (a test-only switch), where the workers' operating-system barrier alone
(seccomp, network namespace) must stop every connection.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from backends import REMOTE, settings_of
from conftest import MINI, LiveServer  # type: ignore[import-not-found]

from api.app import create_app
from coprod_kg.config import Settings
from coprod_kg.sparql.safety import SERVICE_REFUSED
from coprod_kg.sparql.sandbox import install_barriers, network_is_closed
from coprod_kg.storage.embedded.pooled_store import PooledStore

#: Spellings of SERVICE, LOAD and updates; ``{T}`` is the listener's URL, ``{B}`` its base.
CORPUS: tuple[str, ...] = (
    "PREFIX : <{B}> SELECT * WHERE {{ SERVICE:sparql {{ ?x ?y ?z }} }}",
    "PREFIX : <{B}> SELECT * WHERE {{ SERVICE:sparql{{?x ?y ?z}}}}",
    "SELECT * {{ SERVICE <{T}> {{ ?s ?p ?o }} }}",
    "SELECT * {{ SERVICE SILENT <{T}> {{ ?s ?p ?o }} }}",
    "PREFIX e: <{B}> SELECT * {{ SERVICE e:sparql {{ ?s ?p ?o }} }}",
    "PREFIX e: <{B}> SELECT * {{ SERVICE SILENT e:sparql {{ }} }}",
    "SELECT * {{ VALUES ?s {{ <{T}> }} SERVICE ?s {{ ?a ?b ?c }} }}",
    "SELECT * {{ BIND(<{T}> AS ?e) SERVICE SILENT ?e {{ ?a ?b ?c }} }}",
    "ASK {{ FILTER EXISTS {{ SERVICE <{T}> {{ ?s ?p ?o }} }} }}",
    "ASK {{ FILTER NOT EXISTS {{ SERVICE <{T}> {{ ?s ?p ?o }} }} }}",
    "SELECT * {{ ?s ?p ?o MINUS {{ SERVICE <{T}> {{ ?s ?p ?o }} }} }}",
    "SELECT * {{ OPTIONAL {{ SERVICE <{T}> {{ ?s ?p ?o }} }} }}",
    "SELECT * {{ {{ ?s ?p ?o }} UNION {{ SERVICE <{T}> {{ ?s ?p ?o }} }} }}",
    "SELECT * {{ {{ SELECT * {{ SERVICE <{T}> {{ ?s ?p ?o }} }} }} }}",
    "SELECT * {{ GRAPH ?g {{ SERVICE <{T}> {{ ?s ?p ?o }} }} }}",
    "SELECT * {{ #c\n SERVICE #c\n <{T}> #c\n {{ ?s ?p ?o }} }}",
    "SELECT * {{ \\u0053ERVICE <{T}> {{ ?s ?p ?o }} }}",
    "SELECT * {{ \\u0073\\u0065rvice <{T}> {{ }} }}",
    "SELECT*{{{{?s ?p ?o}}SERVICE<{T}>{{?s ?p ?o}}}}",
    "select * {{ service <{T}> {{ ?s ?p ?o }} }}",
    "SeLeCt * {{ sErViCe <{T}> {{ ?s ?p ?o }} }}",
    "SELECT * {{ ?s ?p <urn:x>.SERVICE <{T}> {{ ?s ?p ?o }} }}",
    "PREFIX ex: <http://example.org/> SELECT * {{ ex:a\\.b ?p ?o . SERVICE <{T}> {{ }} }}",
    "PREFIX ex: <http://example.org/> SELECT * {{ ?s ex:p\\-q ?o .SERVICE <{T}> {{ }} }}",
    "SELECT * {{ ?s ?p \"SERVICE\" . SERVICE <{T}> {{ }} }}",
    "SELECT * {{ SERVICE <{T}> {{ SERVICE <{T}> {{ }} }} }}",
    "BASE <{B}> SELECT * {{ SERVICE <sparql> {{ ?s ?p ?o }} }}",
    "CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <{T}> {{ ?s ?p ?o }} }}",
    "DESCRIBE ?s WHERE {{ SERVICE <{T}> {{ ?s ?p ?o }} }}",
    "SELECT (COUNT(*) AS ?n) {{ SERVICE <{T}> {{ ?s ?p ?o }} }}",
    "SELECT * {{ SERVICE <{T}> {{ }} }} VALUES ?x {{ 1 }}",
    "SELECT * {{ SERVICE <{L}> {{ ?s ?p ?o }} }}",
    "SELECT * {{ SERVICE <{S}> {{ ?s ?p ?o }} }}",
    "PREFIX s: <{S}> SELECT * {{ SERVICE SILENT s: {{ ?s ?p ?o }} }}",
    "LOAD <{T}>",
    "LOAD SILENT <{T}> INTO GRAPH <urn:g>",
    "INSERT DATA {{ <urn:a> <urn:b> <urn:c> }}",
    "INSERT {{ ?s ?p ?o }} WHERE {{ SERVICE <{T}> {{ ?s ?p ?o }} }}",
    "PREFIX : <{B}> LOAD :data",
)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP socket listening on 127.0.0.1 (it never answers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        sock.setblocking(False)
        yield sock


def _connections(sock: socket.socket) -> int:
    count = 0
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def _corpus(port: int) -> list[str]:
    base = f"http://127.0.0.1:{port}/"
    return [q.format(B=base, T=base + "sparql", L=f"http://localhost:{port}/sparql",
                     S=f"https://127.0.0.1:{port}/sparql") for q in CORPUS]


def _send_all(url: str, queries: list[str]) -> list[httpx.Response]:
    responses = []
    with httpx.Client(base_url=url, timeout=120) as client:
        for query in queries:
            responses.append(client.get("/sparql", params={"query": query}))
            responses.append(client.post("/sparql", content=query.encode(),
                                         headers={"content-type": "application/sparql-query"}))
            responses.append(client.post("/sparql", data={"query": query}))
    return responses


def test_the_corpus_is_broad() -> None:
    assert len(set(CORPUS)) >= 30


def test_every_spelling_is_refused_and_nothing_connects(
        listener: socket.socket, live_server: LiveServer) -> None:
    queries = _corpus(listener.getsockname()[1])
    responses = _send_all(live_server.url, queries)
    refused = [r for r in responses if r.status_code == 400]
    assert len(refused) == len(responses), [
        (r.request.url, r.status_code, r.text[:200]) for r in responses if r.status_code != 400]
    assert _connections(listener) == 0


class _StoreServer(LiveServer):  # type: ignore[misc]
    """A live server over a given store object."""

    def __init__(self, settings: Settings, store: Any) -> None:
        super().__init__(settings)
        config = uvicorn.Config(create_app(self.settings, store=store), host="127.0.0.1",
                                port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)


@pytest.mark.skipif(REMOTE, reason="the embedded query workers run the queries")
def test_the_sandbox_alone_stops_every_connection(
        listener: socket.socket, mini_store: Path) -> None:
    """With the parser check off, the engine does try SERVICE: the OS barrier must stop it."""
    settings = settings_of(mini_store, ontology_dir=MINI / "ontology", data_dir=MINI / "data")
    store = PooledStore(mini_store, 1, 30, 1000, site_workers=1, check_queries=False)
    try:
        assert store.pool.barriers, "no network barrier in the query workers"
        with _StoreServer(settings, store) as server:
            queries = _corpus(listener.getsockname()[1])
            responses = _send_all(server.url, queries)
            # Control: the check really is off (no SERVICE query is refused up front).
            assert not [r for r in responses if SERVICE_REFUSED in r.text]
    finally:
        store.close()
    assert _connections(listener) == 0


def test_the_barrier_closes_internet_sockets_in_a_process() -> None:
    """In a fresh process: after :func:`install_barriers`, no AF_INET socket can be opened."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        barriers, closed = pool.apply(_sandboxed_probe)
    assert barriers
    if "seccomp" in barriers:
        assert closed


def _sandboxed_probe() -> tuple[tuple[str, ...], bool]:
    barriers = install_barriers()
    return barriers, network_is_closed()
