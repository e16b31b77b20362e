"""The SPARQL 1.1 Protocol at ``/sparql`` (query operation only; the endpoint is read-only).

GET ``?query=``, POST form-encoded and POST ``application/sparql-query``; ``default-graph-uri``
and ``named-graph-uri``; the answer's format from ``Accept`` (q-values) or ``format=``. Queries
run in the public lane's sandboxed workers, which parse and check them, negotiate the format
and write the whole answer to a spool file before the status line is sent, so a client never
sees ``200`` followed by an error; the file is then streamed (:mod:`api.streaming`).
Parameters and bodies are decoded exactly once, as strict UTF-8. Refusals (all ``400``): SPARQL
Update (``update``, ``using-*`` parameters, ``application/sparql-update``), SERVICE and LOAD.
Each client has a budget of query time and of concurrent queries (``api/budget.py``): past it,
``429`` with ``Retry-After``.
"""

from __future__ import annotations

from typing import Annotated, TypeGuard

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from coprod_kg.caching.answers import CachedAnswer, entity_tag
from coprod_kg.config import Settings
from coprod_kg.errors import BadInput, CoprodError, PayloadTooLarge, UnsupportedMediaType
from coprod_kg.rdf.conneg import negotiate_query, parse_accept
from coprod_kg.rdf.formats import GRAPH_FORMATS, QueryForm, ResultFormat
from coprod_kg.sparql.service_description import serialise, service_description
from coprod_kg.storage.store import AsyncQueries, KnowledgeStore, QueryResult, prepare

from ..answer_keys import (
    SPARQL_GET,
    UPDATE_PARAMS,
    Answers,
    SparqlGet,
    answers_for,
    grouped_params,
    published_state,
    sparql_params_key,
)
from ..budget import admitted, charged, query_ticket
from ..caching import SPARQL_VARY, public_headers
from ..deps import get_settings, get_store
from ..errors import handle_error
from ..params import Params, decode_params
from ..streaming import SpooledAnswer
from ..upload import read_body

router = APIRouter(tags=["sparql"])

FORM = "application/x-www-form-urlencoded"
QUERY = "application/sparql-query"
UPDATE = "application/sparql-update"
READ_ONLY = ("this endpoint is read-only: SPARQL Update is not accepted (case records are "
             "submitted through the curation workflow)")


def _decode_params(raw: bytes, what: str) -> Params:
    """Percent-decode ``a=b&c=d`` once, as strict UTF-8."""
    try:
        return decode_params(raw)
    except UnicodeDecodeError as exc:
        raise BadInput(f"the {what} is not valid UTF-8: {exc.reason}") from exc


def _check_url(scope: Scope, settings: Settings) -> bytes:
    """The query string, :class:`PayloadTooLarge` past ``COPROD_MAX_REQUEST_BYTES``."""
    raw: bytes = scope.get("query_string", b"")
    if len(raw) > settings.max_request_bytes:
        raise PayloadTooLarge(f"the query string exceeds {settings.max_request_bytes} bytes")
    return raw


def _url_params(request: Request, settings: Settings) -> Params:
    raw = _check_url(request.scope, settings)
    known: SparqlGet | None = request.scope.get(SPARQL_GET)
    return known.params if known is not None else _decode_params(raw, "query string")


def _content_type(request: Request) -> tuple[str, str | None]:
    """The media type of the body (lower case) and its charset parameter, if any."""
    header = request.headers.get("content-type", "")
    media, *params = (part.strip() for part in header.split(";"))
    charset = None
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return media.lower(), charset


def _html_wanted(accept: str | None) -> bool:
    """True when the client prefers an HTML page to every RDF format (a browser)."""
    if not accept:
        return False
    exact = [r for r in parse_accept(accept, synonyms=False) if r.specificity == 2]
    html = max((r.q for r in exact if r.matches("text/html")), default=0.0)
    rdf = max((r.q for r in exact for f in GRAPH_FORMATS for m in f.media_types
               if r.matches(m)), default=0.0)
    return html > 0 and html > rdf


