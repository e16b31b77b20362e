"""Submissions, review and versioned cases: the curation workflow over HTTP.

Contributors ``POST /submissions`` (201 + ``Location``, status pending; 422 with the report and
nothing stored when the record does not conform). Curators list pending submissions, see each as
a diff against the published version, and accept or reject it. ``PUT``/``DELETE /cases/{slug}``
need ``If-Match`` with the case's ``ETag`` (428 without it, 412 when stale). Every rule lives in
:mod:`coprod_kg.curation`; this module only translates HTTP.

What a caller sees depends on who they are (:mod:`coprod_kg.curation.visibility`): anonymous
readers see published versions only (the ``ETag`` too is the published version's), contributors
also their own submissions, curators everything; a withdrawn case answers ``410`` with its
tombstone to everyone but curators.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import pyoxigraph as ox
from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from coprod_kg.config import Settings
from coprod_kg.curation import Curation, Diff, Status, SubmissionOutcome, VersionInfo, case_iri
from coprod_kg.rdf import conneg
from coprod_kg.validation.report import render_json

from ..auth import AnyUser, Curator, OptionalUser
from ..deps import get_settings
from ..errors import json_errors
from ..models import (
    CaseModel,
    RejectionModel,
    ReviewModel,
    SubmissionModel,
    VersionModel,
    error_responses,
)
from ..rendering import render, url_prefix
from ..upload import RDF_BODY_DOC, read_form_or_document
from ..workflow import get_curation

router = APIRouter(tags=["curation"], dependencies=[Depends(json_errors)])

SettingsDep = Annotated[Settings, Depends(get_settings)]
CurationDep = Annotated[Curation, Depends(get_curation)]
Slug = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$",
                           description="the case's slug (the end of its IRI)")]
Number = Annotated[int, Path(ge=1, le=1_000_000, description="the version number")]
IfMatch = Annotated[str | None, Header(alias="If-Match",
                                       description="the case's current ETag")]
Publish = Annotated[bool, Query(description="curators only: publish at once")]
Reason = Annotated[str | None, Query(max_length=2000,
                                     description="why the case is withdrawn (on its tombstone)")]
JSON = "application/json"
_RDF = {conneg.TURTLE: ox.RdfFormat.TURTLE, conneg.JSON_LD: ox.RdfFormat.JSON_LD,
        conneg.N_TRIPLES: ox.RdfFormat.N_TRIPLES, conneg.RDF_XML: ox.RdfFormat.RDF_XML}


def version_json(version: VersionInfo, prefix: str) -> dict[str, Any]:
    """The JSON of one version (:class:`VersionModel`)."""
    return VersionModel(
        case=version.case, slug=version.slug, number=version.number,
        status=version.status.value, graph=version.graph, submitter=version.submitter,
        submitted=version.submitted, content_hash=version.content_hash,
        validated_with=version.validated_with, triples=version.triples,
        revision_of=version.revision_of, curator=version.curator, decided=version.decided,
        reason=version.reason,
        url=f"{prefix}/submissions/{version.slug}/{version.number}",
    ).model_dump()


def _diff_json(diff: Diff) -> dict[str, Any]:
    return {"case": diff.case, "number": diff.number, "base": diff.base, "added": diff.added,
            "removed": diff.removed, "added_turtle": diff.added_turtle,
            "removed_turtle": diff.removed_turtle,
            # what the load-time rules would derive, so a curator sees the full effect
            "entailed_added": diff.entailed_added, "entailed_removed": diff.entailed_removed,
            "entailed_added_turtle": diff.entailed_added_turtle,
            "entailed_removed_turtle": diff.entailed_removed_turtle}


def _outcome(outcome: SubmissionOutcome, prefix: str, status: int) -> JSONResponse:
    body = version_json(outcome.version, prefix)
    body.update(etag=outcome.etag, report=json.loads(render_json(outcome.result)))
    return JSONResponse(body, status_code=status,
                        headers={"Location": body["url"], "ETag": outcome.etag})


def _wants_html(request: Request) -> bool:
    return conneg.choose(request.headers.get("accept"), request.query_params.get("format"),
                         (JSON, conneg.HTML)) == conneg.HTML


@router.post(
    "/submissions", status_code=201, response_model=SubmissionModel,
    summary="Submit a new case record (contributors)",
    responses=error_responses(400, 401, 403, 409, 413, 415, 422),
    openapi_extra={"requestBody": RDF_BODY_DOC})
async def submit(request: Request, settings: SettingsDep, curation: CurationDep, user: AnyUser,
                 publish: Publish = False) -> JSONResponse:
    """Validate and store a new case as a pending version; 201 with its ``Location``.

    422 with the report when it does not conform (nothing is stored); 409 when the case exists
    (send a new version with ``PUT /cases/{slug}``).
    """
    document = await read_form_or_document(request, settings.max_request_bytes)
    outcome = await run_in_threadpool(curation.submit, document.data, document.media_type, user,
                                      document.name, publish)
    return _outcome(outcome, url_prefix(settings), 201)


@router.get("/submissions", response_model=list[VersionModel],
            summary="Pending submissions (curators)",
            responses={200: {"content": {conneg.HTML: {}}}, **error_responses(401, 403, 406)})
async def pending(request: Request, settings: SettingsDep, curation: CurationDep,
                  user: Curator) -> Response:
    """Every pending submission, oldest first (an HTML list for browsers)."""
    versions = await run_in_threadpool(curation.pending)
    prefix = url_prefix(settings)
    if _wants_html(request):
        return render(request, settings, "submissions.html", versions=versions,
                      headers={"Vary": "Accept"})
    return JSONResponse([version_json(v, prefix) for v in versions], headers={"Vary": "Accept"})


@router.get("/submissions/{slug}/{number}", response_model=ReviewModel,
            summary="One submission and its diff against the published version",
            responses={200: {"content": {conneg.HTML: {}}},
                       **error_responses(401, 404, 406, 410)})
async def submission(request: Request, slug: Slug, number: Number, settings: SettingsDep,
                     curation: CurationDep, user: OptionalUser) -> Response:
    """The version's record (status, submitter, reason...) and what it adds and removes.

    Pending and rejected versions are visible to curators and to their submitter only (404 for
    anyone else).
    """
    iri = case_iri(slug)
    info = await run_in_threadpool(curation.version_info, iri, number, user)
    diff = await run_in_threadpool(curation.diff, iri, number)
    if _wants_html(request):
        return render(request, settings, "submission.html", v=info, diff=diff,
                      headers={"Vary": "Accept"})
    return JSONResponse({"version": version_json(info, url_prefix(settings)),
                         "diff": _diff_json(diff)}, headers={"Vary": "Accept"})


@router.post("/submissions/{slug}/{number}/accept", response_model=VersionModel,
             summary="Publish a pending submission (curators)",
             responses=error_responses(401, 403, 404, 409))
async def accept(slug: Slug, number: Number, settings: SettingsDep, curation: CurationDep,
                 user: Curator) -> JSONResponse:
    """The version becomes the case's public version (the previous one is superseded)."""
    version = await run_in_threadpool(curation.accept, case_iri(slug), number, user)
    return JSONResponse(version_json(version, url_prefix(settings)))


