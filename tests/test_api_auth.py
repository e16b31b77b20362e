"""Bearer tokens over HTTP: 401 (with ``WWW-Authenticate: Bearer``) without a valid token, 403
for the wrong role, and the OpenAPI schema declares the scheme."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from http_helpers import TURTLE, Users, bearer, client_for, record, submit, writable_store

from coprod_kg.config import Settings
from coprod_kg.curation.accounts import Accounts, Role


@pytest.fixture(scope="module")
def setup(real_store: Path, settings_for: object,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Users, Path]]:
    store = writable_store(real_store, tmp_path_factory.mktemp("auth-api") / "store")
    users = Users.make(store)
    settings: Settings = settings_for(store)  # type: ignore[operator]
    with client_for(settings) as client:
        yield client, users, store


#: (method, path) of every route that needs an account.
WRITES = [("post", "/submissions"), ("put", "/cases/fixmystreet"),
          ("delete", "/cases/fixmystreet"), ("get", "/submissions"),
          ("post", "/submissions/fixmystreet/1/accept"),
          ("post", "/submissions/fixmystreet/1/reject")]


def _call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> int:
    kwargs: dict[str, object] = {"headers": {**headers, **TURTLE}}
    if method in ("post", "put"):
        kwargs["content"] = record("fixmystreet")
    if path.endswith("/reject"):
        kwargs = {"headers": headers, "json": {"reason": "no"}}
    response = getattr(client, method)(path, **kwargs)
    if response.status_code == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
    status: int = response.status_code
    return status


@pytest.mark.parametrize(("method", "path"), WRITES)
@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic YWxpY2U6eA=="},
    {"Authorization": "Bearer"}], ids=["none", "unknown", "basic", "empty"])
def test_without_a_valid_token_it_is_401(setup: tuple[TestClient, Users, Path], method: str,
                                         path: str, headers: dict[str, str]) -> None:
    client, _, _ = setup
    assert _call(client, method, path, headers) == 401


@pytest.mark.parametrize(("method", "path"), WRITES[2:])
def test_contributors_cannot_review_or_withdraw(setup: tuple[TestClient, Users, Path],
                                                method: str, path: str) -> None:
    client, users, _ = setup
    assert _call(client, method, path, bearer(users.alice)) == 403


def test_a_revoked_token_is_401(setup: tuple[TestClient, Users, Path]) -> None:
    client, _, store = setup
    accounts = Accounts(store)
    token = accounts.add("dave", Role.CONTRIBUTOR)
    assert submit(client, token, "auth-before-revoke").status_code == 201
    accounts.revoke("dave")
    assert submit(client, token, "auth-after-revoke").status_code == 401


def test_a_curator_may_review(setup: tuple[TestClient, Users, Path]) -> None:
    client, users, _ = setup
    assert client.get("/submissions", headers=bearer(users.curator)).status_code == 200
    assert client.get("/submissions", headers=bearer(users.alice)).status_code == 403


def test_reading_needs_no_account(setup: tuple[TestClient, Users, Path]) -> None:
    client, _, _ = setup
    assert client.get("/cases/fixmystreet/history").status_code in (200, 404)
    assert client.post("/validate", content=record("auth-free"), headers=TURTLE).status_code \
        == 200


def test_the_schema_declares_bearer_auth(setup: tuple[TestClient, Users, Path]) -> None:
    client, _, _ = setup
    schema = client.get("/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert any(s.get("scheme", "").lower() == "bearer" for s in schemes.values())
    post = schema["paths"]["/submissions"]["post"]
    assert post.get("security")
    assert {"201", "401", "403", "409", "413", "415", "422"} <= set(post["responses"])
