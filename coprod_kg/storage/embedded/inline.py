"""Light queries answered in the web process, on the public snapshot, under small caps.

A query :func:`~coprod_kg.sparql.light.is_light` accepts is a single triple pattern whose
evaluation produces at every step (that module says why), and which cannot name a service, a
graph or an update. Handing it to a sandboxed worker costs about four times what the engine
spends on it (``bench/README.md``), so :class:`InlineReader` runs it here instead, with an
answer of at most :data:`MAX_BYTES` serialised bytes and :data:`MAX_TRIPLES` triples: the
caps bound its time and memory, which the worker's kill and memory limit would otherwise.
An answer past a cap, a text the engine refuses, or a format that does not fit is given up
(``None``), and the query takes the worker's path as every other query does: its answer or
refusal is then exactly the worker's.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pyoxigraph as ox

from coprod_kg.errors import CoprodError
from coprod_kg.sparql.light import is_light
from coprod_kg.storage.embedded.oxigraph_store import execute
from coprod_kg.storage.embedded.public_view import open_snapshot
from coprod_kg.storage.store import QueryRequest, QueryResult, unparsed_dataset

#: Largest answer served from the web process, in serialised bytes (larger: the worker's).
MAX_BYTES = 32 * 1024
#: Largest number of triples a light DESCRIBE may return here (more: the worker's).
MAX_TRIPLES = 1000


class InlineReader:
    """Answers light queries on the public snapshot, opened read-only in this process."""

    def __init__(self, store_dir: Path) -> None:
        self.store_dir = store_dir
        self._open: tuple[str, ox.Store] | None = None  #: (snapshot key, its store)
        self._lock = threading.Lock()

    def _store(self, snapshot: str) -> ox.Store:
        """The snapshot ``snapshot``, opened once per published state."""
        with self._lock:
            if self._open is None or self._open[0] != snapshot:
                self._open = None
                self._open = (snapshot, open_snapshot(self.store_dir, snapshot))
            return self._open[1]

    def answer(self, request: QueryRequest, snapshot: str) -> QueryResult | None:
        """The answer to ``request`` on the snapshot ``snapshot``, or ``None`` when it is not
        a light query without a protocol dataset, or when it is given up (see above)."""
        dataset = unparsed_dataset(request, True)  # the union only, and no guarded word
        if dataset is None or not is_light(request.query):
            return None
        try:
            return execute(self._store(snapshot), request, dataset, MAX_TRIPLES, MAX_BYTES)
        except (CoprodError, OSError):  # past a cap, refused, or unreadable: the worker's
            return None

    def close(self) -> None:
        with self._lock:
            self._open = None