@router.post("/submissions/{slug}/{number}/reject", response_model=VersionModel,
             summary="Reject a pending submission with a reason (curators)",
             responses=error_responses(400, 401, 403, 404, 409))
async def reject(slug: Slug, number: Number, rejection: Annotated[RejectionModel, Body()],
                 settings: SettingsDep, curation: CurationDep, user: Curator) -> JSONResponse:
    """The version stays private; the contributor can read the reason in the case history."""
    version = await run_in_threadpool(curation.reject, case_iri(slug), number, user,
                                      rejection.reason)
    return JSONResponse(version_json(version, url_prefix(settings)))


@router.get("/cases/{slug}", response_model=CaseModel,
            summary="A case's current state and ETag",
            responses=error_responses(401, 404, 410))
async def case_state(slug: Slug, settings: SettingsDep, curation: CurationDep,
                     user: OptionalUser) -> JSONResponse:
    """The latest version the caller may see, the published version's number, and the
    ``ETag`` (of that latest visible version) to send as ``If-Match`` with ``PUT`` or
    ``DELETE``. 410 with a tombstone for a withdrawn case (except for curators)."""
    iri = case_iri(slug)
    versions = await run_in_threadpool(curation.history, iri, user)
    tag = versions[-1].etag  # derived from what this caller may see, nothing else
    published = next((v.number for v in reversed(versions) if v.status == Status.PUBLISHED),
                     None)
    body = {"case": iri, "slug": slug, "etag": tag,
            "latest": version_json(versions[-1], url_prefix(settings)), "published": published}
    return JSONResponse(body, headers={"ETag": tag})


