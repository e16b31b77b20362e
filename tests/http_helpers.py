"""Helpers of the HTTP curation tests (API side): records, a writable store, tokens, clients."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from rdflib import Graph

from api.app import create_app
from coprod_kg.config import Settings
from coprod_kg.curation.accounts import Accounts, Role

DATA = Path(__file__).parent / "data"
VALID = DATA / "valid" / "parent-cooperative-preschool.ttl"
INVALID = DATA / "invalid"
CASE_BASE = "https://w3id.org/coprod/case/"
_SLUG = "test-parent-cooperative-preschools"
_ORG = "test-preschool-cooperative"
_TITLE = "Parent cooperative preschools (test record)"
TURTLE = {"Content-Type": "text/turtle"}


def record(slug: str, title: str = _TITLE) -> bytes:
    """A valid case record for ``slug`` (its organisation is named after it as well)."""
    text = VALID.read_text(encoding="utf-8")
    text = text.replace(_SLUG, slug).replace(_ORG, f"{slug}-org").replace(_TITLE, title)
    return text.encode("utf-8")


def invalid_record(slug: str) -> bytes:
    """A record for ``slug`` breaking a violation rule (no title)."""
    lines = record(slug).decode("utf-8").splitlines()
    return "\n".join(line for line in lines if "dcterms:title" not in line).encode("utf-8")


def as_graph(data: bytes, fmt: str = "turtle") -> Graph:
    """Parse RDF bytes into a graph."""
    graph = Graph()
    graph.parse(data=data, format=fmt)
    return graph


def writable_store(source: Path, target: Path) -> Path:
    """A private copy of a loaded store directory, for tests that write."""
    shutil.copytree(source, target)
    return target


@dataclass
class Users:
    """Tokens of two contributors (alice, bob) and one curator (carol)."""

    alice: str
    bob: str
    curator: str

    @staticmethod
    def make(store: Path) -> Users:
        accounts = Accounts(store)
        return Users(accounts.add("alice", Role.CONTRIBUTOR),
                     accounts.add("bob", Role.CONTRIBUTOR),
                     accounts.add("carol", Role.CURATOR))


def bearer(token: str, **extra: str) -> dict[str, str]:
    """Headers with ``Authorization: Bearer token`` (plus ``extra``)."""
    return {"Authorization": f"Bearer {token}", **extra}


@contextmanager
def client_for(settings: Settings) -> Iterator[TestClient]:
    """A client of a fresh app over ``settings`` (lifespan running)."""
    with TestClient(create_app(settings)) as client:
        yield client


def submit(client: TestClient, token: str, slug: str, **kwargs: Any) -> Any:
    """POST a valid record for ``slug`` as the owner of ``token``; returns the response."""
    return client.post("/submissions", content=record(slug, **kwargs),
                       headers=bearer(token, **TURTLE))


def ask(client: TestClient, query: str) -> bool:
    """Run an ASK query through /sparql."""
    response = client.get("/sparql", params={"query": query},
                          headers={"Accept": "application/sparql-results+json"})
    if response.status_code == 400 and "not public" in response.text:
        return False  # the gate refuses a graph that is not public: not visible
    assert response.status_code == 200, response.text
    return bool(response.json()["boolean"])


def mentions(client: TestClient, slug: str) -> bool:
    """Whether anything about the case ``slug`` is visible through /sparql."""
    iri = f"<{CASE_BASE}{slug}>"
    return ask(client, f"ASK {{ {{ {iri} ?p ?o }} UNION {{ GRAPH ?g {{ {iri} ?p ?o }} }} }}")
