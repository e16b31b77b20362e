"""The pages of cases, concepts and sources for people, and their citations by negotiation.

:mod:`api.routers.linked_data` dereferences every IRI; for these three kinds it asks here first.
A case reads like a case study, a concept like a dictionary entry, a source like a reference;
each also answers ``application/x-bibtex``, ``application/x-research-info-systems`` and
``application/vnd.citationstyles.csl+json`` (or ``?format=bibtex|ris|csljson``).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from fastapi.responses import Response

from coprod_kg.config import Settings
from coprod_kg.errors import NotFound
from coprod_kg.rdf import conneg
from coprod_kg.storage.store import KnowledgeStore

from ..rendering import render, request_language, url_prefix
from ..views import citation
from ..views.case_index import iter_bits
from ..views.case_study import case_study
from ..views.concept_page import concept_page
from ..views.explorer import Filter
from ..views.linked_data import local_href
from ..views.resource_view import ResourceView, resource_page
from ..views.source_page import cited_by
from .explore import EXPLORER, case_index

#: Kinds whose IRIs can be cited, and the builder of each one's CSL-JSON item.
CITABLE: dict[str, Callable[[KnowledgeStore, str], dict[str, object]]] = {
    "case": citation.case_item, "source": citation.source_item, "concept": citation.concept_item,
}
OFFERED = (*conneg.PAGE_TYPES, *citation.FORMATS)
MAX_RELATED = 12


def chosen_media(request: Request, kind: str) -> str | None:
    """The citation format a request asks for (``?format=`` or ``Accept``), else ``None``."""
    if kind not in CITABLE:
        return None
    fmt = request.query_params.get("format")
    if fmt:
        return citation.BY_NAME.get(fmt.lower())
    media = conneg.negotiate(request.headers.get("accept"), OFFERED)
    return media if media in citation.FORMATS else None


def citation_response(media: str, item: dict[str, object], download: bool = False) -> Response:
    """The item in ``media``, as a download when asked (``?download=1``) or when it is a file."""
    _, extension = citation.FORMATS[media]
    disposition = "attachment" if download else "inline"
    return Response(citation.render(item, media), media_type=media,
                    headers={"Vary": "Accept", "Content-Disposition":
                             f'{disposition}; filename="{item["id"]}.{extension}"'})


def cite_response(request: Request, kind: str, iri: str, media: str,
                  store: KnowledgeStore) -> Response:
    """The citation of ``iri`` in ``media``."""
    item = CITABLE[kind](store, iri)
    return citation_response(media, item, request.query_params.get("download") == "1")


def cite_links(path: str) -> list[tuple[str, str, str]]:
    """(name, media type, link) for the download links of a page's citation."""
    names = {"bibtex": "BibTeX", "ris": "RIS", "csljson": "CSL-JSON"}
    return [(names[name], media, f"{path}?format={name}&download=1")
            for media, (name, _) in citation.FORMATS.items()]


def _raw(store: KnowledgeStore, iri: str, settings: Settings) -> ResourceView:
    return resource_page(store, iri, settings.base_iri, settings.public_url)


def html_page(request: Request, kind: str, iri: str, path: str, settings: Settings,
              store: KnowledgeStore, alternates: list[tuple[str, str, str]]) -> Response | None:
    """The page of a case, concept or source; ``None`` to fall back to the generic page."""
    lang = request_language(request)
    prefix = url_prefix(settings)
    headers = {"Vary": "Accept"}

    def href(target: str) -> str:
        return local_href(target, settings.base_iri, settings.public_url) or target

    if kind == "case":
        study = case_study(store, iri, lang)
        index = case_index(request, store)
        related: list[tuple[str, str, list[str]]] = []
        position = index.position.get(iri)
        if position is not None:
            reasons: dict[int, list[str]] = {}
            for facet in ("relation", "servicekind"):
                for value, mask in index.masks.get(facet, {}).items():
                    if mask >> position & 1:
                        for other in iter_bits(mask & ~(1 << position)):
                            reasons.setdefault(other, []).append(index.label(value, lang))
            ranked = sorted(reasons, key=lambda p: (-len(reasons[p]),
                                                    index.records[p].title(lang).lower()))
            related = [(index.records[p].iri, index.records[p].title(lang), reasons[p])
                       for p in ranked[:MAX_RELATED]]
        item = citation.case_item(store, iri)
        return render(request, settings, "case.html", headers=headers, href=href, study=study,
                      related=related, raw=_raw(store, iri, settings), alternates=alternates,
                      cite=citation.citation(item), cite_links=cite_links(path),
                      explorer=prefix + EXPLORER)
    if kind == "concept":
        index = case_index(request, store)
        page = concept_page(store, iri, index, lang)
        explore = (prefix + EXPLORER + Filter(((page.explore, iri),)).query_string()
                   if page.explore else "")
        return render(request, settings, "concept.html", headers=headers, href=href, page=page,
                      explore=explore, raw=_raw(store, iri, settings), alternates=alternates,
                      cite=citation.citation(citation.concept_item(store, iri)),
                      cite_links=cite_links(path))
    if kind == "source":
        try:
            item = citation.source_item(store, iri)
        except NotFound:
            return None  # a person, a journal: the generic page
        return render(request, settings, "source.html", headers=headers, href=href, item=item,
                      cite=citation.citation(item), cited=cited_by(store, iri, lang),
                      raw=_raw(store, iri, settings), alternates=alternates,
                      cite_links=cite_links(path))
    return None