async def _answer(params: Params, request: Request, settings: Settings,
                  store: KnowledgeStore) -> Response:
    """Run the query operation described by ``params`` (URL and body merged)."""
    return await _answer_grouped(grouped_params(params), request.headers.get("accept"), request,
                                 settings, store, None)


async def _answer_grouped(grouped: dict[str, list[str]], accept: str | None, request: Request,
                          settings: Settings, store: KnowledgeStore,
                          known: SparqlGet | None) -> Response:
    """:func:`_answer` of parameters grouped by name (:func:`grouped_params`); ``known``: what
    :mod:`api.caching` read of this very GET (its state and answer key), handed on by
    :func:`sparql_lane`."""
    if any(name in grouped for name in UPDATE_PARAMS):
        raise BadInput(READ_ONLY)
    queries = grouped.get("query", [])
    if len(queries) > 1:
        raise BadInput("several 'query' parameters: send exactly one query")
    formats = grouped.get("format") or grouped.get("output")
    format_param = formats[-1] if formats else None
    if not queries:
        return _describe_service(request, settings, store, accept, format_param)
    prepared = prepare(queries[0], accept, format_param, grouped.get("default-graph-uri"),
                       grouped.get("named-graph-uri"),
                       base_iri=settings.public_url.rstrip("/") + "/sparql",
                       lane="public", spool=True)
    answers = answers_for(request.app)
    get = request.method == "GET"
    if known is not None:  # read by api.caching for this very GET
        state: str | None = known.state
        key = known.key
    else:
        anonymous = "authorization" not in request.headers  # others are never cached
        state = await published_state(store) if anonymous else None
        key = None if state is None else sparql_params_key(answers.site, state, grouped, accept)
    # What a GET answer carries (and what is kept); a POST answer is for its client only.
    tagged = public_headers(entity_tag(key), SPARQL_VARY) if key else {"Vary": SPARQL_VARY}
    headers = tagged if get else {"Vary": "Accept"}
    if key is not None and known is None:  # api.caching looked for this GET's answer
        hit = answers.cache.get(key)
        if hit is not None:  # not charged: no engine ran
            stored = dict(_decoded(hit.headers))
            return Response(hit.body, media_type=stored.get("content-type"),
                            headers={**stored, **headers} if get else headers)
    with charged(request):  # the client's query time budget (api/budget.py)
        result = await (store.query_async(prepared) if _asynchronous(store)
                        else run_in_threadpool(store.query, prepared))
    # The state the answer was computed from, if the store says; else the state now.
    if key is not None and (result.state or await published_state(store)) != state:
        key = None
        headers = {"Vary": SPARQL_VARY, "Cache-Control": "no-cache"} if get else headers
    size = result.size if result.path is not None else len(result.body)
    if key is not None and size <= answers.cache.body_limit:
        return await _kept(result, answers, key, tagged, headers)
    if result.path is None:  # a small answer, or a store that answers in memory
        return Response(result.body, media_type=result.media_type, headers=headers)
    return SpooledAnswer(result, settings.send_timeout, headers=headers)


def _asynchronous(store: KnowledgeStore) -> TypeGuard[AsyncQueries]:
    """Whether ``store`` answers on the event loop (an attribute read: a runtime protocol
    check costs more than a small query's hand-off)."""
    return callable(getattr(store, "query_async", None))


def _decoded(raw: tuple[tuple[bytes, bytes], ...]) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw
            if k != b"content-length"]


async def _kept(result: QueryResult, answers: Answers, key: str, tagged: dict[str, str],
                headers: dict[str, str]) -> Response:
    """The answer from memory, kept under ``key`` with the headers of a GET (``tagged``); the
    spool file, if any, is read and deleted."""
    body = result.body
    if result.path is not None:
        try:
            body = await run_in_threadpool(result.path.read_bytes)
        finally:
            result.discard()
    stored = Response(body, media_type=result.media_type, headers=tagged)
    answers.cache.put(key, CachedAnswer(tuple(stored.raw_headers), body))
    # A GET is answered with what is kept; a POST's answer is for its client only.
    return stored if headers is tagged else Response(body, media_type=result.media_type,
                                                     headers=headers)


