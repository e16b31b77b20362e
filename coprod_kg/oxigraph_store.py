"""The embedded pyoxigraph implementation of the store protocols.

Queries are answered in the engine's own serialisation (``QuerySolutions.serialize``,
``pyoxigraph.serialize`` for graphs); nothing is re-parsed. Readers open the store read-only, so
several processes can query while ``coprod-kg load`` writes a new version.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from itertools import islice
from pathlib import Path

import pyoxigraph as ox

from coprod_kg.atomic import private_dir
from coprod_kg.errors import BadInput, CoprodError
from coprod_kg.formats import QueryForm, ResultFormat, format_by_name, formats_for
from coprod_kg.manifest import Manifest, read_manifest
from coprod_kg.namespaces import PREFIXES
from coprod_kg.public_view import open_snapshot, snapshot_key
from coprod_kg.query_safety import inspect_query
from coprod_kg.store import (
    Dataset,
    GraphRecord,
    QueryRequest,
    QueryResult,
    ResultTooLarge,
    StoreNotReady,
    resolve_dataset,
)

#: Largest serialised answer, unless the caller sets one (``COPROD_MAX_RESPONSE_BYTES``).
DEFAULT_MAX_BYTES = 256 * 1024 * 1024

_RESULTS_FORMATS = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}
_GRAPH_FORMATS = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML,
}


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
        raise BadInput(f"malformed query: {exc}") from exc
    except ValueError as exc:  # e.g. an invalid graph IRI in default-graph-uri
        raise BadInput(str(exc)) from exc


def _pick(form: QueryForm, wanted: ResultFormat) -> ResultFormat:
    """The requested format if it fits the query's real form, else that form's default."""
    return wanted if wanted in formats_for(form) else formats_for(form)[0]


class _CappedBuffer(io.BytesIO):
    """Collects the engine's serialisation, refusing to grow past ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def write(self, chunk: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if self.tell() + len(memoryview(chunk)) > self.limit:
            raise ResultTooLarge(f"the answer is larger than {self.limit} bytes; add a LIMIT "
                                 "or select fewer variables")
        return super().write(chunk)


def execute(store: ox.Store, request: QueryRequest, dataset: Dataset, max_results: int,
            max_bytes: int = DEFAULT_MAX_BYTES) -> QueryResult:
    """Run ``request`` on ``store`` once and serialise the whole answer with the engine.

    Raises :class:`ResultTooLarge` past ``max_results`` triples (CONSTRUCT, DESCRIBE) or past
    ``max_bytes`` of serialised answer (every form), and :class:`BadInput` for a malformed
    query. The answer is complete before any status is sent, so it never turns into an error
    half-way.
    """
    wanted = format_by_name(request.format)
    results = _run(store, request, dataset)
    try:
        if isinstance(results, ox.QueryBoolean | ox.QuerySolutions):
            form = QueryForm.ASK if isinstance(results, ox.QueryBoolean) else QueryForm.SELECT
            fmt = _pick(form, wanted)
            buffer = _CappedBuffer(max_bytes)
            results.serialize(buffer, _RESULTS_FORMATS[fmt.name])
            return QueryResult(buffer.getvalue(), fmt.media_type, form)
        assert isinstance(results, ox.QueryTriples)
        predicted = inspect_query(request.query).form
        form = predicted if predicted.returns_graph else QueryForm.CONSTRUCT
        fmt = _pick(form, wanted)
        triples = list(islice(results, max_results + 1))
        if len(triples) > max_results:
            raise ResultTooLarge(f"the query returns more than {max_results} triples; add a LIMIT")
        buffer = _CappedBuffer(max_bytes)
        ox.serialize(triples, buffer, _GRAPH_FORMATS[fmt.name], prefixes=PREFIXES)
        return QueryResult(buffer.getvalue(), fmt.media_type, form)
    except (OSError, RuntimeError) as exc:
        raise CoprodError(f"query evaluation failed: {exc}") from exc


class OxigraphStore:
    """In-process read-only :class:`~coprod_kg.store.KnowledgeStore` (the CLI uses it).

    It has no timeout: the server goes through :class:`coprod_kg.query_worker.WorkerPool`.
    """

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
        dataset = resolve_dataset(request, manifest.public_graphs(), manifest.private_graphs(),
                                  public_only_store=True)
        return execute(self._store, request, dataset, self.max_results, self.max_bytes)

    def graphs(self) -> list[GraphRecord]:
        manifest = self._manifest()
        return [manifest.graphs[name] for name in manifest.public_graphs()]

    def ready(self) -> bool:
        return read_manifest(self.store_dir) is not None

    def close(self) -> None:
        self._store = None


class OxigraphWriter:
    """Read-write :class:`~coprod_kg.store.GraphWriter` over the store directory (the loader)."""

    def __init__(self, store_dir: Path) -> None:
        private_dir(store_dir)  # 0700, and every file the engine makes 0600
        self.store = ox.Store(str(store_dir))

    def replace_graph(self, name: str, triples: Iterable[ox.Triple]) -> int:
        graph = ox.NamedNode(name)
        quads = [ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples]
        if self.store.contains_named_graph(graph):
            self.store.remove_graph(graph)
        self.store.extend(quads)
        return len(quads)

    def remove_graph(self, name: str) -> None:
        graph = ox.NamedNode(name)
        if self.store.contains_named_graph(graph):
            self.store.remove_graph(graph)

    def graph_triples(self, name: str) -> list[ox.Triple]:
        graph = ox.NamedNode(name)
        return [q.triple for q in self.store.quads_for_pattern(None, None, None, graph)]

    def close(self) -> None:
        """Flush to disk; the object must not be used afterwards."""
        self.store.flush()
        self.store.optimize()
