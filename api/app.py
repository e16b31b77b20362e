"""The application factory: ``create_app(settings)`` wires routers, errors, CORS and the store."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool

from api.errors import install_error_handlers
from api.routers import curation, health, sparql, validate
from api.workflow import close_curation, open_if_loaded
from coprod_kg import __version__
from coprod_kg.backend import open_store
from coprod_kg.config import Settings, load_settings
from coprod_kg.store import KnowledgeStore
from coprod_kg.validation_worker import ValidationPool, install, uninstall

#: Routers other modules provide; each is included when its module exists.
OPTIONAL_ROUTERS: tuple[str, ...] = ("api.routers.linked_data", "api.routers.pages",
                                     "api.routers.explore", "api.routers.curation_pages",
                                     "api.routers.docs")


def _optional_routers() -> list[APIRouter]:
    routers = []
    for name in OPTIONAL_ROUTERS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        routers.append(module.router)
    return routers


def create_app(settings: Settings, store: KnowledgeStore | None = None) -> FastAPI:
    """Build the app. Without ``store``, the back end of ``settings`` (embedded worker pool or
    remote SPARQL server) is opened at startup and closed at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = None
        if getattr(app.state, "store", None) is None:
            owned = open_store(settings)  # embedded worker pool, or the remote server
            app.state.store = owned
        validation = ValidationPool(settings)  # uploads are validated in its workers
        app.state.validation_pool = validation
        install(validation)
        try:
            await run_in_threadpool(open_if_loaded, app, settings)
            yield
        finally:
            uninstall(validation)
            validation.close()
            close_curation(app)
            if owned is not None:
                owned.close()
                app.state.store = None

    app = FastAPI(
        title="coprod-kg",
        version=__version__,
        description="The knowledge graph of the co-production of public services: a read-only "
        "SPARQL 1.1 endpoint, linked-data pages, validation of case records, and the curation "
        "workflow (submissions, review, versioned cases with history).",
        lifespan=lifespan,
        docs_url=None,  # served by api.routers.docs from local files (no CDN)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store
    install_error_handlers(app)
    # Any origin may read; writes need a bearer token, never cookies, so no credentials mode.
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=False,
                       allow_methods=["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"],
                       allow_headers=["*"], expose_headers=["ETag", "Location"])
    app.include_router(sparql.router)
    app.include_router(health.router)
    app.include_router(validate.router)
    app.include_router(curation.router)
    for router in _optional_routers():
        app.include_router(router)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory``: settings from the ``COPROD_*`` variables."""
    return create_app(load_settings())
