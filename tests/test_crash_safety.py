"""Nothing acknowledged is lost: SIGKILL a real server while a client streams writes.

A ``coprod-kg serve`` process (127.0.0.1, a private copy of the store) receives submissions, some
of which are accepted at once, from a client thread; the whole server process group (server and
query workers) is killed with SIGKILL at a random moment, the server is started again on the
same store, and every acknowledged write must be there, complete; writes in flight at the kill
are either wholly present or wholly absent.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from conftest import free_port
from http_helpers import TURTLE, Users, as_graph, bearer, record, writable_store

ROUNDS = 2
COPROD = Path(sys.executable).with_name("coprod-kg")


@dataclass
class Server:
    """A ``coprod-kg serve`` process in its own process group."""

    store: Path
    log: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "COPROD_QUERY_WORKERS": "1", "COPROD_PUBLIC_URL": self.url}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(COPROD), "serve", "--host", "127.0.0.1", "--port", str(self.port),
                 "--store", str(self.store)],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 120
        while True:
            if self.process.poll() is not None:
                raise RuntimeError("the server exited: " + self.log.read_text()[-3000:])
            try:
                if httpx.get(self.url + "/ready", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start: " + self.log.read_text()[-3000:])
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL the server and its query workers (its whole process group)."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None


@contextmanager
def running(server: Server) -> Iterator[Server]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Stream:
    """What the client thread sent and which writes the server acknowledged."""

    submitted: list[str] = field(default_factory=list)  #: 201 received
    accepted: list[str] = field(default_factory=list)  #: accept answered 200
    attempted: list[str] = field(default_factory=list)  #: every slug POSTed
    stop: threading.Event = field(default_factory=threading.Event)


def stream_writes(url: str, users: Users, prefix: str, state: Stream) -> None:
    """Submit records one after the other; accept every second one; stop at the first error."""
    with httpx.Client(base_url=url, timeout=60) as client:
        number = 0
        while not state.stop.is_set():
            slug = f"{prefix}-{number}"
            state.attempted.append(slug)
            try:
                response = client.post("/submissions", content=record(slug),
                                       headers=bearer(users.alice, **TURTLE))
                if response.status_code != 201:
                    raise AssertionError(f"{slug}: {response.status_code} {response.text}")
                state.submitted.append(slug)
                if number % 2 == 0:
                    answer = client.post(f"/submissions/{slug}/1/accept",
                                         headers=bearer(users.curator))
                    if answer.status_code == 200:
                        state.accepted.append(slug)
            except httpx.TransportError:
                return  # the server died: whatever was not acknowledged may be lost
            number += 1


def check_survivors(url: str, users: Users, state: Stream) -> None:
    with httpx.Client(base_url=url, timeout=60, headers=bearer(users.curator)) as client:
        for slug in state.attempted:
            history = client.get(f"/cases/{slug}/history")
            if slug not in state.submitted:
                assert history.status_code in (200, 404), history.text
                if history.status_code == 404:
                    continue
            assert history.status_code == 200, f"{slug} was acknowledged but is lost"
            versions = history.json()
            assert [v["number"] for v in versions] == [1]
            expected_status = {"published"} if slug in state.accepted else {"pending",
                                                                              "published"}
            assert versions[0]["status"] in expected_status
            body = client.get(f"/cases/{slug}/versions/1", headers={"Accept": "text/turtle"})
            assert body.status_code == 200
            assert as_graph(body.content).isomorphic(as_graph(record(slug))), \
                f"version 1 of {slug} is incomplete"
            assert versions[0]["triples"] == len(as_graph(record(slug)))
        for slug in state.accepted:
            answer = client.get("/sparql", params={
                "query": f"ASK {{ <https://w3id.org/coprod/case/{slug}> ?p ?o }}"},
                headers={"Accept": "application/sparql-results+json"})
            assert answer.json()["boolean"] is True, f"{slug} was published but is not public"


@pytest.mark.skipif(not COPROD.exists(), reason="the coprod-kg script is not installed")
def test_sigkill_loses_no_acknowledged_write(real_store: Path, tmp_path: Path) -> None:
    store = writable_store(real_store, tmp_path / "store")
    users = Users.make(store)
    server = Server(store, tmp_path / "server.log")
    rng = random.Random()
    states: list[Stream] = []
    for round_number in range(ROUNDS):
        state = Stream()
        states.append(state)
        server.start()
        try:
            writer = threading.Thread(target=stream_writes,
                                      args=(server.url, users, f"crash-{round_number}", state))
            writer.start()
            while len(state.submitted) < 3 and writer.is_alive():
                time.sleep(0.05)
            time.sleep(rng.uniform(0.0, 1.5))  # a random moment in the stream
            server.kill()
            state.stop.set()
            writer.join(120)
            assert not writer.is_alive()
        finally:
            server.stop()
        assert state.submitted, "nothing was acknowledged before the kill"
    with running(server):
        for state in states:
            check_survivors(server.url, users, state)
