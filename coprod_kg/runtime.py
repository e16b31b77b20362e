"""The composition root: the command line and the server's lifespan open the back end here,
once, and hand it to loading, curation, queries and dumps.

>>> from coprod_kg.config import load_settings
>>> with open_backend(load_settings({"COPROD_BACKEND": "remote",
...                                  "COPROD_SPARQL_URL": "http://127.0.0.1:9/query"})) as b:
...     b.manifest_view is curated_flags
True
"""

from __future__ import annotations

from coprod_kg.config import Settings
from coprod_kg.curation.visibility import curated_flags
from coprod_kg.storage.backend import Backend


def open_backend(settings: Settings) -> Backend:
    """The back end ``settings`` choose (embedded directory or remote server); close it, or
    use it as a context manager. The remote one reads published flags from the curation graph
    (:func:`~coprod_kg.curation.visibility.curated_flags`)."""
    return Backend(settings, manifest_view=curated_flags)
