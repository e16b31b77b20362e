"""The application factory: ``create_app(settings)`` wires routers, errors, CORS and the store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool

from coprod_kg import __version__
from coprod_kg.config import Settings, load_settings
from coprod_kg.runtime import take_prestarted_store
from coprod_kg.storage.store import KnowledgeStore
from coprod_kg.validation.worker import ValidationPool, install, uninstall

from .deps import backend_for
from .errors import install_error_handlers
from .routers import (
    curation,
    curation_pages,
    docs,
    explore,
    health,
    linked_data,
    pages,
    sparql,
    validate,
)
from .workflow import close_curation, open_if_loaded

#: Every router, in the order their routes are matched.
ROUTERS: tuple[APIRouter, ...] = (
    sparql.router, health.router, validate.router, curation.router, linked_data.router,
    pages.router, explore.router, curation_pages.router, docs.router,
)


def create_app(settings: Settings, store: KnowledgeStore | None = None) -> FastAPI:
    """Build the app. Without ``store``, the back end of ``settings`` (embedded worker pool or
    remote SPARQL server) is opened at startup and closed at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The server's composition root: one back end, handed to curation, dumps and queries.
        backend = backend_for(app)
        owned = None
        if getattr(app.state, "store", None) is None:
            # embedded worker pool, or the remote server; `coprod-kg serve` started it already
            owned = take_prestarted_store(settings) or backend.store()
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
            app.state.backend = None
            backend.close()

    app = FastAPI(
        title="coprod-kg",
        version=__version__,
        description="The knowledge graph of the co-production of public services: a read-only "
        "SPARQL 1.1 endpoint, linked-data pages, validation of case records, and the curation "
        "workflow (submissions, review, versioned cases with history).",
        lifespan=lifespan,
        docs_url=None,  # served by routers/docs.py from local files (no CDN)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store
    install_error_handlers(app)
    # Any origin may read; writes need a bearer token, never cookies, so no credentials mode.
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=False,
                       allow_methods=["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"],
                       allow_headers=["*"], expose_headers=["ETag", "Location"])
    for router in ROUTERS:
        app.include_router(router)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory``: settings from the ``COPROD_*`` variables."""
    return create_app(load_settings())
