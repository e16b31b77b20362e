"""The case explorer (``/browse/cases``): facets, keyword search, charts, CSV and JSON.

Every state is in the URL (``?level=IRI&phase=IRI&q=words&page=2``), so a list can be shared,
bookmarked and reached with the back button; the page is plain HTML with links and a form, and
works without script. ``?format=csv`` and ``?format=json`` download every case of the list.
The facets are those of :data:`api.views.facets.FACETS`; ``?trajectory=IRI`` (for instance
``https://w3id.org/coprod/concept/failed``) lists the cases whose sources report that course.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from html import escape
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from coprod_kg.config import Settings
from coprod_kg.errors import BadInput, NotFound
from coprod_kg.storage.store import KnowledgeStore

from ..deps import get_settings, get_store
from ..rendering import render, request_language, url_prefix
from ..views import charts as chart_module
from ..views.case_index import MARK_END, MARK_START, CaseIndex, IndexCache
from ..views.explorer import Filter, export_rows, list_sparql, run, to_csv, to_json
from ..views.linked_data import local_href

router = APIRouter(tags=["pages"])

SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[KnowledgeStore, Depends(get_store)]
_LOCK = threading.Lock()
EXPLORER = "/browse/cases"


def case_index(request: Request, store: StoreDep) -> CaseIndex:
    """The index of the store's published state (built once per state, per process)."""
    cache: IndexCache | None = getattr(request.app.state, "case_index", None)
    if cache is None:
        with _LOCK:
            cache = getattr(request.app.state, "case_index", None)
            if cache is None:
                cache = IndexCache()
                request.app.state.case_index = cache
    return cache.get(store)


IndexDep = Annotated[CaseIndex, Depends(case_index)]


def marked(text: str) -> str:
    """HTML of a highlighted text: escaped, with the index's marks turned into ``<mark>``."""
    return escape(text).replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")


def query_link(prefix: str, sparql: str) -> str:
    """A link to the query page with ``sparql`` in its editor."""
    return f"{prefix}/query?" + urlencode({"query": sparql})


def _filter(request: Request) -> Filter:
    params = [(k, v) for k, v in request.query_params.multi_items()
              if k not in ("format", "lang")]
    return Filter.parse(params)


def _href(settings: Settings) -> Callable[[str], str]:
    def href(iri: str) -> str:
        return local_href(iri, settings.base_iri, settings.public_url) or iri
    return href


def _download(body: str, media: str, name: str) -> Response:
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get(EXPLORER, response_class=HTMLResponse)
def explore(request: Request, settings: SettingsDep, index: IndexDep) -> Response:
    """Explore the cases: facets with counts, keyword search, the list and its charts."""
    flt = _filter(request)
    lang = request_language(request)
    fmt = request.query_params.get("format", "html")
    if fmt in ("csv", "json"):
        rows = export_rows(index, flt, lang)
        if fmt == "csv":
            return _download(to_csv(rows), "text/csv; charset=utf-8", "cases.csv")
        return _download(to_json(rows, flt), "application/json", "cases.json")
    if fmt != "html":
        raise BadInput("format is html, csv or json")
    result = run(index, flt, lang)
    prefix = url_prefix(settings)
    base = prefix + EXPLORER

    def link(narrowed: Filter) -> str:
        return base + narrowed.query_string()

    found = chart_module.charts(index, flt, result.mask, lang, link)
    return render(request, settings, "explore.html", result=result, flt=flt, base=base,
                  marked=marked, href=_href(settings), charts=found,
                  sparql_link=query_link(prefix, list_sparql(flt)),
                  chart_sparql={c.name: query_link(prefix, c.sparql) for c in found},
                  query_string=flt.query_string(), size=len(index))


@router.get(EXPLORER + "/charts/{name}.csv", response_class=Response)
def chart_data(name: str, request: Request, settings: SettingsDep, index: IndexDep) -> Response:
    """The data of one of the explorer's charts, for the same filter, as CSV."""
    if name not in chart_module.NAMES:
        raise NotFound(f"no chart {name}; there are: {', '.join(chart_module.NAMES)}")
    flt = _filter(request)
    result = run(index, flt, request_language(request))
    base = url_prefix(settings) + EXPLORER
    chart = next(c for c in chart_module.charts(index, flt, result.mask,
                                                request_language(request),
                                                lambda f: base + f.query_string())
                 if c.name == name)
    rows = [dict(zip(chart.columns, row, strict=True)) for row in chart.rows]
    return _download(to_csv(rows, chart.columns), "text/csv; charset=utf-8", f"{name}.csv")
