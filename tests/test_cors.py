"""Cross-origin headers: :class:`api.cors.PublicCORS` writes what Starlette's middleware writes.

The lean path of :class:`~api.cors.PublicCORS` (simple requests under the site's policy) is
compared with :class:`starlette.middleware.cors.CORSMiddleware` configured the same way, over
requests with and without ``Origin``, preflights and answers that already carry ``Vary`` or
CORS headers; then once through the app.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from starlette.middleware.cors import CORSMiddleware

from api.cors import SITE_POLICY, PublicCORS

REQUESTS: list[tuple[str, list[tuple[bytes, bytes]]]] = [
    ("GET", []),
    ("GET", [(b"accept", b"text/turtle")]),
    ("GET", [(b"origin", b"https://example.org")]),
    ("GET", [(b"origin", b"null")]),
    ("GET", [(b"origin", b"")]),
    ("GET", [(b"origin", b"https://a.example"), (b"origin", b"https://b.example")]),
    ("POST", [(b"origin", b"https://example.org"), (b"content-type", b"text/plain")]),
    ("HEAD", [(b"origin", b"https://example.org")]),
    ("OPTIONS", [(b"origin", b"https://example.org")]),  # not a preflight: no request method
    ("OPTIONS", []),
    ("OPTIONS", [(b"access-control-request-method", b"GET")]),  # no origin: not a preflight
    ("OPTIONS", [(b"origin", b"https://example.org"),
                 (b"access-control-request-method", b"POST"),
                 (b"access-control-request-headers", b"authorization, content-type")]),
    ("OPTIONS", [(b"origin", b"https://example.org"),
                 (b"access-control-request-method", b"PATCH")]),  # refused by the policy
]
ANSWERS: list[list[tuple[bytes, bytes]]] = [
    [],
    [(b"content-type", b"text/plain")],
    [(b"vary", b"Accept")],
    [(b"vary", b"Accept, Authorization"), (b"etag", b'"x"')],
    [(b"vary", b"Accept"), (b"content-length", b"0"), (b"vary", b"Cookie")],
    [(b"vary", b"Origin")],
    [(b"access-control-allow-origin", b"https://other.example"), (b"vary", b"Accept")],
    [(b"access-control-expose-headers", b"X-Own"),
     (b"access-control-expose-headers", b"X-Other")],
]


def _messages(middleware: type[CORSMiddleware], method: str,
              request: list[tuple[bytes, bytes]], answer: list[tuple[bytes, bytes]]
              ) -> list[dict[str, Any]]:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": list(answer)})
        await send({"type": "http.response.body", "body": b"ok", "more_body": False})

    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(dict(message))

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "method": method, "path": "/sparql", "headers": list(request),
             "query_string": b""}
    asyncio.run(middleware(app, **SITE_POLICY)(scope, receive, send))
    return sent


@pytest.mark.parametrize(("request_", "answer"), list(itertools.product(REQUESTS, ANSWERS)))
def test_same_headers_as_starlette(request_: tuple[str, list[tuple[bytes, bytes]]],
                                   answer: list[tuple[bytes, bytes]]) -> None:
    method, headers = request_
    assert _messages(PublicCORS, method, headers, answer) == _messages(
        CORSMiddleware, method, headers, answer)


def test_the_lean_path_is_taken_and_other_policies_are_the_librarys() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("not called")

    assert PublicCORS(app, **SITE_POLICY).lean
    assert not PublicCORS(app, allow_origins=["https://example.org"]).lean
    assert not PublicCORS(app, allow_origins=["*"], allow_credentials=True).lean


def test_an_origin_gets_the_allow_headers_from_the_app(app_client: Any) -> None:
    client = app_client
    answer = client.get("/sparql", params={"query": "ASK {}"},
                        headers={"Origin": "https://example.org"})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "*"
    assert answer.headers["access-control-expose-headers"] == "ETag, Location"
    assert "Origin" in answer.headers["vary"]
    plain = client.get("/sparql", params={"query": "ASK {}"})
    assert "access-control-allow-origin" not in plain.headers
    assert "Origin" in plain.headers["vary"]
    preflight = client.options("/sparql", headers={"Origin": "https://example.org",
                                                   "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["access-control-allow-methods"]
