"""Linked data: every IRI under the base dereferences here, plus the ontology, dumps and VoID.

``GET /case/slug`` answers for ``https://w3id.org/coprod/case/slug`` (the public base maps to
this server's address), as HTML or RDF by content negotiation (``?format=`` overrides it); a
withdrawn case answers ``410 Gone`` with its tombstone (title, when, why).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import pyoxigraph as ox
from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse, Response, StreamingResponse

from coprod_kg.config import Settings
from coprod_kg.curation.visibility import gone_error
from coprod_kg.errors import NotFound
from coprod_kg.publishing import docs
from coprod_kg.publishing.dump import DUMP_FORMATS, etag, iter_dump
from coprod_kg.publishing.published_ontology import ensure_built
from coprod_kg.publishing.void import serialise, summarise
from coprod_kg.rdf import conneg
from coprod_kg.rdf.formats import GRAPH_FORMATS
from coprod_kg.storage.backend import Backend
from coprod_kg.storage.store import KnowledgeStore

from ..deps import get_backend, get_settings, get_store
from ..rendering import render, url_prefix
from ..views.linked_data import (
    DEREFERENCEABLE,
    iri_for_path,
    is_version_iri,
    local_href,
    rdf_document,
)
from ..views.resource_view import resource_page
from ..workflow import curation_for
from . import resource_pages

router = APIRouter(tags=["linked data"])

SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[KnowledgeStore, Depends(get_store)]
BackendDep = Annotated[Backend, Depends(get_backend)]
VARY = {"Vary": "Accept"}
#: Short names shown in "also as" links, for each RDF media type.
FORMAT_NAMES: dict[str, str] = {f.media_type: f.short for f in GRAPH_FORMATS}
#: The published ontology files (built by coprod_kg.publishing.docs), per media type.
ONTOLOGY_FILES: dict[str, str] = {
    conneg.HTML: docs.HTML_NAME, conneg.TURTLE: "coprod.ttl", conneg.JSON_LD: "coprod.jsonld",
    conneg.N_TRIPLES: "coprod.nt", conneg.RDF_XML: "coprod.owl",
}
VOID_TYPES = (conneg.TURTLE, conneg.JSON_LD, conneg.HTML, conneg.N_TRIPLES, conneg.RDF_XML)
_RDF_FORMATS = {f.media_type: f.oxigraph for f in GRAPH_FORMATS
                if isinstance(f.oxigraph, ox.RdfFormat)}


def _choose(request: Request, offered: tuple[str, ...]) -> str:
    return conneg.choose(request.headers.get("accept"), request.query_params.get("format"),
                         offered)


def _href(settings: Settings) -> Callable[[str], str]:
    def href(iri: str) -> str:
        return local_href(iri, settings.base_iri, settings.public_url) or iri
    return href


def _alternates(path: str) -> list[tuple[str, str, str]]:
    return [(name, media, f"{path}?format={name}") for media, name in FORMAT_NAMES.items()]


def _resource(request: Request, kind: str, rest: str, settings: Settings,
              store: KnowledgeStore) -> Response:
    iri = iri_for_path(f"{kind}/{rest}", settings.base_iri)
    cited = resource_pages.chosen_media(request, kind)
    if cited is not None:  # BibTeX, RIS or CSL-JSON of a case, source or concept
        return resource_pages.cite_response(request, kind, iri, cited, store)
    media = _choose(request, conneg.PAGE_TYPES)
    if kind == "ontology" and is_version_iri(store, iri):
        # The version IRI names the ontology as published now: send the client there.
        target = f"{url_prefix(settings)}/ontology"
        fmt = request.query_params.get("format")
        return RedirectResponse(target + (f"?format={quote(fmt)}" if fmt else ""),
                                status_code=303, headers=VARY)
    if media != conneg.HTML:
        body = rdf_document(store, iri, media)
        return Response(body, media_type=media, headers=VARY)
    path = f"{url_prefix(settings)}/{kind}/{quote(rest)}"
    page = resource_pages.html_page(request, kind, iri, path, settings, store,
                                    _alternates(path))
    if page is not None:
        return page
    view = resource_page(store, iri, settings.base_iri, settings.public_url)
    return render(request, settings, "resource.html", headers=VARY, view=view,
                  alternates=_alternates(path))


def _gone_or(request: Request, rest: str, settings: Settings, missing: NotFound) -> NotFound:
    """``missing`` for an unknown case; raises the tombstone's 410 for a withdrawn one."""
    if "/" in rest or "#" in rest:
        return missing
    stone = curation_for(request.app, settings).tombstone(iri_for_path(f"case/{rest}",
                                                                        settings.base_iri))
    if stone is not None:
        raise gone_error(stone) from None
    return missing


