"""The composition root: the command line and the server's lifespan open the back end here,
once, and hand it to loading, curation, queries and dumps.

>>> from coprod_kg.config import load_settings
>>> with open_backend(load_settings({"COPROD_BACKEND": "remote",
...                                  "COPROD_SPARQL_URL": "http://127.0.0.1:9/query"})) as b:
...     b.manifest_view is curated_flags
True
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from coprod_kg.config import Settings
from coprod_kg.curation.visibility import curated_flags
from coprod_kg.errors import CoprodError
from coprod_kg.storage.backend import Backend
from coprod_kg.storage.store import KnowledgeStore


def open_backend(settings: Settings) -> Backend:
    """The back end ``settings`` choose (embedded directory or remote server); close it, or
    use it as a context manager. The remote one reads published flags from the curation graph
    (:func:`~coprod_kg.curation.visibility.curated_flags`)."""
    return Backend(settings, manifest_view=curated_flags)


@dataclass
class _Starting:
    """The read side being started in the background for ``settings``."""

    settings: Settings
    thread: threading.Thread | None = None
    store: KnowledgeStore | None = None
    error: CoprodError | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        try:
            self.store = open_backend(self.settings).store()
        except CoprodError as exc:
            self.error = exc
        finally:
            self.done.set()


_starting: _Starting | None = None
_starting_lock = threading.Lock()


def prestart_store(settings: Settings) -> None:
    """Start the server's read side (the query worker processes) in the background now, so it
    comes up while the web app is still being imported; the app's start-up takes it with
    :func:`take_prestarted_store`. ``coprod-kg serve`` calls this before starting uvicorn."""
    global _starting
    with _starting_lock:
        if _starting is not None:
            return
        _starting = _Starting(settings)
        _starting.thread = threading.Thread(target=_starting.run, name="prestart-store",
                                            daemon=True)
        _starting.thread.start()


def take_prestarted_store(settings: Settings) -> KnowledgeStore | None:
    """The read side :func:`prestart_store` started for these same ``settings`` (waiting for
    it to be up; its start-up error is raised here), else ``None``: the caller opens its own.
    A store started for other settings is closed. The caller owns and closes what it gets."""
    global _starting
    with _starting_lock:
        starting, _starting = _starting, None
    if starting is None:
        return None
    starting.done.wait()
    if starting.error is not None:
        raise starting.error
    if starting.settings != settings:
        if starting.store is not None:
            starting.store.close()
        return None
    return starting.store
