"""The remote :class:`~coprod_kg.storage.store.KnowledgeStore`: queries go to any SPARQL 1.1 server.

Each query is one SPARQL Protocol request (POST, form-encoded) asking, by ``Accept``, for the format
the client negotiated with us; the server's bytes are passed on untouched. The dataset is the
allow-list of :func:`~coprod_kg.storage.store.dataset_for`, sent as ``default-graph-uri`` and
``named-graph-uri``, so private graphs (pending submissions, the manifest) cannot be read. The
public graph list is the manifest kept in the server itself
(:mod:`coprod_kg.storage.remote.manifests`), so any number of stateless API processes can sit in
front of one server.

``max_results`` cannot be checked without re-parsing the answer, so the remote store caps the
answer's size in bytes instead (``max_bytes``), reading it as a stream.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import httpx
import pyoxigraph as ox

from coprod_kg.errors import BadInput, CoprodError
from coprod_kg.rdf.formats import RESULT_FORMATS, ResultFormat
from coprod_kg.rdf.namespaces import GRAPH
from coprod_kg.sparql.spool import open_spool_file
from coprod_kg.storage.embedded.writer import OxigraphReader
from coprod_kg.storage.manifest import Manifest, ManifestStore
from coprod_kg.storage.remote.changes import WriteCounter
from coprod_kg.storage.remote.http import (
    RemoteEndpoints,
    make_client,
    query_form,
    raise_for_status,
    transport_error,
)
from coprod_kg.storage.remote.manifests import (
    MANIFEST_GRAPH,
    RemoteManifestStore,
    manifest_from_triples,
)
from coprod_kg.storage.remote.union import (
    DEFAULT_MIN_GRAPHS,
    UNIONS_GRAPH,
    UnionRecord,
    recorded_unions,
    union_graph,
    union_update,
)
from coprod_kg.storage.remote.writer import RemoteWriter
from coprod_kg.storage.store import (
    GraphReader,
    GraphRecord,
    QueryRequest,
    QueryResult,
    ResultTooLarge,
    StoreNotReady,
    plan_query,
)

if TYPE_CHECKING:
    from coprod_kg.storage.remote.lanes import RemoteLanes


#: The curation graph, whose records decide which case versions are public.
CURATION_GRAPH = str(GRAPH["curation"])
#: SPARQL JSON results, the format of the state's one read.
RESULTS_JSON = RESULT_FORMATS[0]

#: Largest error body read from the server (the message only needs its start).
_ERROR_BYTES = 64 * 1024
#: Seconds before a union graph that could not be written is tried again.
_UNION_RETRY_SECONDS = 60.0

_log = logging.getLogger(__name__)

@dataclass(frozen=True)
class _State:
    """The published state as read, with what every query needs from it, computed once per
    read (not per query): its public graphs, its identity and the recorded union graphs."""

    manifest: Manifest
    public: tuple[str, ...]
    state: str  #: :meth:`~coprod_kg.storage.manifest.Manifest.public_state`
    unions: dict[str, UnionRecord]

    @classmethod
    def of(cls, manifest: Manifest, unions: dict[str, UnionRecord]) -> _State:
        return cls(manifest, tuple(manifest.public_graphs()), manifest.public_state(), unions)


def _with_base(query: str, base_iri: str | None) -> str:
    """Put ``BASE`` first in the prologue (the protocol has no base parameter); a ``BASE`` in
    the query itself still comes later and wins."""
    if base_iri is None:
        return query
    if any(c in base_iri for c in '<>"{}|^`\\ \n'):
        raise BadInput(f"not an IRI: {base_iri!r}")
    return f"BASE <{base_iri}> {query}"  # one line: the server's line numbers still fit


class RemoteStore:
    """Read access to the knowledge graph held by a remote SPARQL server."""

    local_state = False  # the manifest is read from the server

    def __init__(self, endpoints: RemoteEndpoints, timeout: float = 30.0,
                 max_bytes: int = 256 * 1024 * 1024, manifest_ttl: float = 0.0,
                 manifests: ManifestStore | None = None,
                 client: httpx.Client | None = None, lanes: RemoteLanes | None = None,
                 manifest_view: Callable[[Manifest, GraphReader], Manifest] | None = None,
                 changes: WriteCounter | None = None,
                 union_min: int = DEFAULT_MIN_GRAPHS) -> None:
        """``manifest_ttl``: seconds a read published state is reused (0: read it for every
        query); ``changes``: this process's write counter, whose every bump makes the next query
        read the state again.
        ``lanes``: the server's sandboxed query checks and per-lane limits (without them,
        queries are checked in-process: the CLI and tests). ``manifest_view``: recomputes the
        public flags of curated graphs from the graphs themselves
        (:func:`coprod_kg.curation.visibility.curated_flags`). ``union_min``: from this many
        public graphs on, a query without a dataset reads the state's union graph
        (:mod:`coprod_kg.storage.remote.union`; 0: always the list)."""
        self.endpoints = endpoints
        self.lanes = lanes
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.manifest_ttl = manifest_ttl
        self._owned = client is None
        self.client = client if client is not None else make_client(timeout)
        self.manifests = manifests or RemoteManifestStore(
            RemoteWriter(endpoints, timeout, self.client))
        self.manifest_view = manifest_view
        self.changes = changes
        self.union_min = union_min
        self._cached: tuple[float, int, _State] | None = None  # read at, write count, state
        self._lock = threading.Lock()
        self._unions_made: set[str] = set()  # by this process, since its last state read
        self._union_failed_at: float | None = None
        self.state_reads = 0  # how many times the state was read from the server

    def _writes(self) -> int:
        return self.changes.value if self.changes is not None else 0

    def manifest(self) -> Manifest | None:
        """The published state: the manifest from the server with the public flags of curated
        graphs recomputed by ``manifest_view`` (reused for ``manifest_ttl`` seconds, and until
        this process writes)."""
        state = self._state()
        return None if state is None else state.manifest

    def _state(self) -> _State | None:
        now, writes = time.monotonic(), self._writes()  # before the read: a write during it
        with self._lock:                                # makes the next query read again
            cached = self._cached
            if (cached is not None and now - cached[0] < self.manifest_ttl
                    and cached[1] == writes):
                return cached[2]
        state = self._read_state()
        with self._lock:
            self.state_reads += 1
            self._cached = None if state is None else (now, writes, state)
            self._unions_made.clear()  # the records just read list them
        return state

    def _read_state(self) -> _State | None:
        """The manifest, the recorded union graphs and, for ``manifest_view``, the curation
        records: one request."""
        if not isinstance(self.manifests, RemoteManifestStore):  # a test's stand-in
            manifest = self.manifests.read()
            if manifest is None or self.manifest_view is None:
                return None if manifest is None else _State.of(manifest, {})
            reader: GraphReader = RemoteWriter(self.endpoints, self.timeout, self.client)
            return _State.of(self.manifest_view(manifest, reader), {})
        graphs = self._state_graphs()
        found = _manifest_in(graphs)
        if found is None:
            return None
        unions = recorded_unions(q.triple for q in graphs.quads_for_pattern(
            None, None, None, ox.NamedNode(UNIONS_GRAPH)))
        if self.manifest_view is not None:
            found = self.manifest_view(found, OxigraphReader(graphs))
        return _State.of(found, unions)

    def _state_graphs(self) -> ox.Store:
        """The manifest graph, the curation graph and the union records, fetched in one SELECT
        into memory."""
        query = (f"SELECT ?g ?s ?p ?o WHERE {{ VALUES ?g {{ <{MANIFEST_GRAPH}> "
                 f"<{CURATION_GRAPH}> <{UNIONS_GRAPH}> }} GRAPH ?g {{ ?s ?p ?o }} }}")
        body, _, _ = self._fetch(query_form(query, None, None), RESULTS_JSON)
        solutions = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
        assert isinstance(solutions, ox.QuerySolutions)
        state = ox.Store()
        state.extend(ox.Quad(row["s"], row["p"], row["o"], row["g"])
                     for row in solutions)
        return state

    def _loaded(self) -> _State:
        state = self._state()
        if state is None:
            raise StoreNotReady(f"the SPARQL server at {self.endpoints.query} holds no "
                                "coprod-kg manifest; run `coprod-kg load`")
        return state

    def query(self, request: QueryRequest) -> QueryResult:
        state = self._loaded()
        lanes = self.lanes
        # In-process for the CLI, else in a sandboxed worker.
        plan = (plan_query(request, state.public) if lanes is None
                else lanes.check(request, state.public))
        default = plan.dataset.default
        # The default graph is every public graph (no dataset asked for): the union instead.
        if default and self.union_min and len(default) >= self.union_min and (
                default == state.public):
            default = self._union(state) or default
        data = query_form(_with_base(request.query, request.base_iri), default,
                          plan.dataset.named)
        path = lanes.spool.new_path() if lanes is not None and request.spool else None
        try:
            with lanes.slot(request.lane) if lanes is not None else nullcontext():
                body, media_type, size = self._fetch(data, plan.format, path)
        except CoprodError:
            if path is not None:
                path.unlink(missing_ok=True)
            raise
        if lanes is not None:
            lanes.spool.settled(path, kept=path is not None)
        return QueryResult(body, media_type, plan.form, path, size)

    def _union(self, state: _State) -> tuple[str, ...] | None:
        """The union graph of the published ``state``, made now if it is not recorded;
        ``None`` when it cannot be made (a read-only account, say): the list is sent then, and
        the union tried again after :data:`_UNION_RETRY_SECONDS`."""
        name = union_graph(state.state)
        record = state.unions.get(name)
        if (record is not None and record.replaced is None) or name in self._unions_made:
            return (name,)
        failed = self._union_failed_at
        if failed is not None and time.monotonic() - failed < _UNION_RETRY_SECONDS:
            return None
        update = union_update(state.state, state.public, state.unions,
                              dt.datetime.now(dt.UTC))
        try:
            try:
                response = self.client.post(
                    self.endpoints.update, content=update.encode("utf-8"),
                    headers={"Content-Type": "application/sparql-update; charset=utf-8"})
            except httpx.TransportError as exc:
                raise transport_error(exc, "union graph update", self.timeout) from exc
            raise_for_status(response.status_code, response.content, "union graph update")
        except CoprodError as exc:
            _log.warning("the public union graph cannot be written (%s); queries list the "
                         "public graphs instead", exc)
            self._union_failed_at = time.monotonic()
            return None
        with self._lock:
            self._unions_made.add(name)
            self._union_failed_at = None
        return (name,)

    def _fetch(self, data: dict[str, str | list[str]], fmt: ResultFormat,
               path: Path | None = None) -> tuple[bytes, str, int]:
        """POST the query and read the answer, at most ``max_bytes`` of it, into memory or
        into the new file ``path``; (body, media type, size)."""
        sink: BinaryIO = io.BytesIO() if path is None else open_spool_file(path)
        try:
            with self.client.stream("POST", self.endpoints.query, data=data,
                                    headers={"Accept": fmt.media_type}) as response:
                if not response.is_success:
                    raise_for_status(response.status_code, _read_some(response), "query")
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise ResultTooLarge(f"the answer is larger than {self.max_bytes} "
                                             "bytes; add a LIMIT")
                    sink.write(chunk)
                returned = response.headers.get("content-type", "").split(";")[0].strip()
        except httpx.TransportError as exc:
            raise transport_error(exc, "query", self.timeout) from exc
        finally:
            if path is not None:  # a BytesIO stays open for its value
                sink.close()
        # Our own media type when the server answered in the one we asked for.
        media_type = fmt.media_type if returned.lower() in fmt.media_types else returned
        body = sink.getvalue() if isinstance(sink, io.BytesIO) else b""
        return body, media_type or fmt.media_type, size

    def graphs(self) -> list[GraphRecord]:
        state = self._state()
        return [] if state is None else [state.manifest.graphs[n] for n in state.public]

    def published_state(self) -> str | None:
        state = self._state()
        return None if state is None else state.state

    def ready(self) -> bool:
        try:
            return self.manifest() is not None
        except CoprodError:
            return False

    def close(self) -> None:
        if self._owned:
            self.client.close()


def _manifest_in(state: ox.Store) -> Manifest | None:
    """The manifest literal of :data:`MANIFEST_GRAPH` in ``state``, if there is one."""
    graph = ox.NamedNode(MANIFEST_GRAPH)
    return manifest_from_triples(q.triple for q in state.quads_for_pattern(graph, None, None,
                                                                           graph))


def _read_some(response: httpx.Response) -> bytes:
    """The first :data:`_ERROR_BYTES` of a streamed body."""
    out = b""
    for chunk in response.iter_bytes():
        out += chunk
        if len(out) >= _ERROR_BYTES:
            break
    return out[:_ERROR_BYTES]
