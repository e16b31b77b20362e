"""The embedded pyoxigraph implementation of the store protocols.

Queries are answered in the engine's own serialisation (``QuerySolutions.serialize``,
``pyoxigraph.serialize`` for graphs); nothing is re-parsed. Readers open the store read-only, so
several processes can query while ``coprod-kg load`` writes a new version.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

import pyoxigraph as ox

from coprod_kg.errors import BadInput, CoprodError
from coprod_kg.rdf.formats import GRAPH_FORMATS, RESULT_FORMATS, QueryForm
from coprod_kg.rdf.namespaces import PREFIXES
from coprod_kg.sparql.spool import open_spool_file
from coprod_kg.storage.embedded.public_view import open_snapshot, snapshot_key
from coprod_kg.storage.manifest import Manifest, read_manifest
from coprod_kg.storage.store import (
    Dataset,
    GraphRecord,
    MalformedQuery,
    QueryRequest,
    QueryResult,
    ResultTooLarge,
    StoreNotReady,
    answer_format,
    plan_query,
)

#: Largest serialised answer, unless the caller sets one (``COPROD_MAX_RESPONSE_BYTES``).
DEFAULT_MAX_BYTES = 256 * 1024 * 1024

_RESULTS_FORMATS = {f.name: f.oxigraph for f in RESULT_FORMATS
                    if isinstance(f.oxigraph, ox.QueryResultsFormat)}
_GRAPH_FORMATS = {f.name: f.oxigraph for f in GRAPH_FORMATS if isinstance(f.oxigraph, ox.RdfFormat)}


def open_read_only(store_dir: Path, key: str | None = None) -> ox.Store:
    """The public snapshot of the store (with ``key``, default: the current one).

    Readers never open the main store, which a writer may be changing (undefined behaviour in
    pyoxigraph); :class:`StoreNotReady` if the store was never loaded.
    """
    manifest = read_manifest(store_dir)
    if manifest is None:
        raise StoreNotReady(f"the store {store_dir} is not loaded; run `coprod-kg load`")
    return open_snapshot(store_dir, key or snapshot_key(manifest))


def _run(store: ox.Store, request: QueryRequest, dataset: Dataset) -> object:
    kwargs: dict[str, object] = {}
    if dataset.union:
        kwargs["use_default_graph_as_union"] = True
    if dataset.default is not None:
        kwargs["default_graph"] = [ox.NamedNode(g) for g in dataset.default]
    if dataset.named is not None:
        kwargs["named_graphs"] = [ox.NamedNode(g) for g in dataset.named]
    try:
        return store.query(request.query, base_iri=request.base_iri, **kwargs)  # type: ignore[arg-type]
    except SyntaxError as exc:
        raise MalformedQuery(f"malformed query: {exc}") from exc
    except ValueError as exc:  # e.g. an invalid graph IRI in default-graph-uri
        raise BadInput(str(exc)) from exc


class _CappedWriter:
    """Passes the engine's serialisation to ``sink``, refusing to grow past ``limit`` bytes."""

    def __init__(self, sink: BinaryIO, limit: int) -> None:
        self.sink = sink
        self.limit = limit
        self.size = 0

    def write(self, chunk: bytes | bytearray | memoryview) -> int:
        length = len(memoryview(chunk))
        if self.size + length > self.limit:
            raise ResultTooLarge(f"the answer is larger than {self.limit} bytes; add a LIMIT "
                                 "or select fewer variables")
        self.sink.write(chunk)
        self.size += length
        return length

    def flush(self) -> None:
        self.sink.flush()


#: Answers up to this size go back to the API in the worker's reply instead of a spool file
#: (a file costs more than the answer for a light query).
INLINE_BYTES = 64 * 1024


