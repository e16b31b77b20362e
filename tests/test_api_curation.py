"""The curation workflow over HTTP: submit, review, accept/reject, PUT/DELETE with If-Match,
history and versions; unpublished data never shows through /sparql, dumps or dereferencing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from http_helpers import (
    CASE_BASE,
    TURTLE,
    Users,
    as_graph,
    ask,
    bearer,
    client_for,
    invalid_record,
    mentions,
    record,
    submit,
    writable_store,
)

from coprod_kg.config import Settings
from coprod_kg.curation.audit import AuditLog


class World:
    """A client over a private store, with its accounts."""

    def __init__(self, client: TestClient, users: Users, store: Path) -> None:
        self.client = client
        self.users = users
        self.store = store

    def accept(self, slug: str, number: int) -> dict[str, object]:
        response = self.client.post(f"/submissions/{slug}/{number}/accept",
                                    headers=bearer(self.users.curator))
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body

    def etag(self, slug: str) -> str:
        response = self.client.get(f"/cases/{slug}", headers=bearer(self.users.curator))
        assert response.status_code == 200, response.text
        return response.headers["etag"]

    def published(self, slug: str) -> None:
        assert submit(self.client, self.users.alice, slug).status_code == 201
        self.accept(slug, 1)


@pytest.fixture(scope="module")
def world(real_store: Path, settings_for: object,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    store = writable_store(real_store, tmp_path_factory.mktemp("curation-api") / "store")
    users = Users.make(store)
    settings: Settings = settings_for(store)  # type: ignore[operator]
    with client_for(settings) as client:
        yield World(client, users, store)


def dereferences(client: TestClient, slug: str) -> bool:
    response = client.get(f"/case/{slug}", headers={"Accept": "text/turtle"})
    assert response.status_code in (200, 404, 410), response.text
    return response.status_code == 200 and slug.encode() in response.content


def in_dump(client: TestClient, slug: str) -> bool:
    """Whether the dump describes the case or holds one of its version graphs (public
    provenance may still name a withdrawn case as an object: its history stays public)."""
    response = client.get("/dumps/coprod.nq")
    assert response.status_code == 200
    lines = response.content.splitlines()
    assert lines
    subject = f"<{CASE_BASE}{slug}>".encode()
    graph = f"<https://w3id.org/coprod/graph/case/{slug}/v".encode()
    return any(line.startswith(subject) or graph in line.rsplit(b" ", 2)[-2]
               for line in lines if line.strip())


def test_a_submission_is_201_pending_with_its_location(world: World) -> None:
    response = submit(world.client, world.users.alice, "api-new-case")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["case"] == CASE_BASE + "api-new-case"
    assert body["status"] == "pending"
    assert body["number"] == 1
    assert response.headers["location"] == "/submissions/api-new-case/1"
    assert response.headers["etag"] == body["etag"]
    assert world.client.get(response.headers["location"],
                            headers=bearer(world.users.alice)).status_code == 200


def test_pending_data_is_invisible_everywhere(world: World) -> None:
    assert submit(world.client, world.users.alice, "api-hidden").status_code == 201
    assert not mentions(world.client, "api-hidden")
    assert not ask(world.client, "ASK { GRAPH <https://w3id.org/coprod/graph/case/api-hidden/v1>"
                                 " { ?s ?p ?o } }")
    assert not in_dump(world.client, "api-hidden")
    assert not dereferences(world.client, "api-hidden")
    assert world.client.get("/cases/api-hidden/history").status_code == 404
    assert world.client.get("/cases/api-hidden/versions/1").status_code == 404
    assert world.client.get("/submissions/api-hidden/1",
                            headers=bearer(world.users.bob)).status_code == 404


def test_an_invalid_submission_is_422_with_the_report_and_nothing_stored(world: World) -> None:
    response = world.client.post("/submissions", content=invalid_record("api-invalid"),
                                 headers=bearer(world.users.alice, **TURTLE))
    assert response.status_code == 422
    body = response.json()
    assert body["report"]["conforms"] is False
    assert any(f["path"] == "http://purl.org/dc/terms/title" for f in body["report"]["findings"])
    assert world.client.get("/cases/api-invalid/history",
                            headers=bearer(world.users.curator)).status_code == 404
    pending = world.client.get("/submissions", headers=bearer(world.users.curator)).json()
    assert all(v["slug"] != "api-invalid" for v in pending)


@pytest.mark.parametrize(("body", "words"), [
    (b"", "empty"),
    (b"[] a <https://w3id.org/coprod/ontology/CoProductionCase> .", "blank node"),
    (record("api-outside").replace(b"https://w3id.org/coprod/case/",
                                   b"https://example.org/case/"), "outside"),
    (record("api-thief") + b"\n<https://w3id.org/coprod/case/fixmystreet> "
     b"<http://purl.org/dc/terms/title> \"Stolen\"@en .\n", "another case"),
])
def test_identity_problems_are_422_in_plain_words(world: World, body: bytes,
                                                  words: str) -> None:
    response = world.client.post("/submissions", content=body,
                                 headers=bearer(world.users.alice, **TURTLE))
    assert response.status_code == 422, response.text
    assert words in response.json()["message"]


def test_posting_an_existing_case_is_409_for_those_who_see_it(world: World) -> None:
    assert submit(world.client, world.users.alice, "api-twice").status_code == 201
    for token in (world.users.alice, world.users.curator):
        response = submit(world.client, token, "api-twice")
        assert response.status_code == 409
        assert "PUT" in response.json()["message"]
    # Another contributor cannot see alice's pending case: it answers as a new case would
    # (only the version number shows that the case has other versions).
    other = submit(world.client, world.users.bob, "api-twice")
    assert other.status_code == 201, other.text
    assert other.json()["status"] == "pending" and other.json()["number"] == 2


def test_malformed_and_unsupported_submissions(world: World) -> None:
    headers = bearer(world.users.alice)
    bad = world.client.post("/submissions", content=b"<a> <b> .",
                            headers={**headers, **TURTLE})
    assert bad.status_code == 400
    assert bad.json()["line"] == 1
    wrong = world.client.post("/submissions", content=b"%PDF",
                              headers={**headers, "Content-Type": "application/pdf"})
    assert wrong.status_code == 415


def test_curators_review_a_diff_then_accept(world: World) -> None:
    assert submit(world.client, world.users.alice, "api-review").status_code == 201
    listed = world.client.get("/submissions", headers=bearer(world.users.curator))
    assert listed.status_code == 200
    assert any(v["slug"] == "api-review" and v["number"] == 1 for v in listed.json())
    review = world.client.get("/submissions/api-review/1", headers=bearer(world.users.curator))
    assert review.status_code == 200
    diff = review.json()["diff"]
    assert diff["base"] is None and diff["added"] and not diff["removed"]
    page = world.client.get("/submissions/api-review/1",
                            headers=bearer(world.users.curator, Accept="text/html"))
    assert page.status_code == 200 and "api-review" in page.text
    accepted = world.accept("api-review", 1)
    assert accepted["status"] == "published"
    assert mentions(world.client, "api-review")
    assert in_dump(world.client, "api-review")
    assert dereferences(world.client, "api-review")
    assert ask(world.client, "PREFIX prov: <http://www.w3.org/ns/prov#> ASK { "
                             "<https://w3id.org/coprod/graph/case/api-review/v1> "
                             "prov:wasAttributedTo ?who ; prov:generatedAtTime ?when }")
    assert world.client.post("/submissions/api-review/1/accept",
                             headers=bearer(world.users.curator)).status_code == 409


def test_a_rejection_reason_is_readable_by_the_contributor_only(world: World) -> None:
    assert submit(world.client, world.users.alice, "api-rejected").status_code == 201
    missing = world.client.post("/submissions/api-rejected/1/reject", json={},
                                headers=bearer(world.users.curator))
    assert missing.status_code == 422
    response = world.client.post("/submissions/api-rejected/1/reject",
                                 json={"reason": "the source does not support the coding"},
                                 headers=bearer(world.users.curator))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "rejected"
    history = world.client.get("/cases/api-rejected/history", headers=bearer(world.users.alice))
    assert history.status_code == 200
    assert history.json()[0]["reason"] == "the source does not support the coding"
    assert world.client.get("/cases/api-rejected/history").status_code == 404
    assert world.client.get("/cases/api-rejected/history",
                            headers=bearer(world.users.bob)).status_code == 404
    assert not mentions(world.client, "api-rejected")
    assert not in_dump(world.client, "api-rejected")


def test_put_needs_if_match_and_refuses_a_stale_one(world: World) -> None:
    world.published("api-put")
    new = record("api-put", title="Parent cooperative preschools, revised")
    headers = bearer(world.users.alice, **TURTLE)
    assert world.client.put("/cases/api-put", content=new, headers=headers).status_code == 428
    tag = world.etag("api-put")
    stale = world.client.put("/cases/api-put", content=new,
                             headers={**headers, "If-Match": '"v0-stale"'})
    assert stale.status_code == 412
    ok = world.client.put("/cases/api-put", content=new, headers={**headers, "If-Match": tag})
    assert ok.status_code == 200, ok.text
    assert ok.json()["number"] == 2 and ok.json()["status"] == "pending"
    assert ok.headers["etag"] != tag
    again = world.client.put("/cases/api-put", content=new, headers={**headers, "If-Match": tag})
    assert again.status_code == 412
    review = world.client.get("/submissions/api-put/2", headers=bearer(world.users.curator))
    diff = review.json()["diff"]
    assert diff["base"] == 1 and diff["added"] and diff["removed"]
    world.accept("api-put", 2)
    statuses = [v["status"] for v in world.client.get("/cases/api-put/history").json()]
    assert statuses == ["superseded", "published"]
    assert ask(world.client, "ASK { <https://w3id.org/coprod/case/api-put> "
                             "<http://purl.org/dc/terms/title> "
                             "\"Parent cooperative preschools, revised\"@en }")
    assert not ask(world.client, "ASK { <https://w3id.org/coprod/case/api-put> "
                                 "<http://purl.org/dc/terms/title> "
                                 "\"Parent cooperative preschools (test record)\"@en }")


def test_earlier_versions_can_be_read_in_several_formats(world: World) -> None:
    world.published("api-versions")
    first = world.client.get("/cases/api-versions/versions/1", headers={"Accept": "text/turtle"})
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/turtle")
    assert as_graph(first.content).isomorphic(as_graph(record("api-versions")))
    nt = world.client.get("/cases/api-versions/versions/1?format=nt")
    assert as_graph(nt.content, "nt").isomorphic(as_graph(record("api-versions")))
    assert world.client.get("/cases/api-versions/versions/7").status_code == 404


def test_put_of_an_unknown_case_is_404(world: World) -> None:
    response = world.client.put("/cases/api-nobody", content=record("api-nobody"),
                                headers=bearer(world.users.alice, **TURTLE,
                                               **{"If-Match": '"x"'}))
    assert response.status_code == 404


def test_concurrent_edits_cannot_both_win(world: World) -> None:
    """Two edits from the same ETag by one contributor (who sees both): one gets 412. Two
    contributors would both succeed: neither sees the other's pending version."""
    world.published("api-race")
    tag = world.etag("api-race")
    statuses: list[int] = []

    def edit(token: str, title: str) -> None:
        response = world.client.put("/cases/api-race", content=record("api-race", title=title),
                                    headers=bearer(token, **TURTLE, **{"If-Match": tag}))
        statuses.append(response.status_code)

    threads = [threading.Thread(target=edit, args=(world.users.alice, "Edit by alice")),
               threading.Thread(target=edit, args=(world.users.alice, "Another by alice"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 412]


def test_delete_withdraws_but_keeps_the_history(world: World) -> None:
    world.published("api-withdrawn")
    curator = bearer(world.users.curator)
    assert world.client.delete("/cases/api-withdrawn", headers=curator).status_code == 428
    assert world.client.delete("/cases/api-withdrawn",
                               headers={**curator, "If-Match": '"stale"'}).status_code == 412
    tag = world.etag("api-withdrawn")
    response = world.client.delete("/cases/api-withdrawn", headers={**curator, "If-Match": tag})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "withdrawn"
    assert not mentions(world.client, "api-withdrawn")
    assert not in_dump(world.client, "api-withdrawn")
    assert not dereferences(world.client, "api-withdrawn")
    history = world.client.get("/cases/api-withdrawn/history", headers=curator)
    assert history.status_code == 200
    assert [v["status"] for v in history.json()] == ["withdrawn"]


def test_every_write_is_in_the_audit_log(world: World) -> None:
    assert submit(world.client, world.users.bob, "api-audited").status_code == 201
    world.accept("api-audited", 1)
    entries = [e for e in AuditLog(world.store).entries() if "api-audited" in e.target]
    assert [(e.user, e.action) for e in entries][-2:] == [("bob", "submit"), ("carol", "accept")]


def test_get_case_gives_its_etag(world: World) -> None:
    world.published("api-etag")
    response = world.client.get("/cases/api-etag")
    assert response.status_code == 200
    assert response.headers["etag"] == response.json()["etag"]
    assert response.json()["published"] == 1
    assert world.client.get("/cases/api-none").status_code == 404


def test_put_is_validated_like_a_submission(world: World) -> None:
    world.published("api-put-checked")
    tag = world.etag("api-put-checked")
    headers = bearer(world.users.alice, **TURTLE, **{"If-Match": tag})
    invalid = world.client.put("/cases/api-put-checked", content=invalid_record("api-put-checked"),
                               headers=headers)
    assert invalid.status_code == 422
    assert invalid.json()["report"]["conforms"] is False
    other = world.client.put("/cases/api-put-checked", content=record("api-put-other"),
                             headers=headers)
    assert other.status_code == 422
    assert world.etag("api-put-checked") == tag
    assert [v["number"] for v in world.client.get("/cases/api-put-checked/history").json()] \
        == [1]


def test_a_withdrawn_case_is_410_with_a_tombstone_except_for_curators(world: World) -> None:
    world.published("api-gone")
    tag = world.etag("api-gone")
    curator = bearer(world.users.curator)
    response = world.client.delete("/cases/api-gone", params={"reason": "the source retracted"},
                                   headers={**curator, "If-Match": tag})
    assert response.status_code == 200, response.text
    paths = ["/cases/api-gone", "/cases/api-gone/history", "/cases/api-gone/versions/1",
             "/cases/api-gone/versions/9", "/submissions/api-gone/1"]
    for headers in ({}, bearer(world.users.alice), bearer(world.users.bob)):
        for path in paths:
            gone = world.client.get(path, headers=headers)
            assert gone.status_code == 410, (path, gone.text)
            stone = gone.json()["tombstone"]
            assert stone["case"] == CASE_BASE + "api-gone"
            assert stone["title"] == "Parent cooperative preschools (test record)"
            assert stone["reason"] == "the source retracted" and stone["withdrawn"]
        for accept in ("text/turtle", "text/html"):
            page = world.client.get("/case/api-gone", headers={**headers, "Accept": accept})
            assert page.status_code == 410
            assert "the source retracted" in page.text and "withdrawn" in page.text
    for path in paths[:4:]:
        if path.endswith("/9"):
            continue
        assert world.client.get(path, headers=curator).status_code == 200, path
    content = world.client.get("/cases/api-gone/versions/1?format=nt", headers=curator)
    assert as_graph(content.content, "nt").isomorphic(as_graph(record("api-gone")))
    # a new published version brings the case back; what was withdrawn stays gone
    again = world.client.put("/cases/api-gone", params={"publish": "true"},
                             content=record("api-gone", title="Back again"),
                             headers={**curator, **TURTLE, "If-Match": world.etag("api-gone")})
    assert again.status_code == 200, again.text
    assert world.client.get("/cases/api-gone").json()["published"] == 2
    assert [v["number"] for v in world.client.get("/cases/api-gone/history").json()] == [2]
    assert world.client.get("/cases/api-gone/versions/1").status_code == 410
    assert world.client.get("/cases/api-gone/versions/2").status_code == 200
    assert world.client.get("/case/api-gone", headers={"Accept": "text/turtle"}).status_code \
        == 200


def _unknown_answers(world: World, slug: str, token: str, tag: str) -> list[tuple[int, str]]:
    """Status and body of every probe a contributor can make about ``slug``."""
    headers = bearer(token, **TURTLE)
    probes = [
        world.client.get(f"/cases/{slug}", headers=bearer(token)),
        world.client.get(f"/cases/{slug}/history", headers=bearer(token)),
        world.client.get(f"/cases/{slug}/versions/1", headers=bearer(token)),
        world.client.get(f"/submissions/{slug}/1", headers=bearer(token)),
        world.client.put(f"/cases/{slug}", content=record(slug),
                         headers={**headers, "If-Match": tag}),
        world.client.put(f"/cases/{slug}", content=record(slug),
                         headers={**headers, "If-Match": '"v1-stale"'}),
        world.client.put(f"/cases/{slug}", content=record(slug),
                         headers={**headers, "If-Match": "*"}),
    ]
    return [(p.status_code, p.text.replace(slug, "SLUG")) for p in probes]


def test_a_contributor_cannot_tell_anothers_pending_case_from_an_unknown_one(
        world: World) -> None:
    created = submit(world.client, world.users.alice, "api-alices")
    assert created.status_code == 201
    tag = created.headers["etag"]
    seen = _unknown_answers(world, "api-alices", world.users.bob, tag)
    assert seen == _unknown_answers(world, "api-nobodys", world.users.bob, tag)
    assert {status for status, _ in seen} == {404}
    assert tag not in str(seen)
    history = world.client.get("/cases/api-alices/history", headers=bearer(world.users.curator))
    assert [v["number"] for v in history.json()] == [1]  # nothing was added to alice's case


def test_a_contributor_sees_the_published_etag_not_anothers_pending_one(world: World) -> None:
    world.published("api-theirs")
    published = world.etag("api-theirs")
    revised = record("api-theirs", title="Alice's revision")
    mine = world.client.put("/cases/api-theirs", content=revised,
                            headers=bearer(world.users.alice, **TURTLE, **{"If-Match": published}))
    assert mine.status_code == 200
    for headers in ({}, bearer(world.users.bob)):
        state = world.client.get("/cases/api-theirs", headers=headers)
        assert state.headers["etag"] == published and state.json()["latest"]["number"] == 1
        assert mine.headers["etag"] not in state.text
    stale = world.client.put("/cases/api-theirs", content=record("api-theirs", title="Bob's"),
                             headers=bearer(world.users.bob, **TURTLE,
                                            **{"If-Match": '"v9-stale"'}))
    assert stale.status_code == 412
    message = stale.json()["message"]
    assert mine.headers["etag"] not in message and published in message
    assert world.client.get("/cases/api-theirs", headers=bearer(world.users.alice)).headers[
        "etag"] == mine.headers["etag"]
