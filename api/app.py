"""The application factory: ``create_app(settings)`` wires routers, errors, CORS and the store."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import cast

from fastapi import APIRouter, FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State

from coprod_kg import __version__
from coprod_kg.config import Settings, load_settings
from coprod_kg.errors import CoprodError
from coprod_kg.runtime import take_prestarted_store
from coprod_kg.storage.store import KnowledgeStore, prepare
from coprod_kg.validation.worker import ValidationPool, install, uninstall

from .caching import AnswerCaching
from .cors import SITE_POLICY, PublicCORS
from .deps import backend_for
from .errors import install_error_handlers
from .forwarding import ReaderPeers, WriterForwarding
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
from .views.linked_data import DEREFERENCEABLE
from .workflow import close_curation, open_if_loaded

logger = logging.getLogger(__name__)
#: The validation workers' warm-up waits for the query store, at most 60 s in 0.25 s steps.
WARM_WAIT_STEP, WARM_WAIT_STEPS = 0.25, 240

#: Every router, in the order their routes are matched.
ROUTERS: tuple[APIRouter, ...] = (
    sparql.router, health.router, validate.router, curation.router, linked_data.router,
    pages.router, explore.router, curation_pages.router, docs.router,
)
#: GET paths whose answers depend only on the published state and the request (so they are
#: tagged and kept by api.caching): pages, VoID, the ontology, and every dereferenceable IRI.
CACHED_PATHS = ("/", "/query", "/ontology", "/ontology/", "/.well-known/void",
                "/browse/concepts", "/browse/organisations", "/browse/sources", explore.EXPLORER)
CACHED_PREFIXES = (*(f"/{kind}/" for kind in DEREFERENCEABLE), explore.EXPLORER + "/charts/")


class AppState(State):
    """Starlette's ``app.state``, keeping its values as the object's own attributes.

    Starlette's :class:`~starlette.datastructures.State` keeps them in a dictionary behind
    ``__getattr__``, so every read first fails the ordinary lookup and builds an
    ``AttributeError`` (about 2,000 instructions; a first-time lookup reads the app's state
    eight times). The same interface: a name never set still raises ``AttributeError``.
    """

    def __init__(self) -> None:
        super().__init__()
        object.__setattr__(self, "_state", self.__dict__)  # setattr and delattr write here


def create_app(settings: Settings, store: KnowledgeStore | None = None,
               warm_validation: bool = False) -> FastAPI:
    """Build the app. Without ``store``, the back end of ``settings`` (embedded worker pool or
    remote SPARQL server) is opened at startup and closed at shutdown. ``warm_validation``
    starts the validation workers in the background at startup (the served app does), so
    that the first large uploads do not start them while other clients query."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The server's composition root: one back end, handed to curation, dumps and queries.
        backend = backend_for(app)
        # The read side (embedded worker pool, or the remote server; `coprod-kg serve` started
        # it already) comes up while curation's writer opens and recovers from a crash: both
        # before the first query.
        starting: list[Awaitable[object]] = [run_in_threadpool(open_if_loaded, app, settings)]
        if getattr(app.state, "store", None) is None:
            starting.append(run_in_threadpool(
                lambda: take_prestarted_store(settings) or backend.store()))
        started = await asyncio.gather(*starting, return_exceptions=True)
        owned: KnowledgeStore | None = None
        if len(started) > 1 and not isinstance(started[1], BaseException):
            owned = cast(KnowledgeStore, started[1])
            app.state.store = owned
        failed = next((r for r in started if isinstance(r, BaseException)), None)
        if failed is not None:
            close_curation(app)
            if owned is not None:
                owned.close()
                app.state.store = None
            backend.close()
            raise failed
        validation = ValidationPool(settings)  # uploads are validated in its workers
        app.state.validation_pool = validation
        install(validation)
        if warm_validation:
            threading.Thread(target=_warm, args=(validation, app.state.store),
                             name="coprod-validation-warm-up",
                             daemon=True).start()
        try:
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
        # FastAPI's native OpenTelemetry looks up the global providers on every request (about
        # 3 % of a light lookup's instructions); the server exports nothing, its access log
        # and /health are its telemetry.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state = AppState()
    app.state.settings = settings
    app.state.store = store
    install_error_handlers(app)
    # Added before CORS, so CORS wraps it: answers from the cache get its headers too.
    app.add_middleware(AnswerCaching, paths=CACHED_PATHS, prefixes=CACHED_PREFIXES,
                       sparql=sparql.sparql_lane)
    app.add_middleware(PublicCORS, **SITE_POLICY)
    # Outermost: the processes of `coprod-kg serve --workers N` on the embedded store
    # (api.forwarding). A reader forwards what needs the writer before anything else runs; the
    # writer takes the client a reader vouches for before budgets and caching look at it.
    if settings.writer_socket:
        app.add_middleware(WriterForwarding, socket_path=settings.writer_socket,
                           token=settings.reader_token, routes=curation.router.routes,
                           max_body=settings.max_request_bytes)
    elif settings.reader_token:
        app.add_middleware(ReaderPeers, token=settings.reader_token)
    for router in ROUTERS:
        app.include_router(router)
    return app


def _warm(pool: ValidationPool, store: KnowledgeStore | None) -> None:
    """Start the validation workers once the store answers (so that they do not delay the
    server's readiness); one that fails to start is started again on first use."""
    for _ in range(WARM_WAIT_STEPS):
        if store is None or _answers(store):
            break
        time.sleep(WARM_WAIT_STEP)
    try:
        pool.warm()
    except CoprodError as exc:
        logger.warning("validation workers not started ahead: %s", exc)


def _answers(store: KnowledgeStore) -> bool:
    """Whether the store answers a query now (its workers are up and it is loaded)."""
    try:
        store.query(prepare("ASK {}"))
    except CoprodError:
        return False
    return True


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory``: settings from the ``COPROD_*`` variables."""
    return create_app(load_settings(), warm_validation=True)
