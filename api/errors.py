"""The one place where domain errors (``coprod_kg.errors``) become HTTP responses."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response

from coprod_kg.errors import CoprodError

log = logging.getLogger(__name__)


def error_response(exc: CoprodError) -> Response:
    """A plain-text answer carrying the error's status and message (SPARQL clients show it)."""
    status = getattr(exc, "status", 500)
    if status >= 500:
        log.warning("%s: %s", type(exc).__name__, exc)
    headers = {"Retry-After": "5"} if status == 503 else None
    return PlainTextResponse(f"{type(exc).__name__}: {exc}\n", status_code=status,
                             headers=headers)


async def _handle(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CoprodError)
    return error_response(exc)


def install_error_handlers(app: FastAPI) -> None:
    """Map every :class:`CoprodError` (and subclasses) to its ``status``."""
    app.add_exception_handler(CoprodError, _handle)