@router.put("/cases/{slug}", response_model=SubmissionModel,
            summary="Submit a new version of a case (If-Match required)",
            responses=error_responses(400, 401, 403, 404, 410, 412, 413, 415, 422, 428),
            openapi_extra={"requestBody": RDF_BODY_DOC})
async def put_case(request: Request, slug: Slug, settings: SettingsDep, curation: CurationDep,
                   user: AnyUser, if_match: IfMatch = None, publish: Publish = False) -> Response:
    """Validated like a submission; stored as a pending version revising the latest one."""
    document = await read_form_or_document(request, settings.max_request_bytes)
    outcome = await run_in_threadpool(curation.put, case_iri(slug), document.data,
                                      document.media_type, user, if_match, publish)
    return _outcome(outcome, url_prefix(settings), 200)


@router.delete("/cases/{slug}", response_model=VersionModel,
               summary="Withdraw a case from the public graph (curators; If-Match required)",
               responses=error_responses(401, 403, 404, 409, 412, 428))
async def withdraw(slug: Slug, settings: SettingsDep, curation: CurationDep, user: Curator,
                   if_match: IfMatch = None, reason: Reason = None) -> JSONResponse:
    """The case leaves the public graph: anyone but a curator then gets 410 with its tombstone
    (title, when, ``reason``); its content and history stay readable by curators."""
    version = await run_in_threadpool(curation.withdraw, case_iri(slug), user, if_match,
                                      reason)
    tag = await run_in_threadpool(curation.etag, case_iri(slug))
    return JSONResponse(version_json(version, url_prefix(settings)), headers={"ETag": tag})


@router.get("/cases/{slug}/history", response_model=list[VersionModel],
            summary="Every version of a case the caller may see",
            responses=error_responses(401, 404, 410))
async def history(slug: Slug, settings: SettingsDep, curation: CurationDep,
                  user: OptionalUser) -> JSONResponse:
    """Published and superseded versions for everyone (410 once the case is withdrawn);
    pending and rejected ones also for curators and their submitter; all for curators."""
    versions = await run_in_threadpool(curation.history, case_iri(slug), user)
    prefix = url_prefix(settings)
    return JSONResponse([version_json(v, prefix) for v in versions])


@router.get("/cases/{slug}/versions/{number}", response_class=Response,
            summary="The triples of one version (Turtle, JSON-LD, N-Triples or RDF/XML)",
            responses={200: {"content": {m: {} for m in _RDF}},
                       **error_responses(401, 404, 406, 410)})
async def version(request: Request, slug: Slug, number: Number, curation: CurationDep,
                  user: OptionalUser) -> Response:
    """One version's record, as submitted (under the same visibility rule as the history)."""
    media = conneg.choose(request.headers.get("accept"), request.query_params.get("format"),
                          conneg.RDF_GRAPH_TYPES)
    data = await run_in_threadpool(curation.version, case_iri(slug), number, user)
    return Response(_convert(data, media), media_type=media, headers={"Vary": "Accept"})


def _convert(ntriples: bytes, media: str) -> bytes:
    """N-Triples re-serialised in ``media``."""
    if media == conneg.N_TRIPLES:
        return ntriples
    triples = [q.triple for q in ox.parse(ntriples, format=ox.RdfFormat.N_TRIPLES)]
    body = ox.serialize(triples, format=_RDF[media])
    assert body is not None
    return body
