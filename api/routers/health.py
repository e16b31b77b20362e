"""Liveness (``/health``) and readiness (``/ready``: the store is open and loaded)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from coprod_kg.config import Settings
from coprod_kg.storage.store import KnowledgeStore

from ..deps import get_settings

router = APIRouter(tags=["operations"])


@router.get("/health")
async def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready")
async def ready(request: Request,
                settings: Annotated[Settings, Depends(get_settings)]) -> JSONResponse:
    """200 when the store is open and loaded, else 503."""
    store: KnowledgeStore | None = getattr(request.app.state, "store", None)
    if store is None or not store.ready():
        return JSONResponse({"status": "not ready", "store": str(settings.store)},
                            status_code=503, headers={"Retry-After": "5"})
    return JSONResponse({"status": "ready", "graphs": len(store.graphs())})
