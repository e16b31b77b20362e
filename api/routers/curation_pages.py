"""Curation in the browser, and the dataset's citation.

``/sign-in``, ``/review``, ``/review/{slug}/{n}`` and ``/contribute`` are pages whose script talks
to the JSON API (``/submissions``, ``/validate``) with the curator's or contributor's token: the
token is kept in the tab's session storage and sent as ``Authorization: Bearer``, never in a URL
or a cookie. Without script these pages say how to do the same with the API or the command line.
``/cite`` gives the citation of the whole dataset, in the formats the case pages offer.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, Response

from coprod_kg.config import Settings
from coprod_kg.rdf import conneg
from coprod_kg.storage.store import KnowledgeStore

from ..deps import get_settings, get_store
from ..rendering import render, url_prefix
from ..upload import RDF_TYPES
from ..views import citation
from ..views.case_index import state_key
from .resource_pages import citation_response, cite_links

router = APIRouter(tags=["pages"])

SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[KnowledgeStore, Depends(get_store)]
Slug = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")]
Number = Annotated[int, Path(ge=1, le=1_000_000)]


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in(request: Request, settings: SettingsDep) -> HTMLResponse:
    """Sign in with a token (kept in this tab's session storage only)."""
    return render(request, settings, "sign_in.html")


@router.get("/review", response_class=HTMLResponse)
def review(request: Request, settings: SettingsDep) -> HTMLResponse:
    """The pending submissions, for curators."""
    return render(request, settings, "review.html")


@router.get("/review/{slug}/{number}", response_class=HTMLResponse)
def review_one(request: Request, slug: Slug, number: Number,
               settings: SettingsDep) -> HTMLResponse:
    """One submission: its diff against the published version, its validation report, and
    the accept and reject buttons."""
    return render(request, settings, "review_item.html", slug=slug, number=number)


@router.get("/contribute", response_class=HTMLResponse)
def contribute(request: Request, settings: SettingsDep) -> HTMLResponse:
    """Paste or upload a record, see its report as you fix it, and submit it."""
    return render(request, settings, "contribute.html", formats=RDF_TYPES)


@router.get("/cite", response_class=Response)
def cite(request: Request, settings: SettingsDep, store: StoreDep) -> Response:
    """How to cite the dataset (which version and published state); BibTeX, RIS, CSL-JSON."""
    item = citation.dataset_item(store, settings.public_url, state_key(store))
    fmt = request.query_params.get("format")
    media = citation.BY_NAME.get(fmt.lower()) if fmt else conneg.negotiate(
        request.headers.get("accept"), (conneg.HTML, *citation.FORMATS))
    if media in citation.FORMATS:
        return citation_response(media, item, request.query_params.get("download") == "1")
    return render(request, settings, "cite.html", cite=citation.citation(item),
                  cite_links=cite_links(url_prefix(settings) + "/cite"),
                  headers={"Vary": "Accept"})