def _describe_service(request: Request, settings: Settings, store: KnowledgeStore,
                      accept: str | None, format_param: str | None) -> Response:
    if request.method == "GET" and not format_param and _html_wanted(accept):
        return RedirectResponse("/query", status_code=303)
    if request.method != "GET":
        raise BadInput("no 'query' parameter")
    fmt: ResultFormat = negotiate_query(QueryForm.CONSTRUCT, accept, format_param)
    graph = service_description(settings.public_url.rstrip("/") + "/sparql",
                                [g.name for g in store.graphs()])
    return Response(serialise(graph, fmt), media_type=fmt.media_type, headers={"Vary": "Accept"})


@router.get("/sparql", summary="SPARQL query (GET), or the service description",
            dependencies=[Depends(query_ticket)])
async def sparql_get(request: Request, settings: Annotated[Settings, Depends(get_settings)],
                     store: Annotated[KnowledgeStore, Depends(get_store)]) -> Response:
    """``?query=`` runs a query; without it, the service description (or, for a browser, the
    query page)."""
    return await _answer(_url_params(request, settings), request, settings, store)


async def sparql_lane(scope: Scope, receive: Receive, send: Send) -> None:
    """``GET /sparql`` without FastAPI's routing and dependency solving (about a quarter of
    the API process's time on a light query in a profile: ``bench/README.md``).

    :class:`api.caching.AnswerCaching` hands it the anonymous GETs its cache did not answer;
    it does what :func:`sparql_get` does, with the same admission (:func:`api.budget.admitted`),
    answer (:func:`_answer_grouped`, from the parameters, state and key the middleware read)
    and error mapping (:func:`api.errors.handle_error`). The client's slot is held until the
    answer is sent."""
    request = Request(scope, receive)
    settings: Settings = request.app.state.settings
    response: Response | None = None
    try:
        store = await get_store(request)
        async with admitted(request, settings):
            try:
                known: SparqlGet | None = scope.get(SPARQL_GET)
                if known is None:  # a query string api.caching could not decode: its 400
                    response = await _answer(_url_params(request, settings), request,
                                             settings, store)
                else:
                    _check_url(scope, settings)
                    response = await _answer_grouped(known.grouped, known.accept, request,
                                                     settings, store, known)
            except CoprodError as exc:
                response = await handle_error(request, exc)
            await response(scope, receive, send)
    except CoprodError as exc:
        if response is not None:  # raised while sending: too late for another answer
            raise
        await (await handle_error(request, exc))(scope, receive, send)


@router.post("/sparql", summary="SPARQL query (POST form-encoded or application/sparql-query)",
             dependencies=[Depends(query_ticket)])
async def sparql_post(request: Request, settings: Annotated[Settings, Depends(get_settings)],
                      store: Annotated[KnowledgeStore, Depends(get_store)]) -> Response:
    """POST a query, form-encoded (``query=``) or directly as ``application/sparql-query``."""
    media, charset = _content_type(request)
    if media == UPDATE:
        raise BadInput(READ_ONLY)
    if media not in (FORM, QUERY):
        raise UnsupportedMediaType(
            f"unsupported Content-Type {media or '(none)'!r}: send {FORM} or {QUERY}")
    if charset not in (None, "utf-8", "utf8"):
        raise BadInput(f"the body must be UTF-8, not {charset}")
    params = _url_params(request, settings)
    body = await read_body(request, settings.max_request_bytes)
    if media == FORM:
        return await _answer(params + _decode_params(body, "form body"), request, settings, store)
    if any(key == "query" for key, _ in params):
        raise BadInput("a direct POST carries the query in the body, not in 'query='")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"the query is not valid UTF-8: {exc.reason}") from exc
    return await _answer([*params, ("query", text)], request, settings, store)
