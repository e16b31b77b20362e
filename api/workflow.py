"""The curation service of the app: opened at start-up (or the first request that needs it),
closed at shutdown. At start-up its writer is opened (the server is the one writer process of an
embedded store), which first repairs what a crash left half done: an interrupted write is rolled
forward or back, entailments and the manifest are checked against the store, before serving.
"""

from __future__ import annotations

import logging
import threading

from fastapi import FastAPI, Request

from coprod_kg.config import Settings
from coprod_kg.curation import Curation
from coprod_kg.errors import StoreBusy

from .deps import backend_for

_LOCK = threading.Lock()
log = logging.getLogger(__name__)


def curation_for(app: FastAPI, settings: Settings) -> Curation:
    """The app's curation service, opened once (thread-safe)."""
    service: Curation | None = getattr(app.state, "curation", None)
    if service is None:
        with _LOCK:
            service = getattr(app.state, "curation", None)
            if service is None:
                # no repair here: the start-up recovers (open_if_loaded), and a process
                # that is not the writer must still serve validation from the snapshot
                service = Curation.open(settings, backend_for(app), repair=False)
                app.state.curation = service
    return service


def open_if_loaded(app: FastAPI, settings: Settings) -> None:
    """At start-up: when the store is loaded, open the service and its writer, which recovers
    from a crash (:meth:`~coprod_kg.curation.Curation.recover`) before the first query."""
    if settings.writer_socket:  # a reader process: the writer process recovers and writes
        log.info("curation is forwarded to the writer process at %s", settings.writer_socket)
        return
    if backend_for(app).loaded():
        try:
            curation_for(app, settings).recover()
        except StoreBusy as exc:  # another process is the writer: recovery is its job
            log.warning("curation writes are unavailable here: %s", exc)


def get_curation(request: Request) -> Curation:
    """FastAPI dependency: the curation service over the app's store."""
    return curation_for(request.app, request.app.state.settings)


def close_curation(app: FastAPI) -> None:
    """Flush and release the writer, if one was opened."""
    service: Curation | None = getattr(app.state, "curation", None)
    if service is not None:
        app.state.curation = None
        service.close()
