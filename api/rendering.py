"""Jinja2 templates of the web pages, and the helpers every page needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from coprod_kg.config import Settings
from coprod_kg.resource_view import curie

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.filters["curie"] = curie


def url_prefix(settings: Settings) -> str:
    """The path of the public address (``""`` when the server sits at the root of its host)."""
    return urlsplit(settings.public_url).path.rstrip("/")


def render(request: Request, settings: Settings, name: str, status_code: int = 200,
           headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    """Render template ``name`` with ``context`` plus ``prefix`` (for links) and ``settings``."""
    return templates.TemplateResponse(
        request, name, {"prefix": url_prefix(settings), "settings": settings, **context},
        status_code=status_code, headers=headers)
