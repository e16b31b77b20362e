"""Safety of the public endpoint: no outgoing requests (SERVICE, LOAD) and hard timeouts."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from conftest import LiveServer  # type: ignore[import-not-found]

from coprod_kg.config import Settings

SettingsFactory = Callable[..., Settings]
# Six independent triple patterns over the store: a cartesian product that runs for hours.
ENDLESS = ("SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . "
           "?m ?n1 ?o . ?p ?q ?r }")


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP socket listening on 127.0.0.1 that records nothing unless someone connects."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
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


def test_the_listener_does_see_an_unguarded_engine(listener: socket.socket) -> None:
    """Control: pyoxigraph itself does call out for SERVICE, so the check below means something."""
    port = listener.getsockname()[1]
    store = ox.Store()

    def run() -> None:
        with contextlib.suppress(OSError):  # the listener never answers properly
            list(store.query(f"SELECT * {{ SERVICE <http://127.0.0.1:{port}/sparql> "
                             "{ ?s ?p ?o } }"))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    listener.setblocking(True)
    listener.settimeout(20)
    conn, _ = listener.accept()
    conn.close()
    thread.join(20)


def test_service_and_load_never_connect(listener: socket.socket, live_server: LiveServer) -> None:
    target = f"http://127.0.0.1:{listener.getsockname()[1]}/sparql"
    queries = [
        f"SELECT * {{ SERVICE <{target}> {{ ?s ?p ?o }} }}",
        f"SELECT * {{ SERVICE SILENT <{target}> {{ ?s ?p ?o }} }}",
        f"select * {{ \\u0053ERVICE <{target}> {{ ?s ?p ?o }} }}",
        f"PREFIX t: <{target}#>\nSELECT * {{ # comment\n service t:x {{ ?s ?p ?o }} }}",
        f"LOAD <{target}>",
        f"LOAD SILENT <{target}> INTO GRAPH <urn:g>",
    ]
    with httpx.Client(base_url=live_server.url, timeout=60) as client:
        for query in queries:
            by_get = client.get("/sparql", params={"query": query})
            direct = client.post("/sparql", content=query.encode(),
                                 headers={"content-type": "application/sparql-query"})
            update = client.post("/sparql", data={"update": query})
            for response in (by_get, direct, update):
                assert response.status_code == 400, (query, response.text)
    assert _connections(listener) == 0


def test_timeout_stops_the_query_and_others_are_served(
        mini_store: Path, settings_for: SettingsFactory) -> None:
    # every query in a worker: the quick one must be served by the other worker, and the
    # light lookups at the end by the one that replaced the killed one
    settings = settings_for(mini_store, query_timeout=2.0, query_workers=2,
                            inline_light_queries=False)
    slow: dict[str, httpx.Response] = {}
    with LiveServer(settings) as server:
        def run_slow() -> None:
            slow["response"] = httpx.get(server.url + "/sparql", params={"query": ENDLESS},
                                         timeout=120)

        thread = threading.Thread(target=run_slow)
        thread.start()
        quick = httpx.get(server.url + "/sparql", params={"query": "ASK { ?s ?p ?o }"},
                          timeout=60)
        assert quick.status_code == 200
        assert quick.json()["boolean"] is True
        thread.join(120)
        assert not thread.is_alive()
        assert slow["response"].status_code == 503
        assert "stopped" in slow["response"].text
        # The killed worker was replaced: the pool still answers, again and again.
        for _ in range(3):
            again = httpx.get(server.url + "/sparql", params={"query": "ASK { ?s ?p ?o }"},
                              timeout=60)
            assert again.status_code == 200
