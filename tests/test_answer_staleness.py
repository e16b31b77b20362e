"""A new published state is never answered from an older one (both back ends).

Answers are cached and tagged by published state (``api/caching.py``): a submission that is
only pending changes nothing anonymous readers see, so their answers and tags stay; once a
curator accepts it, the next answer of the same request differs and so does its tag, and the
old tag no longer gets ``304``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from http_helpers import CASE_BASE, Users, bearer, client_for, submit, writable_store

from coprod_kg.config import Settings

SLUG = "staleness-probe"
QUERY = f"SELECT ?p ?o WHERE {{ <{CASE_BASE}{SLUG}> ?p ?o }} ORDER BY ?p ?o LIMIT 5"
JSON = "application/sparql-results+json"


class World:
    def __init__(self, client: TestClient, users: Users) -> None:
        self.client, self.users = client, users

    def sparql(self, **headers: str) -> Any:
        return self.client.get("/sparql", params={"query": QUERY},
                               headers={"Accept": JSON, **headers})

    def void(self, **headers: str) -> Any:
        return self.client.get("/.well-known/void", headers={"Accept": "text/turtle",
                                                              **headers})


@pytest.fixture(scope="module")
def world(real_store: Path, settings_for: object,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    store = writable_store(real_store, tmp_path_factory.mktemp("staleness") / "store")
    users = Users.make(store)
    settings: Settings = settings_for(store)  # type: ignore[operator]
    with client_for(settings) as client:
        yield World(client, users)


def test_an_accepted_submission_changes_the_next_answer_and_its_tag(world: World) -> None:
    before = world.sparql()
    assert before.status_code == 200, before.text
    assert before.json()["results"]["bindings"] == []
    tag = before.headers["etag"]
    void = world.void()
    assert void.status_code == 200
    void_tag = void.headers["etag"]
    assert world.sparql(**{"If-None-Match": tag}).status_code == 304

    assert submit(world.client, world.users.alice, SLUG).status_code == 201
    pending = world.sparql()  # pending: nothing public changed
    assert pending.headers["etag"] == tag
    assert pending.json()["results"]["bindings"] == []

    accepted = world.client.post(f"/submissions/{SLUG}/1/accept",
                                 headers=bearer(world.users.curator))
    assert accepted.status_code == 200, accepted.text

    after = world.sparql()
    assert after.status_code == 200
    assert after.json()["results"]["bindings"] != []
    assert after.headers["etag"] != tag
    assert world.sparql(**{"If-None-Match": tag}).status_code == 200
    new_tag = after.headers["etag"]
    assert world.sparql(**{"If-None-Match": new_tag}).status_code == 304
    void_after = world.void()
    assert void_after.headers["etag"] != void_tag
    assert void_after.content != void.content
    page = world.client.get(f"/case/{SLUG}", headers={"Accept": "text/turtle"})
    assert page.status_code == 200 and SLUG.encode() in page.content


def test_a_post_query_is_not_answered_from_an_older_state(world: World) -> None:
    slug = "staleness-post"
    query = f"ASK {{ <{CASE_BASE}{slug}> ?p ?o }}"

    def ask() -> bool:
        answer = world.client.post("/sparql", data={"query": query}, headers={"Accept": JSON})
        assert answer.status_code == 200, answer.text
        return bool(answer.json()["boolean"])
    assert not ask() and not ask()  # the second from the cache
    assert submit(world.client, world.users.alice, slug).status_code == 201
    assert world.client.post(f"/submissions/{slug}/1/accept",
                             headers=bearer(world.users.curator)).status_code == 200
    assert ask()
