"""The API reference at ``/docs``, served entirely from this server (no CDN).

Swagger UI's files come from the npm package ``swagger-ui-dist``, copied into
``api/static/swagger-ui/`` at build time by ``scripts/fetch-npm-assets.sh`` (like the query
editor). ReDoc is not offered: its bundle fetches web fonts from another origin.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

from coprod_kg.config import Settings
from coprod_kg.errors import NotFound

from ..deps import get_settings
from ..rendering import STATIC_DIR, url_prefix

router = APIRouter(include_in_schema=False)
SWAGGER_FILES = ("swagger-ui/swagger-ui-bundle.js", "swagger-ui/swagger-ui.css")


@router.get("/docs", response_class=HTMLResponse)
def swagger(request: Request, settings: Annotated[Settings, Depends(get_settings)]
            ) -> HTMLResponse:
    """Swagger UI over ``/openapi.json``, its script and style sheet served from here."""
    if not all((STATIC_DIR / name).is_file() for name in SWAGGER_FILES):
        raise NotFound("the API reference's files are not installed: run "
                       "scripts/fetch-npm-assets.sh (make install does)")
    prefix = url_prefix(settings)
    page = get_swagger_ui_html(
        openapi_url=prefix + (request.app.openapi_url or "/openapi.json"),
        title="coprod-kg API reference",
        swagger_js_url=f"{prefix}/static/{SWAGGER_FILES[0]}",
        swagger_css_url=f"{prefix}/static/{SWAGGER_FILES[1]}",
        swagger_favicon_url="data:,",
        # deep links put a link inside each operation's button (nested controls, WCAG 4.1.2)
        swagger_ui_parameters={"deepLinking": False},
        oauth2_redirect_url=prefix + "/docs/oauth2-redirect")
    # FastAPI's page has no language and Swagger UI's greys miss WCAG AA: add both.
    html = bytes(page.body).decode("utf-8").replace("<html>", '<html lang="en">', 1).replace(
        "</head>", f'<link rel="stylesheet" href="{prefix}/static/css/docs.css">\n</head>', 1)
    return HTMLResponse(html)


@router.get("/docs/oauth2-redirect", response_class=HTMLResponse)
def swagger_redirect() -> HTMLResponse:
    """Swagger UI's OAuth2 redirect page (unused by bearer tokens, kept for completeness)."""
    return get_swagger_ui_oauth2_redirect_html()