def _resource_route(kind: str) -> Callable[..., Response]:
    def resource(request: Request, rest: str, settings: SettingsDep,
                 store: StoreDep) -> Response:
        try:
            return _resource(request, kind, rest, settings, store)
        except NotFound as missing:
            if kind != "case":
                raise
            raise _gone_or(request, rest, settings, missing) from None
    resource.__doc__ = f"A resource under ``{kind}/``: HTML or RDF by content negotiation."
    return resource


def ontology_files(request: Request, settings: Settings) -> Path:
    """The published ontology's folder; checked (and built if needed) once per app."""
    folder: Path | None = getattr(request.app.state, "ontology_files", None)
    if folder is None:
        folder = ensure_built(settings.ontology_dir)
        request.app.state.ontology_files = folder
    return folder


@router.get("/ontology", response_class=Response)
def ontology(request: Request, settings: SettingsDep) -> Response:
    """The whole ontology: its HTML documentation or one of its RDF serialisations."""
    media = _choose(request, conneg.PAGE_TYPES)
    path = ontology_files(request, settings) / ONTOLOGY_FILES[media]
    if not path.is_file():
        raise NotFound(f"the ontology documentation {path.name} has not been built")
    return FileResponse(path, media_type=media, headers=VARY)


@router.get("/ontology/", include_in_schema=False, response_class=Response)
def ontology_slash(request: Request, settings: SettingsDep) -> Response:
    """Same as ``/ontology``."""
    return ontology(request, settings)


@router.get("/dumps/{filename}", response_class=Response)
def dump(filename: str, request: Request, backend: BackendDep) -> Response:
    """The public graphs as one file (N-Quads, Turtle or N-Triples), streamed; 304 if unchanged."""
    fmt = next((f for f in DUMP_FORMATS.values() if f.filename == filename), None)
    if fmt is None:
        raise NotFound(f"no dump {filename}; there are: "
                       + ", ".join(f.filename for f in DUMP_FORMATS.values()))
    tag = etag(backend, fmt)
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    wanted = {t.strip() for t in request.headers.get("if-none-match", "").split(",")}
    if tag in wanted or f"W/{tag}" in wanted or "*" in wanted:
        return Response(status_code=304, headers=headers)
    headers["Content-Disposition"] = f'inline; filename="{fmt.filename}"'
    return StreamingResponse(iter_dump(backend, fmt), media_type=fmt.media_type,
                             headers=headers)


@router.get("/.well-known/void", response_class=Response)
def void(request: Request, settings: SettingsDep, store: StoreDep) -> Response:
    """The VoID description of the dataset (Turtle, JSON-LD, HTML...)."""
    media = _choose(request, VOID_TYPES)
    summary = summarise(store, settings.public_url, settings.base_iri)
    if media == conneg.HTML:
        return render(request, settings, "void.html", headers=VARY, s=summary,
                      href=_href(settings))
    return Response(serialise(summary, _RDF_FORMATS[media]), media_type=media, headers=VARY)


# Last, so that ``/ontology`` and ``/ontology/`` above win over ``/ontology/{rest}``.
for _kind in DEREFERENCEABLE:
    router.add_api_route(f"/{_kind}/{{rest:path}}", _resource_route(_kind), methods=["GET"],
                         name=f"resource-{_kind}", response_class=Response)
