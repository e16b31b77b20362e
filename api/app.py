"""The application factory: ``create_app(settings)`` wires routers, errors, CORS and the store."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api.errors import install_error_handlers
from api.routers import health, sparql
from coprod_kg import __version__
from coprod_kg.config import Settings, load_settings
from coprod_kg.query_worker import PooledStore
from coprod_kg.store import KnowledgeStore

#: Routers other modules provide; each is included when its module exists.
OPTIONAL_ROUTERS: tuple[str, ...] = ("api.routers.linked_data", "api.routers.pages")


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
    """Build the app. Without ``store``, a worker-pool store over ``settings.store`` is opened at
    startup and closed at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = None
        if getattr(app.state, "store", None) is None:
            owned = PooledStore(settings.store, settings.query_workers, settings.query_timeout,
                                settings.max_results)
            app.state.store = owned
        try:
            yield
        finally:
            if owned is not None:
                owned.close()
                app.state.store = None

    app = FastAPI(
        title="coprod-kg",
        version=__version__,
        description="The knowledge graph of the co-production of public services: a read-only "
        "SPARQL 1.1 endpoint and linked-data pages.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    install_error_handlers(app)
    # Public, read-only data: any origin may read it, and no credentials are ever involved.
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=False,
                       allow_methods=["GET", "POST", "HEAD", "OPTIONS"], allow_headers=["*"])
    app.include_router(sparql.router)
    app.include_router(health.router)
    for router in _optional_routers():
        app.include_router(router)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory``: settings from the ``COPROD_*`` variables."""
    return create_app(load_settings())
