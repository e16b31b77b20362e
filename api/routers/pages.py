"""Web pages for people: home, the query editor, browse lists, and the static files they use."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from coprod_kg import bundle
from coprod_kg.config import Settings
from coprod_kg.errors import BadInput, NotFound
from coprod_kg.quality.competency import CompetencyQuestion, list_questions
from coprod_kg.rdf.parsing import CONTEXT_FILE
from coprod_kg.storage.store import KnowledgeStore

from ..deps import get_settings, get_store
from ..rendering import STATIC_DIR, render, request_language, url_prefix
from ..views import catalogue
from ..views.charts import charts
from ..views.explorer import Filter
from ..views.figure import render_svg
from ..views.linked_data import local_href
from .explore import EXPLORER, IndexDep, query_link

router = APIRouter(tags=["pages"])

SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[KnowledgeStore, Depends(get_store)]
#: The competency questions offered as example queries.
EXAMPLES_DIR = bundle.path("competency")
YASGUI_FILES = ("yasgui/yasgui.min.js", "yasgui/yasgui.min.css")


def _href(settings: Settings) -> Callable[[str], str]:
    def href(iri: str) -> str:
        return local_href(iri, settings.base_iri, settings.public_url) or iri
    return href


@router.get("/", response_class=HTMLResponse)
def home(request: Request, settings: SettingsDep, store: StoreDep,
         index: IndexDep) -> HTMLResponse:
    """What the knowledge graph is, how much it holds, and its cases in four charts."""
    prefix = url_prefix(settings)
    figure = render_svg(catalogue.level_phase_grid(store),
                        link=prefix + "/browse/cases?level={level}&phase={phase}")
    everything = Filter()
    base = prefix + EXPLORER
    others = [c for c in charts(index, everything, index.all, request_language(request),
                                lambda f: base + f.query_string())
              if c.name != "level-phase"]
    return render(request, settings, "home.html", counts=catalogue.kind_counts(
        store, settings.base_iri), counted=catalogue.COUNTED,
        triples=catalogue.triple_count(store), figure=figure, charts=others, base=base,
        chart_sparql={c.name: query_link(prefix, c.sparql) for c in others},
        level_phase_sparql=query_link(prefix, next(
            c.sparql for c in charts(index, everything, index.all, "en", lambda f: "")
            if c.name == "level-phase")))


def examples(request: Request) -> list[CompetencyQuestion]:
    """The example questions, read once per app (bundled with the package)."""
    cached: list[CompetencyQuestion] | None = getattr(request.app.state, "example_queries", None)
    if cached is None:
        cached = list_questions(EXAMPLES_DIR) if EXAMPLES_DIR.is_dir() else []
        request.app.state.example_queries = cached
    return cached


@router.get("/query", response_class=HTMLResponse)
def query_page(request: Request, settings: SettingsDep, query: str = "") -> HTMLResponse:
    """The SPARQL editor (YASGUI, served from here), preloaded with the competency questions,
    or with ``?query=`` (the explorer's "this list as SPARQL" links here)."""
    if len(query) > 20_000:
        raise BadInput("the query is longer than 20,000 characters")
    found = examples(request)
    payload = [{"name": q.name, "question": q.question, "query": q.query} for q in found]
    # Safe inside <script>: no "</" can close the element early.
    examples_json = json.dumps(payload).replace("</", "<\\/")
    yasgui = all((STATIC_DIR / name).is_file() for name in YASGUI_FILES)
    return render(request, settings, "query.html", examples=found, examples_json=examples_json,
                  endpoint=f"{url_prefix(settings)}/sparql", yasgui=yasgui, query=query)


@router.get("/browse/concepts", response_class=HTMLResponse)
def browse_concepts(request: Request, settings: SettingsDep, store: StoreDep) -> HTMLResponse:
    """Every concept scheme and its concepts."""
    return render(request, settings, "concepts.html", schemes=catalogue.schemes(store),
                  href=_href(settings))


@router.get("/browse/organisations", response_class=HTMLResponse)
def browse_organisations(request: Request, settings: SettingsDep,
                         store: StoreDep) -> HTMLResponse:
    """Every organisation that provides or takes part in a case."""
    return render(request, settings, "browse.html", heading="Organisations",
                  intro="Organisations that provide a service or through which citizens act.",
                  tables=[catalogue.organisations(store)], filters=[], href=_href(settings))


@router.get("/browse/sources", response_class=HTMLResponse)
def browse_sources(request: Request, settings: SettingsDep, store: StoreDep) -> HTMLResponse:
    """Every bibliographic resource: the paper's references and the sources of the cases."""
    return render(request, settings, "browse.html", heading="Sources",
                  intro="The works the ontology and the case records cite.",
                  tables=[catalogue.sources(store)], filters=[], href=_href(settings))


@router.get("/static/{path:path}", include_in_schema=False, response_class=Response)
def static(path: str) -> Response:
    """A file under ``api/static`` (style sheet, scripts, the YASGUI bundle)."""
    target = (STATIC_DIR / path).resolve()
    if not target.is_relative_to(STATIC_DIR.resolve()) or not target.is_file():
        raise NotFound(f"no static file {path}")
    media, _ = mimetypes.guess_type(target.name)
    return FileResponse(target, media_type=media or "application/octet-stream",
                        headers={"Cache-Control": "public, max-age=3600"})


@router.get("/context.jsonld", response_class=FileResponse,
            summary="The JSON-LD context for writing case records as plain JSON")
def jsonld_context() -> FileResponse:
    """``https://w3id.org/coprod/context.jsonld``: the context curators' JSON records name.

    The validator resolves it from the same file without fetching it (no outbound request).
    """
    return FileResponse(CONTEXT_FILE, media_type="application/ld+json")
