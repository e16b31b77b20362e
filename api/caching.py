"""HTTP caching of answers: strong entity tags, ``304 Not Modified`` and the in-process cache.

Every GET answer of ``/sparql``, of the linked-data documents (cases, concepts, sources, claims,
the ontology), of the pages and of VoID carries a strong ``ETag``: a digest (its key,
:mod:`api.answer_keys`) of the site (version, addresses, templates), the
published state (:meth:`~coprod_kg.storage.store.KnowledgeStore.published_state`) and the
request (path, query string or query text and dataset, the format negotiated or asked for, the
page language). ``Cache-Control: public, no-cache`` lets clients and proxies keep it and
revalidate; ``If-None-Match`` (a list, ``*``, weak comparison of RFC 9110) gets ``304`` before
anything runs. The same key finds the serialised answer in the app's
:class:`~coprod_kg.caching.answers.AnswerCache` (``COPROD_ANSWER_CACHE_BYTES``): a repeat is sent
from memory, without a query worker or the engine. A new published state changes every key.

Who sees what: a request with ``Authorization`` is never answered from the cache, never stored
in it, and its answer says ``Cache-Control: private, no-store`` (curators and contributors may
see versions anonymous readers must not, and their views are their own). Only ``200`` answers
are kept (errors, ``429`` and anything else pass through), and only while the published state
did not change during the request. POST queries use the same cache inside the route
(:mod:`api.routers.sparql`), without an entity tag.

:class:`AnswerCaching` is the lean path: an ASGI middleware that answers hits and ``304`` before
routing, dependencies or a thread; it stores the answers of the pages and linked data it lets
through, while ``/sparql`` stores its own (it reads small answers into memory anyway). An
anonymous ``GET /sparql`` it does not answer goes to the lean route it is given
(:func:`api.routers.sparql.sparql_lane`), not through FastAPI's router.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, MutableMapping
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from coprod_kg.caching.answers import AnswerCache, CachedAnswer, entity_tag
from coprod_kg.config import Settings
from coprod_kg.errors import TooManyRequests
from coprod_kg.fairness.clients import client_key
from coprod_kg.storage.store import KnowledgeStore

from .answer_keys import (
    SPARQL_GET,
    Answers,
    SparqlGet,
    answers_for,
    grouped_params,
    page_key,
    published_state,
    sparql_params_key,
)
from .budget import fairness
from .params import decode_params

#: Revalidate every time (the state may have changed), but keep it: shared caches too.
PUBLIC = "public, no-cache"
#: Answers to authenticated requests: nobody keeps them.
PRIVATE = "private, no-store"
SPARQL_VARY = "Accept, Authorization"
PAGE_VARY = "Accept, Accept-Language, Cookie, Authorization"
_HEADERS = (b"accept", b"accept-language", b"authorization", b"cookie", b"if-none-match")
_ETAG = re.compile(r'\s*(?:W/)?("[^"]*")\s*(?:,|$)')


def if_none_match(header: str | None, etag: str) -> bool:
    """Whether ``If-None-Match: header`` matches ``etag`` (``*``, or any tag of the list by the
    weak comparison of RFC 9110: ``W/`` is ignored on both sides).

    >>> if_none_match('W/"a", "b"', '"b"'), if_none_match('"a"', '"b"'), if_none_match("*", '"b"')
    (True, False, True)
    """
    if not header:
        return False
    if header.strip() == "*":
        return True
    wanted = etag[2:] if etag.startswith("W/") else etag
    position = 0
    while position < len(header):
        found = _ETAG.match(header, position)
        if found is None:  # malformed from here on: what was read so far decides
            return False
        if found.group(1) == wanted:
            return True
        position = found.end()
    return False


def public_headers(etag: str, vary: str) -> dict[str, str]:
    """The caching headers of an anonymous GET answer."""
    return {"ETag": etag, "Cache-Control": PUBLIC, "Vary": vary}


def _scope_headers(scope: Scope) -> dict[bytes, str]:
    """The first value of each header the cache looks at."""
    found: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name in _HEADERS and name not in found:
            found[name] = value.decode("latin-1")
    return found


def _with_headers(raw: list[tuple[bytes, bytes]], changes: dict[str, str]
                  ) -> list[tuple[bytes, bytes]]:
    """``raw`` with the headers named in ``changes`` replaced (``Vary`` merged)."""
    lowered = {k.lower().encode("latin-1"): v for k, v in changes.items()}
    vary = [v.decode("latin-1") for k, v in raw if k == b"vary"]
    out = [(k, v) for k, v in raw if k not in lowered and k != b"vary"]
    if b"vary" in lowered:
        names: list[str] = []
        for item in [*", ".join(vary).split(","), *lowered.pop(b"vary").split(",")]:
            name = item.strip()
            if name and name.lower() not in (n.lower() for n in names):
                names.append(name)
        vary = [", ".join(names)]
    out += [(k, v.encode("latin-1")) for k, v in lowered.items()]
    out += [(b"vary", v.encode("latin-1")) for v in vary if v]
    return out


async def send_not_modified(send: Send, etag: str, vary: str) -> None:
    """``304`` with the headers a ``200`` would have carried for caches."""
    await send({"type": "http.response.start", "status": 304,
                "headers": [(b"etag", etag.encode()), (b"cache-control", PUBLIC.encode()),
                            (b"vary", vary.encode())]})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def send_cached(send: Send, answer: CachedAnswer) -> None:
    """Send a kept answer as it was first sent."""
    await send({"type": "http.response.start", "status": 200, "headers": list(answer.headers)})
    await send({"type": "http.response.body", "body": answer.body, "more_body": False})


def _private(send: Send) -> Send:
    """``send`` marking every answer ``Cache-Control: private, no-store``."""
    async def marked(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": _with_headers(
                list(message.get("headers", [])), {"Cache-Control": PRIVATE})}
        await send(message)
    return marked


def _admitted(scope: Scope, settings: Settings) -> bool:
    """Whether the anonymous client may make one more query now (a hit is not charged, and
    frees its concurrency slot at once, but a client past its budget is refused: the route
    then answers its 429)."""
    request = Request(scope)
    state = fairness(request, settings)
    if not state.budget.enabled:
        return True
    try:
        ticket = state.budget.admit(client_key(state.client(request)))
    except TooManyRequests:
        return False
    state.budget.release(ticket)
    return True


class AnswerCaching:
    """The ASGI middleware of the module: hits and 304 before routing; keeps page answers.

    ``paths`` and ``prefixes``: the GET paths (besides ``/sparql``) whose answers depend only on
    the published state and the request (given by :func:`api.app.create_app`).
    """

    def __init__(self, app: ASGIApp, paths: Iterable[str] = (),
                 prefixes: Iterable[str] = (), sparql: ASGIApp | None = None) -> None:
        self.app = app
        self.paths = frozenset(paths)
        self.prefixes = tuple(prefixes)
        #: Where an anonymous ``GET /sparql`` that is not a hit goes (the routes without it).
        self.sparql = sparql or app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        sparql = path == "/sparql"
        if not (sparql or path in self.paths or path.startswith(self.prefixes)):
            await self.app(scope, receive, send)
            return
        headers = _scope_headers(scope)
        if b"authorization" in headers:
            await self.app(scope, receive, _private(send))
            return
        app = scope["app"]
        store: KnowledgeStore | None = getattr(app.state, "store", None)
        state = await published_state(store)
        if state is None:
            await self.app(scope, receive, send)
            return
        answers = answers_for(app)
        if sparql:
            await self._sparql(scope, receive, send, headers, answers, state)
            return
        key = page_key(answers.site, state, scope, headers)
        etag = entity_tag(key)
        if if_none_match(headers.get(b"if-none-match"), etag) and (
                headers.get(b"if-none-match", "").strip() != "*" or key in answers.cache):
            await send_not_modified(send, etag, PAGE_VARY)
            return
        hit = answers.cache.get(key)
        if hit is not None:
            await send_cached(send, hit)
            return
        await self.app(scope, receive, _Keeper(send, answers.cache, key, store, state,
                                               headers.get(b"if-none-match")).send)

    async def _sparql(self, scope: Scope, receive: Receive, send: Send,
                      headers: dict[bytes, str], answers: Answers, state: str) -> None:
        try:
            params = decode_params(scope.get("query_string", b""))
        except UnicodeDecodeError:  # the route answers its 400
            await self.sparql(scope, receive, send)
            return
        grouped = grouped_params(params)
        accept = headers.get(b"accept")
        key = sparql_params_key(answers.site, state, grouped, accept)
        if key is None:
            scope[SPARQL_GET] = SparqlGet(params, grouped, accept, state, None)
            await self.sparql(scope, receive, send)
            return
        etag = entity_tag(key)
        match = headers.get(b"if-none-match")
        if if_none_match(match, etag) and (match or "").strip() != "*":
            await send_not_modified(send, etag, SPARQL_VARY)
            return
        hit = answers.cache.get(key)
        if hit is not None and _admitted(scope, answers.settings):
            if match is not None and if_none_match(match, etag):  # "*"
                await send_not_modified(send, etag, SPARQL_VARY)
            else:
                await send_cached(send, hit)
            return
        scope[SPARQL_GET] = SparqlGet(params, grouped, accept, state, key)
        await self.sparql(scope, receive, send)


class _Keeper:
    """Passes an answer on, tagging a ``200`` and keeping it (if small enough and the state
    did not change meanwhile); a ``200`` that ``If-None-Match: *`` matches becomes ``304``."""

    def __init__(self, send: Send, cache: AnswerCache, key: str,
                 store: KnowledgeStore | None, state: str, match: str | None) -> None:
        self.downstream = send
        self.cache = cache
        self.key = key
        self.store = store
        self.state = state
        self.match = match
        self.keep = False
        self.silent = False
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.size = 0

    async def send(self, message: MutableMapping[str, Any]) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            await self._start(message)
        elif kind == "http.response.body":
            if self.silent:
                return
            await self.downstream(message)
            if self.keep:
                chunk: bytes = message.get("body", b"")
                self.size += len(chunk)
                if self.size > self.cache.body_limit:
                    self.keep, self.body = False, []
                else:
                    self.body.append(chunk)
                if self.keep and not message.get("more_body", False):
                    self.cache.put(self.key, CachedAnswer(tuple(self.headers),
                                                          b"".join(self.body)))
                    self.keep = False
        else:  # an extension (pathsend...): pass on, keep nothing
            self.keep = False
            await self.downstream(message)

    async def _start(self, message: MutableMapping[str, Any]) -> None:
        raw = list(message.get("headers", []))
        if message["status"] != 200:
            await self.downstream(message)
            return
        if await published_state(self.store) != self.state:  # published meanwhile: no tag
            await self.downstream({**message, "headers": _with_headers(
                raw, {"Cache-Control": "no-cache"})})
            return
        etag = entity_tag(self.key)
        if if_none_match(self.match, etag):  # "*": this resource exists
            self.silent = True
            await send_not_modified(self.downstream, etag, PAGE_VARY)
            return
        self.headers = _with_headers(raw, {"ETag": etag, "Cache-Control": PUBLIC,
                                           "Vary": "Authorization"})
        self.keep = self.cache.enabled
        await self.downstream({**message, "headers": self.headers})

