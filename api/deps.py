"""FastAPI dependencies: the settings, the back end and the store, overridable in tests.

Override with ``app.dependency_overrides[get_settings] = lambda: my_settings`` (or
``get_store``); ``create_app(settings, store=...)`` also takes them directly.
"""

from __future__ import annotations

import threading

from fastapi import FastAPI, Request

from coprod_kg.config import Settings
from coprod_kg.runtime import open_backend
from coprod_kg.storage.backend import Backend
from coprod_kg.storage.store import KnowledgeStore, StoreNotReady


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    # async (here and in get_store): FastAPI runs a plain ``def`` dependency in a thread, a hop
    # (two context switches and a GIL hand-over) per request, for an attribute read
    settings: Settings = request.app.state.settings
    return settings


async def get_store(request: Request) -> KnowledgeStore:
    """The store the app queries (worker pool in production)."""
    store: KnowledgeStore | None = getattr(request.app.state, "store", None)
    if store is None:
        raise StoreNotReady("the store is not open yet")
    return store


_LOCK = threading.Lock()


def backend_for(app: FastAPI) -> Backend:
    """The app's back end: opened by the lifespan (or, when an app runs without one, as in
    some tests, at the first request that needs it)."""
    backend: Backend | None = getattr(app.state, "backend", None)
    if backend is None:
        with _LOCK:
            backend = getattr(app.state, "backend", None)
            if backend is None:
                backend = open_backend(app.state.settings)
                app.state.backend = backend
    return backend


def get_backend(request: Request) -> Backend:
    """The back end the app's curation and dumps use."""
    return backend_for(request.app)
