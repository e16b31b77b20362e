"""The processes of ``coprod-kg serve --workers N`` on the embedded back end, seen from the app.

The embedded store has one writer. One process of the group (the writer process) holds it; the
others (reader processes) answer queries, documents and pages from the published snapshot, and
hand what needs the writer to the writer process over a private Unix socket:

- every route of the curation API is forwarded as it arrives (:class:`WriterForwarding`);
- any other GET or HEAD whose handler turns out to need the writer (a withdrawn case's page reads
  its tombstone from the curation graph: :class:`~coprod_kg.errors.WriterElsewhere`, marked on
  the request by ``api.errors``) is answered again by the writer process, in place of the
  reader's 503.

The writer process takes the client address of a forwarded request from ``X-Coprod-Peer`` only
when it came over that socket with the group's secret in ``X-Coprod-Reader``
(:class:`ReaderPeers`), so that budgets and proxies (``COPROD_TRUSTED_PROXIES``) see the real
client. Both headers are removed from every request before the app sees it, wherever it came
from: a client cannot vouch for itself.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Sequence

import anyio
import httpx
from starlette.requests import ClientDisconnect, Request
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from coprod_kg.errors import CoprodError, PayloadTooLarge, SlowRequest, WriterUnreachable

from .errors import error_response
from .upload import read_body

log = logging.getLogger(__name__)

Headers = list[tuple[bytes, bytes]]
#: The private headers between the processes of one group.
READER, PEER = b"x-coprod-reader", b"x-coprod-peer"
#: Headers of one connection, never passed on (RFC 9110 section 7.6.1; with those that
#: ``Connection`` names), and the private ones.
HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-authenticate",
                        b"proxy-authorization", b"proxy-connection", b"te", b"trailer",
                        b"transfer-encoding", b"upgrade", READER, PEER})
#: Set again for what is passed on: the body's length (the reader sends it whole), and the
#: answer's date and server (the reader's server adds its own).
REQUEST_OWN, RESPONSE_OWN = frozenset({b"content-length"}), frozenset({b"date", b"server"})
#: A forwarded request's body is read whole by the reader first (within the server's size
#: limit and this many seconds), so a slow client never holds a connection to the writer.
BODY_SECONDS = 60.0
#: How long a reader waits for the writer process: to connect, for a free connection (at most
#: LIMITS at once), and for an answer (an accept recomputes entailments; the writer's own
#: limits apply before this one).
TIMEOUT = httpx.Timeout(connect=10.0, read=600.0, write=60.0, pool=10.0)
LIMITS = httpx.Limits(max_connections=32, max_keepalive_connections=8)
NOT_SENT = "the writer process is not reachable or busy (restarting?): try again shortly"
LOST = ("the writer process stopped before answering (it is restarting): the request may or "
        "may not have been carried out; check before sending it again")


def _passed_on(headers: Sequence[tuple[bytes, bytes]], own: frozenset[bytes]) -> Headers:
    """``headers`` without the hop-by-hop ones, those ``Connection`` names, and ``own``."""
    named = {token.strip().lower() for name, value in headers if name.lower() == b"connection"
             for token in value.split(b",")}
    dropped = HOP_BY_HOP | own | named
    return [(name, value) for name, value in headers if name.lower() not in dropped]


class WriterForwarding:
    """ASGI middleware of a reader process: forwards to the writer process what needs it."""

    def __init__(self, app: ASGIApp, socket_path: str, token: str,
                 routes: Sequence[BaseRoute], max_body: int) -> None:
        self.app = app
        self.socket_path = socket_path
        self.token = token.encode("ascii")
        self.routes = tuple(routes)
        #: The literal start of each route's path, before its first parameter: a path that
        #: starts with none of them matches none of the routes (about a tenth of a light
        #: lookup's instructions went to trying the ten routes' patterns one by one).
        self.starts = tuple({str(getattr(route, "path", "")).split("{", 1)[0]
                             for route in self.routes})
        self.max_body = max_body
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._closing(send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._needs_writer(scope):
            await self._forward_whole(scope, receive, send)
        elif scope["method"] in ("GET", "HEAD"):
            await self._local_or_replayed(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def _needs_writer(self, scope: Scope) -> bool:
        if not scope.get("root_path") and not scope["path"].startswith(self.starts):
            return False  # (under a root path the routes match what follows it)
        return any(route.matches(scope)[0] is Match.FULL for route in self.routes)

    async def _forward_whole(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the body (size limit, deadline), then forward the request."""
        try:
            with anyio.fail_after(BODY_SECONDS):
                body = await read_body(Request(scope, receive), self.max_body)
        except ClientDisconnect:
            return
        except TimeoutError:
            await self._refuse(SlowRequest(f"the request body did not arrive within "
                                           f"{BODY_SECONDS:.0f} s"), scope, send, True)
            return
        except PayloadTooLarge as exc:
            await self._refuse(exc, scope, send, True)
            return
        await self._forward(scope, body, send, as_json=True)

    async def _local_or_replayed(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer here, unless the handler needed the writer: then the writer process answers
        (a GET has no body to read twice)."""
        replay = False

        async def unless_elsewhere(message: Message) -> None:
            nonlocal replay
            if message["type"] == "http.response.start" \
                    and scope.get("state", {}).get("writer_elsewhere"):
                replay = True
            if not replay:
                await send(message)

        await self.app(scope, receive, unless_elsewhere)
        if replay:
            await self._forward(scope, b"", send, as_json=False)

    async def _forward(self, scope: Scope, body: bytes, send: Send, as_json: bool) -> None:
        headers = _passed_on(scope["headers"], REQUEST_OWN)
        headers.append((READER, self.token))
        peer = scope.get("client")
        if peer:
            headers.append((PEER, str(peer[0]).encode("ascii")))
        target = scope.get("raw_path") or scope["path"].encode("utf-8")
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        request = httpx.Request(scope["method"], httpx.URL("http://writer/").copy_with(
            raw_path=target), headers=headers, content=body)
        try:
            response = await self._client_for().send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            log.warning("%s: %r", NOT_SENT, exc)
            await self._refuse(WriterUnreachable(NOT_SENT), scope, send, as_json)
            return
        except httpx.TransportError as exc:
            log.warning("%s: %r", LOST, exc)
            await self._refuse(WriterUnreachable(LOST), scope, send, as_json)
            return
        try:
            await send({"type": "http.response.start", "status": response.status_code,
                        "headers": _passed_on(response.headers.raw, RESPONSE_OWN)})
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()

    @staticmethod
    async def _refuse(exc: CoprodError, scope: Scope, send: Send, as_json: bool) -> None:
        await error_response(exc, as_json=as_json)(scope, _no_body, send)

    def _client_for(self) -> httpx.AsyncClient:
        if self._client is None:  # in the server's event loop, at the first forward
            self._client = httpx.AsyncClient(
                transport=httpx.AsyncHTTPTransport(uds=self.socket_path, limits=LIMITS),
                timeout=TIMEOUT, trust_env=False, follow_redirects=False)
        return self._client

    def _closing(self, send: Send) -> Send:
        async def closing(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete" and self._client is not None:
                await self._client.aclose()
                self._client = None
            await send(message)
        return closing


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


class ReaderPeers:
    """ASGI middleware of the writer process: strips the group's private headers from every
    request, and takes the client address a reader process vouches for, when the request came
    over the group's Unix socket (no peer address) with the group's secret."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode("ascii")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = self._vouched(scope)
        await self.app(scope, receive, send)

    def _vouched(self, scope: Scope) -> Scope:
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        tokens = [value for name, value in headers if name.lower() == READER]
        peers = [value for name, value in headers if name.lower() == PEER]
        if not tokens and not peers:
            return scope
        scope = {**scope, "headers": [(name, value) for name, value in headers
                                      if name.lower() not in (READER, PEER)]}
        if scope.get("client") is None and len(tokens) == 1 and len(peers) == 1 \
                and self.token and hmac.compare_digest(tokens[0], self.token):
            address = _address(peers[0])
            if address is not None:
                scope["client"] = (address, 0)
        return scope


def _address(value: bytes) -> str | None:
    """An IP address in its canonical spelling, else None."""
    try:
        return str(ipaddress.ip_address(value.decode("ascii").strip()))
    except (UnicodeDecodeError, ValueError):
        return None
