"""Light queries answered in the web process, on the public snapshot, under small caps.

A query :func:`~coprod_kg.sparql.light.is_light` accepts is a single triple pattern whose
evaluation produces at every step (that module says why), and which cannot name a service, a
graph or an update. Handing it to a sandboxed worker costs about four times what the engine
spends on it (``bench/README.md``), so :class:`InlineReader` runs it here instead, with an
answer of at most :data:`MAX_BYTES` serialised bytes and :data:`MAX_TRIPLES` triples (or the
server's own limits, if lower), both counted as the answer streams: the caps bound its time
and memory, which the worker's kill and memory limit would otherwise. An answer past a cap, a
text the engine refuses, or a format that does not fit is given up (``None``), and the query
takes the worker's path as every other query does: its answer or refusal is then exactly the
worker's.

A snapshot is opened once (:meth:`InlineReader.open`, which reads its files: call it off the
event loop) and the last :data:`KEEP` stay open, so requests that straddle a new published
state do not reopen one after the other.
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
#: Snapshots kept open (the current one and the one before).
KEEP = 2


class InlineReader:
    """Answers light queries on the public snapshots, opened read-only in this process.

    ``max_results`` and ``max_bytes`` are the server's limits for any answer: the caps here
    never exceed them, so a worker would refuse whatever is answered here past them.
    """

    def __init__(self, store_dir: Path, max_results: int, max_bytes: int) -> None:
        self.store_dir = store_dir
        self.max_results = max_results
        self.max_bytes = max_bytes
        self._stores: dict[str, ox.Store] = {}  #: snapshot key → its store, oldest first
        self._lock = threading.Lock()

    def holds(self, snapshot: str) -> bool:
        """Whether the snapshot ``snapshot`` is open here."""
        return snapshot in self._stores

    def open(self, snapshot: str) -> bool:
        """Open the snapshot ``snapshot`` (reads its files: not on the event loop); whether it
        is open now (a snapshot that cannot be opened is the workers' to report)."""
        if snapshot in self._stores:
            return True
        try:
            store = open_snapshot(self.store_dir, snapshot)
        except (CoprodError, OSError):
            return False
        with self._lock:
            self._stores.setdefault(snapshot, store)
            while len(self._stores) > KEEP:
                del self._stores[next(iter(self._stores))]
        return True

    def answer(self, request: QueryRequest, snapshot: str,
               state: str | None = None) -> QueryResult | None:
        """The answer to ``request`` on the snapshot ``snapshot``, or ``None`` when it is not
        a light query without a protocol dataset, when the snapshot is not open
        (:meth:`open`), or when it is given up (see above). ``state``: the published state
        that snapshot holds, carried by the answer."""
        store = self._stores.get(snapshot)
        if store is None:
            return None
        if not is_light(request.query):  # first: it ends soon on the texts it refuses
            return None
        dataset = unparsed_dataset(request, True)  # the union only, and no guarded word
        if dataset is None:
            return None
        try:
            return execute(store, request, dataset, min(MAX_TRIPLES, self.max_results),
                           min(MAX_BYTES, self.max_bytes), state=state)
        except CoprodError:  # past a cap, refused, or unreadable: the worker's
            return None

    def close(self) -> None:
        with self._lock:
            self._stores.clear()