class _Spill(io.RawIOBase):
    """Keeps what is written in memory up to :data:`INLINE_BYTES`, then moves it all to the
    new spool file ``path`` (created only then)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.memory = io.BytesIO()
        self.file: BinaryIO | None = None

    def writable(self) -> bool:
        return True

    def write(self, chunk: Any) -> int:
        data = bytes(chunk)
        if self.file is None and self.memory.tell() + len(data) > INLINE_BYTES:
            self.file = open_spool_file(self.path)
            self.file.write(self.memory.getvalue())
            self.memory = io.BytesIO()
        (self.file or self.memory).write(data)
        return len(data)

    def flush(self) -> None:
        if self.file is not None:
            self.file.flush()

    def close(self) -> None:
        if self.closed:
            return
        super().close()  # flushes first, so the file must still be open
        if self.file is not None:
            self.file.close()


def _at_most(triples: Iterator[ox.Triple], limit: int) -> Iterator[ox.Triple]:
    """``triples`` as the serialiser pulls them, :class:`ResultTooLarge` at the one past
    ``limit`` (streamed: no list of them is held)."""
    for count, triple in enumerate(triples, 1):
        if count > limit:
            raise ResultTooLarge(f"the query returns more than {limit} triples; add a LIMIT")
        yield triple


def execute(store: ox.Store, request: QueryRequest, dataset: Dataset, max_results: int,
            max_bytes: int = DEFAULT_MAX_BYTES, form: QueryForm | None = None,
            spool: Path | None = None, state: str | None = None) -> QueryResult:
    """Run ``request`` on ``store`` once and serialise the whole answer with the engine.

    ``form`` is the query's form from its parse (:func:`~coprod_kg.storage.store.plan_query`);
    without it the form is taken from the engine's answer. With ``spool`` an answer larger
    than :data:`INLINE_BYTES` is written to that new file (mode 0600) instead of memory (a
    smaller one comes back in memory, ``path`` ``None``). Raises :class:`ResultTooLarge` past
    ``max_results`` triples (CONSTRUCT, DESCRIBE) or past ``max_bytes`` of serialised answer
    (every form), and :class:`BadInput` for a malformed query. The answer is complete before
    any status is sent, so it never turns into an error half-way. ``state``: the published
    state the store read holds, carried by the result.
    """
    results = _run(store, request, dataset)
    if isinstance(results, ox.QueryBoolean | ox.QuerySolutions):
        actual = QueryForm.ASK if isinstance(results, ox.QueryBoolean) else QueryForm.SELECT
    else:
        actual = form if form is not None and form.returns_graph else QueryForm.CONSTRUCT
    fmt = answer_format(request, actual)
    sink = io.BytesIO() if spool is None else cast(BinaryIO, _Spill(spool))
    try:
        capped = _CappedWriter(sink, max_bytes)
        writer = cast(BinaryIO, capped)  # the engine only calls write() and flush()
        if isinstance(results, ox.QueryBoolean | ox.QuerySolutions):
            results.serialize(writer, _RESULTS_FORMATS[fmt.name])
        else:
            assert isinstance(results, ox.QueryTriples)
            ox.serialize(_at_most(results, max_results), writer, _GRAPH_FORMATS[fmt.name],
                         prefixes=PREFIXES)
        if isinstance(sink, io.BytesIO):
            return QueryResult(sink.getvalue(), fmt.media_type, actual, state=state)
        assert isinstance(sink, _Spill)
        if sink.file is None:  # small: it travels back in the reply, no file
            return QueryResult(sink.memory.getvalue(), fmt.media_type, actual, state=state)
        sink.close()
        return QueryResult(b"", fmt.media_type, actual, spool, capped.size, state)
    except (OSError, RuntimeError) as exc:
        if spool is not None:
            spool.unlink(missing_ok=True)
        raise CoprodError(f"query evaluation failed: {exc}") from exc
    except CoprodError:
        if spool is not None:
            spool.unlink(missing_ok=True)
        raise
    finally:
        sink.close()


class OxigraphStore:
    """In-process read-only :class:`~coprod_kg.storage.store.KnowledgeStore` (the CLI uses it).

    It has no timeout: the server goes through
    :class:`coprod_kg.storage.embedded.query_worker.WorkerPool`.
    """

    local_state = True

    def __init__(self, store_dir: Path, max_results: int = 100_000,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.store_dir = store_dir
        self.max_results = max_results
        self.max_bytes = max_bytes
        self._store: ox.Store | None = None
        self._key = ""

    def _manifest(self) -> Manifest:
        manifest = read_manifest(self.store_dir)
        if manifest is None:
            raise StoreNotReady(f"the store {self.store_dir} is not loaded; run `coprod-kg load`")
        return manifest

    def query(self, request: QueryRequest) -> QueryResult:
        manifest = self._manifest()
        key = snapshot_key(manifest)
        if self._store is None or self._key != key:
            self._store = open_read_only(self.store_dir, key)
            self._key = key
        plan = plan_query(request, manifest.public_graphs(), public_only_store=True)
        return execute(self._store, request, plan.dataset, self.max_results, self.max_bytes,
                       plan.form)

    def graphs(self) -> list[GraphRecord]:
        manifest = self._manifest()
        return [manifest.graphs[name] for name in manifest.public_graphs()]

    def ready(self) -> bool:
        return read_manifest(self.store_dir) is not None

    def published_state(self) -> str | None:
        manifest = read_manifest(self.store_dir)
        return None if manifest is None else manifest.public_state()

    def close(self) -> None:
        self._store = None
