"""Jinja2 templates of the web pages, and the helpers every page needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from coprod_kg.config import Settings

from .views.i18n import LANGUAGES, choose_language, translate
from .views.resource_view import curie

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.filters["curie"] = curie


def _t(translator: Any, text: str) -> str:
    """The template helper ``_t(t, "words")``: ``t`` when the page has one, else ``text``."""
    return str(translator(text)) if callable(translator) else text


templates.env.globals["_t"] = _t


def url_prefix(settings: Settings) -> str:
    """The path of the public address (``""`` when the server sits at the root of its host)."""
    return urlsplit(settings.public_url).path.rstrip("/")


LANG_COOKIE = "lang"


def request_language(request: Request) -> str:
    """The reader's language: ``?lang=``, the remembered switch, then ``Accept-Language``."""
    return choose_language(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE),
                           request.headers.get("accept-language"))


def language_links(request: Request) -> list[tuple[str, str, str]]:
    """(code, name, link) for the language switch: this page with ``?lang=`` set."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return [(code, name, request.url.path + "?" + urlencode([*params, ("lang", code)]))
            for code, name in LANGUAGES.items()]


def render(request: Request, settings: Settings, name: str, status_code: int = 200,
           headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    """Render template ``name`` with ``context`` plus ``prefix`` (for links), ``settings``, the
    reader's language ``lang`` and ``t`` (the pages' words in that language)."""
    lang = request_language(request)
    headers = dict(headers or {})
    vary = [v.strip() for v in headers.get("Vary", "").split(",") if v.strip()]
    headers["Vary"] = ", ".join([*vary, "Accept-Language", "Cookie"])
    response = templates.TemplateResponse(
        request, name, {"prefix": url_prefix(settings), "settings": settings, "lang": lang,
                        "t": lambda text: translate(lang, text),
                        "languages": language_links(request), **context},
        status_code=status_code, headers=headers)
    chosen = request.query_params.get("lang", "").lower()
    if chosen in LANGUAGES:
        # A preference, not a secret: readable by this site's scripts only, never sent
        # cross-site.
        response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, samesite="lax",
                            path=url_prefix(settings) + "/")
    return response
