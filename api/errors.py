"""The one place where domain errors (``coprod_kg.errors``) become HTTP responses.

Routers that speak JSON (validation, submissions, cases) mark their requests with
:func:`json_errors`; their errors are a JSON object (``error``, ``message``, ``status``, and
``line``/``column`` for malformed RDF). A refused submission (:class:`ValidationFailed`) always
answers 422 with the full validation report; a submission reaching beyond its case
(:class:`OutsideCase`) lists every refused triple in ``triples``. Every other error is plain
text, which SPARQL clients show as it is. 401 carries ``WWW-Authenticate: Bearer``; 429 carries
``Retry-After`` (the seconds until the client's query budget allows a query again).
"""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from coprod_kg.errors import (
    CoprodError,
    Gone,
    OutsideCase,
    ParseError,
    TooManyRequests,
    WriterElsewhere,
)
from coprod_kg.validation.report import render_json
from coprod_kg.validation.shacl import ValidationFailed

log = logging.getLogger(__name__)

#: Headers some statuses must carry (RFC 9110 section 15.5.2; RFC 6750 section 3).
STATUS_HEADERS: dict[int, dict[str, str]] = {
    401: {"WWW-Authenticate": 'Bearer realm="coprod-kg"'},
    503: {"Retry-After": "5"},
}


def json_errors(request: Request) -> None:
    """Router dependency: answer this request's errors as JSON."""
    request.state.json_errors = True


def error_body(exc: CoprodError) -> dict[str, object]:
    """The JSON envelope of an error."""
    status = getattr(exc, "status", 500)
    body: dict[str, object] = {"error": type(exc).__name__, "status": status,
                               "message": str(exc)}
    if isinstance(exc, ParseError):
        body.update(message=exc.message, line=exc.line, column=exc.column)
    if isinstance(exc, ValidationFailed):
        body["report"] = json.loads(render_json(exc.result))
    if isinstance(exc, OutsideCase):  # every refused triple, with its reason
        body["triples"] = exc.offences
    if isinstance(exc, Gone):
        body["tombstone"] = exc.tombstone
    return body


def error_response(exc: CoprodError, as_json: bool = False) -> Response:
    """An answer carrying the error's status and message."""
    status = getattr(exc, "status", 500)
    if status >= 500:
        log.warning("%s: %s", type(exc).__name__, exc)
    headers = STATUS_HEADERS.get(status)
    if isinstance(exc, TooManyRequests):
        headers = {**(headers or {}), "Retry-After": str(exc.retry_after)}
    if as_json or isinstance(exc, ValidationFailed):
        return JSONResponse(error_body(exc), status_code=status, headers=headers)
    return PlainTextResponse(f"{type(exc).__name__}: {exc}\n", status_code=status,
                             headers=headers)


async def handle_error(request: Request, exc: Exception) -> Response:
    """The answer to ``exc`` (a :class:`CoprodError`) raised while serving ``request``: the
    routes' exception handler, and the lean ``GET /sparql`` path's (one mapping for both)."""
    assert isinstance(exc, CoprodError)
    if isinstance(exc, WriterElsewhere) and request.app.state.settings.writer_socket \
            and request.method in ("GET", "HEAD"):
        # a reader process of a group: api.forwarding (which sees the scope's state) replays
        # the request (it has no body) to the writer process in place of this answer
        request.state.writer_elsewhere = True
        return Response(status_code=503)
    return error_response(exc, bool(getattr(request.state, "json_errors", False)))


def install_error_handlers(app: FastAPI) -> None:
    """Map every :class:`CoprodError` (and subclasses) to its ``status``."""
    app.add_exception_handler(CoprodError, handle_error)
