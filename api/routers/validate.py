"""Validation as a service: ``POST /validate`` (no account) and the page ``GET /validate``.

The body is Turtle, JSON-LD, RDF/XML or N-Triples (by ``Content-Type``), or a form with an
uploaded ``file`` or pasted ``text`` (and its ``format``). The answer is the report: JSON by
default, the W3C SHACL report graph as Turtle or JSON-LD (``Accept``), or the page for browsers,
where the findings are grouped by record and field and the input lines they point at are
highlighted. A report that does not conform is still a successful answer (200).

The document is parsed and validated in a worker process of the app's
:class:`~coprod_kg.validation.worker.ValidationPool`, under its limits (records, triples, time,
memory): 413 past a size limit, 503 with ``Retry-After`` when it runs too long or every worker is
busy.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from coprod_kg.config import Settings
from coprod_kg.curation import Curation
from coprod_kg.errors import CoprodError, ParseError
from coprod_kg.rdf import conneg
from coprod_kg.validation.task import Checked
from coprod_kg.validation.worker import ValidationPool

from ..deps import get_settings
from ..errors import STATUS_HEADERS, json_errors
from ..models import ValidationReportModel, error_responses
from ..rendering import render
from ..upload import RDF_BODY_DOC, RDF_TYPES, Document, read_form_or_document
from ..views.report_view import ReportView, parse_error_view, report_view
from ..workflow import get_curation

router = APIRouter(tags=["validation"], dependencies=[Depends(json_errors)])

SettingsDep = Annotated[Settings, Depends(get_settings)]
CurationDep = Annotated[Curation, Depends(get_curation)]
JSON = "application/json"
#: What ``POST /validate`` answers in, the default first.
REPORT_TYPES: tuple[str, ...] = (JSON, conneg.TURTLE, conneg.JSON_LD, conneg.HTML)
#: Answer media type -> report format (coprod_kg.validation.report.FORMATS), rendered in the worker.
_FORMAT = {JSON: "json", conneg.TURTLE: "turtle", conneg.JSON_LD: "jsonld"}


def _wants(request: Request) -> str:
    return conneg.choose(request.headers.get("accept"), request.query_params.get("format"),
                         REPORT_TYPES)


async def _check(request: Request, curation: Curation, document: Document,
                 render_as: str | None = None) -> Checked:
    """Validate in a worker of the app's pool; the report comes back rendered if asked."""
    pool: ValidationPool = request.app.state.validation_pool
    lookup = (await run_in_threadpool(curation.validation_context)).lookup
    return await run_in_threadpool(partial(pool.run, document.data, document.media_type,
                                           document.name, lookup, render_as=render_as))


@router.post(
    "/validate", summary="Validate a case record (no account needed)",
    response_class=Response,
    responses={200: {"description": "the validation report (conforming or not)",
                     "content": {JSON: {"schema": ValidationReportModel.model_json_schema()},
                                 conneg.TURTLE: {}, conneg.JSON_LD: {}, conneg.HTML: {}}},
               **error_responses(400, 406, 413, 415, 503)},
    openapi_extra={"requestBody": RDF_BODY_DOC})
async def validate(request: Request, settings: SettingsDep, curation: CurationDep) -> Response:
    """Validate the submitted record against the SHACL shapes; nothing is stored.

    400 malformed or too deeply nested RDF (with line and column), 413 too large (bytes,
    triples, records or memory), 415 unsupported type, 503 (with ``Retry-After``) when the
    validation runs past its time limit or every validation worker is busy.
    """
    media = _wants(request)
    if media == conneg.HTML:
        return await _page_answer(request, settings, curation)
    document = await read_form_or_document(request, settings.max_request_bytes)
    checked = await _check(request, curation, document, _FORMAT[media])
    return Response(checked.rendered, media_type=media, headers={"Vary": "Accept"})


async def _page_answer(request: Request, settings: Settings, curation: Curation) -> Response:
    """The page with the report, or with the reason the input could not be read."""
    text = ""
    try:
        document = await read_form_or_document(request, settings.max_request_bytes)
        text = document.data.decode("utf-8", errors="replace")
        result = (await _check(request, curation, document)).result
        assert result is not None
    except ParseError as exc:
        return _page(request, settings, parse_error_view(exc, text), text, exc.status)
    except CoprodError as exc:  # refused before validation: 413, 415, no input...
        return _page(request, settings, None, text, exc.status, message=str(exc))
    return _page(request, settings, report_view(result, text), text, 200,
                 file_name=document.name, media_type=document.media_type)


def _page(request: Request, settings: Settings, view: ReportView | None, text: str,
          status: int, message: str | None = None, file_name: str | None = None,
          media_type: str = "text/turtle") -> HTMLResponse:
    headers = {"Vary": "Accept", **STATUS_HEADERS.get(status, {})}  # Retry-After with 503
    return render(request, settings, "validate.html", status_code=status,
                  headers=headers, view=view, text=text, message=message,
                  file_name=file_name, media_type=media_type, formats=RDF_TYPES,
                  limit=settings.max_request_bytes)


@router.get("/validate", response_class=HTMLResponse, summary="The validation page")
def validate_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """Paste or upload a record and see the report, with the offending lines highlighted."""
    return _page(request, settings, None, "", 200)
