"""Property-based tests from the API's own OpenAPI schema: no request may cause a 5xx.

A live server (127.0.0.1, a private copy of the store) is called with requests Schemathesis
generates from ``/openapi.json``, with a curator's token so the review routes are exercised past
authentication. The number of examples per operation is bounded (a few minutes at most).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from conftest import LiveServer
from http_helpers import Users, bearer, writable_store
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from coprod_kg.config import Settings

MAX_EXAMPLES = 25


@pytest.fixture(scope="module")
def server(real_store: Path, settings_for: Any,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Users]]:
    store = writable_store(real_store, tmp_path_factory.mktemp("schemathesis") / "store")
    users = Users.make(store)
    app_settings: Settings = settings_for(store, max_request_bytes=65_536)
    with LiveServer(app_settings) as live:
        yield live, users


@pytest.fixture(scope="module")
def api_schema(server: tuple[LiveServer, Users]) -> Any:
    live, _ = server
    return schemathesis.openapi.from_url(live.url + "/openapi.json")


def test_no_request_causes_a_server_error(api_schema: Any,
                                         server: tuple[LiveServer, Users]) -> None:
    """Every operation, ``MAX_EXAMPLES`` generated requests each (schemathesis' pytest plugin
    does not run under pytest 9 yet, so Hypothesis drives the operations' strategies here)."""
    live, users = server
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert operations
    failures: dict[str, str] = {}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            case.call_and_validate(base_url=live.url, headers=bearer(users.curator),
                                   checks=[not_a_server_error])

        try:
            run()
        except (AssertionError, BaseExceptionGroup) as exc:  # schemathesis' failures
            failures[operation.label] = str(exc)[:2000]
    assert not failures, "\n\n".join(f"{k}: {v}" for k, v in failures.items())


def test_the_schema_lists_every_curation_route(api_schema: Any,
                                               server: tuple[LiveServer, Users]) -> None:
    live, _ = server
    paths = live.get("/openapi.json").json()["paths"]
    expected = {"/validate", "/submissions", "/submissions/{slug}/{number}",
                "/submissions/{slug}/{number}/accept", "/submissions/{slug}/{number}/reject",
                "/cases/{slug}", "/cases/{slug}/history", "/cases/{slug}/versions/{number}"}
    assert expected <= set(paths)
    assert {"get", "put", "delete"} <= set(paths["/cases/{slug}"])
