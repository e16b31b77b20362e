"""FastAPI dependencies: the settings and the store, both overridable in tests.

Override with ``app.dependency_overrides[get_settings] = lambda: my_settings`` (or
``get_store``); ``create_app(settings, store=...)`` also takes them directly.
"""

from __future__ import annotations

from fastapi import Request

from coprod_kg.config import Settings
from coprod_kg.storage.store import KnowledgeStore, StoreNotReady


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_store(request: Request) -> KnowledgeStore:
    """The store the app queries (worker pool in production)."""
    store: KnowledgeStore | None = getattr(request.app.state, "store", None)
    if store is None:
        raise StoreNotReady("the store is not open yet")
    return store
