"""What an answer depends on, as one key: the site, the published state and the request.

:func:`sparql_params_key` and :func:`page_key` digest them (:func:`~coprod_kg.caching.answers.
answer_key`); the same digest, quoted, is the answer's entity tag. :func:`answers_for` keeps
the app's answer cache beside its site identity, and :class:`SparqlGet` carries what
:class:`api.caching.AnswerCaching` read of a ``GET /sparql`` to the lean route, so that the
route does not read it again. The HTTP side (``304``, the middleware): :mod:`api.caching`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import cookie_parser
from starlette.types import Scope

from coprod_kg import __version__
from coprod_kg.caching.answers import AnswerCache, answer_key
from coprod_kg.config import Settings
from coprod_kg.errors import CoprodError
from coprod_kg.rdf.conneg import negotiate_query
from coprod_kg.rdf.formats import QueryForm
from coprod_kg.storage.store import KnowledgeStore

from .rendering import LANG_COOKIE, TEMPLATES_DIR
from .views.i18n import choose_language


@lru_cache(maxsize=8)
def _templates_digest(folder: str) -> str:
    digest = hashlib.sha256()
    for path in sorted(TEMPLATES_DIR.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def site_identity(settings: Settings) -> str:
    """What every answer depends on besides the state and the request: the code's version,
    the public address and base IRI, and the page templates."""
    return "|".join((__version__, settings.public_url, settings.base_iri,
                     _templates_digest(str(TEMPLATES_DIR))))


@dataclass
class Answers:
    """The app's answer cache and site identity (made once per app by :func:`answers_for`)."""

    settings: Settings
    cache: AnswerCache
    site: str


def answers_for(app: Any) -> Answers:
    """The :class:`Answers` of ``app`` (rebuilt when its settings object changes)."""
    settings: Settings = app.state.settings
    current: Answers | None = getattr(app.state, "answers", None)
    if current is None or current.settings is not settings:
        current = Answers(settings, AnswerCache(settings.answer_cache_bytes),
                          site_identity(settings))
        app.state.answers = current
    return current


async def published_state(store: KnowledgeStore | None) -> str | None:
    """The store's published state (``None``: unknown, so nothing is cached or tagged); read on
    the event loop when it is a local file, else in a thread."""
    read: Callable[[], str | None] | None = getattr(store, "published_state", None)
    if read is None:
        return None
    if getattr(store, "local_state", False):
        return read()
    return await run_in_threadpool(read)


#: The protocol parameters of SPARQL Update, which the read-only endpoint refuses.
UPDATE_PARAMS = ("update", "using-graph-uri", "using-named-graph-uri")


@lru_cache(maxsize=512)
def sparql_variant(accept: str | None, format_param: str | None) -> str:
    """The formats a query of each form would be answered in: what the answer's bytes depend on
    among the client's format wishes (so two spellings of one wish share an answer)."""
    chosen = []
    for form in QueryForm:
        try:
            chosen.append(negotiate_query(form, accept, format_param).name)
        except CoprodError as exc:  # answered with an error, which is never kept
            chosen.append(f"!{type(exc).__name__}")
    return ",".join(chosen)


def sparql_key(site: str, state: str, query: str, default_graphs: Iterable[str],
               named_graphs: Iterable[str], accept: str | None,
               format_param: str | None) -> str:
    """The key (and entity tag) of a SPARQL query's answer in ``state``."""
    return answer_key(state, site, "sparql", query, "\x01".join(default_graphs),
                      "\x01".join(named_graphs), sparql_variant(accept, format_param))


def grouped_params(params: list[tuple[str, str]]) -> dict[str, list[str]]:
    """The values of each protocol parameter, in order (one pass over the parameters)."""
    grouped: dict[str, list[str]] = {}
    for name, value in params:
        grouped.setdefault(name, []).append(value)
    return grouped


def sparql_params_key(site: str, state: str, grouped: dict[str, list[str]],
                      accept: str | None) -> str | None:
    """:func:`sparql_key` of decoded protocol parameters (:func:`grouped_params`); ``None``
    unless they hold exactly one query and nothing an error would answer (updates)."""
    queries = grouped.get("query", ())
    if len(queries) != 1 or any(name in grouped for name in UPDATE_PARAMS):
        return None
    formats = grouped.get("format") or grouped.get("output")
    return sparql_key(site, state, queries[0], grouped.get("default-graph-uri", ()),
                      grouped.get("named-graph-uri", ()), accept,
                      formats[-1] if formats else None)


def page_key(site: str, state: str, scope: Scope, headers: dict[bytes, str]) -> str:
    """The key of a page's or document's answer in ``state``: path, query string, Accept,
    the language chosen and the one remembered (``headers``: the first value of each)."""
    cookie = headers.get(b"cookie")
    remembered = cookie_parser(cookie).get(LANG_COOKIE) if cookie else None
    language = choose_language(None, remembered, headers.get(b"accept-language"))
    query_string: bytes = scope.get("query_string", b"")
    return answer_key(state, site, "page", scope["path"], query_string.decode("latin-1"),
                      (headers.get(b"accept") or "").strip(), language,
                      remembered or "")



#: The scope key under which :class:`AnswerCaching` hands the lean route what it read.
SPARQL_GET = "coprod.sparql_get"


@dataclass(frozen=True)
class SparqlGet:
    """What :class:`AnswerCaching` read of an anonymous ``GET /sparql`` it did not answer:
    the decoded parameters (as they came and :func:`grouped_params`), the ``Accept`` header,
    the published state and the answer's key (``None``: not cacheable), so that the lean route
    does not read them again."""

    params: list[tuple[str, str]]
    grouped: dict[str, list[str]]
    accept: str | None
    state: str
    key: str | None
