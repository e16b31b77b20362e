"""End to end, as a user runs it: ``coprod-kg load`` from the command line, then the server.

In the remote run (``make pytest-remote``) this is ``COPROD_BACKEND=remote coprod-kg load``
against the run's server (Oxigraph, Virtuoso); in the embedded run the same steps on the
embedded store. The server must answer, a case page render, a dump list exactly the public
graphs, a submission followed by an accept show up in the next query, and no query may learn
anything about a graph that is not public (the dataset gate).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from backends import backend_env, manifest_of, settings_of
from fastapi.testclient import TestClient
from http_helpers import TURTLE, Users, bearer, client_for, record

from coprod_kg.config import PROJECT_ROOT

COPROD = Path(sys.executable).with_name("coprod-kg")
CASE = "https://w3id.org/coprod/case/"
GRAPH = "https://w3id.org/coprod/graph/"
#: Graphs no query may learn about: private ones, and one that does not exist.
HIDDEN = [GRAPH + "curation", GRAPH + "manifest", GRAPH + "submission/nothing-here",
          GRAPH + "case/e2e-pending/v1"]


@dataclass
class Loaded:
    client: TestClient
    users: Users
    store: Path


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    store = tmp_path_factory.mktemp("e2e") / "store"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("COPROD_")},
           "COPROD_STORE": str(store), **backend_env(store),
           "COPROD_ONTOLOGY_DIR": str(PROJECT_ROOT / "ontology"),
           "COPROD_DATA_DIR": str(PROJECT_ROOT / "data")}
    command = [str(COPROD)] if COPROD.is_file() else [sys.executable, "-m", "coprod_kg"]
    done = subprocess.run([*command, "load"], env=env, capture_output=True, text=True,
                          timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    users = Users.make(store)
    with client_for(settings_of(store)) as client:
        yield Loaded(client, users, store)


def _ask(client: TestClient, query: str) -> bool | None:
    """The boolean of an ASK through /sparql, or None when the gate refused it (4xx)."""
    response = client.get("/sparql", params={"query": query},
                          headers={"Accept": "application/sparql-results+json"})
    if 400 <= response.status_code < 500:
        return None
    assert response.status_code == 200, response.text
    return bool(response.json()["boolean"])


def test_the_server_answers_over_the_loaded_cases(loaded: Loaded) -> None:
    assert loaded.client.get("/ready").status_code == 200
    assert _ask(loaded.client, f"ASK {{ <{CASE}fixmystreet> ?p ?o }}") is True


def test_a_case_page_renders(loaded: Loaded) -> None:
    response = loaded.client.get("/case/fixmystreet", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "FixMyStreet" in response.text


def test_the_dump_lists_exactly_the_public_graphs(loaded: Loaded) -> None:
    manifest = manifest_of(loaded.store)
    assert manifest is not None
    response = loaded.client.get("/dumps/coprod.nq")
    assert response.status_code == 200
    graphs = {line.rsplit(b" ", 2)[-2].decode()[1:-1]
              for line in response.content.splitlines() if line.strip()}
    public = {g for g in manifest.public_graphs()
              if manifest.graphs[g].triples}  # an empty graph has no line in a dump
    assert graphs == public
    assert not any(g.startswith(GRAPH + "staging/") for g in graphs)


def test_a_submission_then_an_accept_shows_in_the_next_query(loaded: Loaded) -> None:
    slug = "e2e-accepted"
    created = loaded.client.post("/submissions", content=record(slug),
                                 headers=bearer(loaded.users.alice, **TURTLE))
    assert created.status_code == 201, created.text
    assert _ask(loaded.client, f"ASK {{ <{CASE}{slug}> ?p ?o }}") is False  # pending
    accepted = loaded.client.post(f"/submissions/{slug}/1/accept",
                                  headers=bearer(loaded.users.curator))
    assert accepted.status_code == 200, accepted.text
    assert _ask(loaded.client, f"ASK {{ <{CASE}{slug}> ?p ?o }}") is True
    prov = (f"ASK {{ GRAPH <{GRAPH}provenance> {{ <{GRAPH}case/{slug}/v1> "
            f"<http://www.w3.org/ns/prov#qualifiedAttribution> ?a . ?a "
            f"<http://www.w3.org/ns/prov#agent> ?agent }} }}")
    assert _ask(loaded.client, prov) is True


@pytest.mark.parametrize("graph", HIDDEN)
@pytest.mark.parametrize("shape", [
    "ASK {{ GRAPH <{g}> {{ ?s ?p ?o }} }}",
    "ASK {{ GRAPH <{g}> {{ }} }}",
    "ASK {{ VALUES ?g {{ <{g}> }} GRAPH ?g {{ ?s ?p ?o }} }}",
    "ASK {{ BIND(<{g}> AS ?g) GRAPH ?g {{ ?s ?p ?o }} }}",
    "ASK {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(?g = <{g}>) }}",
    "ASK FROM NAMED <{g}> {{ GRAPH <{g}> {{ ?s ?p ?o }} }}",
    "ASK FROM <{g}> {{ ?s ?p ?o }}",
])
def test_a_graph_that_is_not_public_is_refused_or_empty(loaded: Loaded, shape: str,
                                                        graph: str) -> None:
    """The dataset gate: whatever the server makes of a graph outside the dataset (Virtuoso
    answers true for ``GRAPH <g>`` outside ``named-graph-uri``), the answer is a refusal or
    false."""
    if graph.endswith("e2e-pending/v1"):
        created = loaded.client.post("/submissions", content=record("e2e-pending"),
                                     headers=bearer(loaded.users.alice, **TURTLE))
        assert created.status_code in (201, 409), created.text
    assert _ask(loaded.client, shape.format(g=graph)) in (None, False)
