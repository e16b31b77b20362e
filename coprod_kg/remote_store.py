"""The remote :class:`~coprod_kg.store.KnowledgeStore`: queries go to any SPARQL 1.1 server.

Each query is one SPARQL Protocol request (POST, form-encoded) asking, by ``Accept``, for the
format the client negotiated with us; the server's bytes are passed on untouched. The dataset is
the allow-list of :func:`~coprod_kg.store.resolve_dataset`, sent as ``default-graph-uri`` and
``named-graph-uri``, so private graphs (pending submissions, the manifest) cannot be read. The
public graph list is the manifest kept in the server itself (:mod:`coprod_kg.manifest_store`),
so any number of stateless API processes can sit in front of one server.

``max_results`` cannot be checked without re-parsing the answer, so the remote store caps the
answer's size in bytes instead (``max_bytes``), reading it as a stream.
"""

from __future__ import annotations

import threading
import time

import httpx

from coprod_kg.errors import BadInput, CoprodError
from coprod_kg.formats import QueryForm, ResultFormat, format_by_name, formats_for
from coprod_kg.manifest import Manifest
from coprod_kg.manifest_store import ManifestStore, RemoteManifestStore
from coprod_kg.query_safety import inspect_query
from coprod_kg.remote_http import (
    RemoteEndpoints,
    make_client,
    query_form,
    raise_for_status,
    transport_error,
)
from coprod_kg.remote_writer import RemoteWriter
from coprod_kg.store import (
    GraphRecord,
    QueryRequest,
    QueryResult,
    ResultTooLarge,
    StoreNotReady,
    resolve_dataset,
)

#: Largest error body read from the server (the message only needs its start).
_ERROR_BYTES = 64 * 1024


def _pick(form: QueryForm, wanted: ResultFormat) -> ResultFormat:
    """The requested format if it fits the query's form, else that form's default."""
    return wanted if wanted in formats_for(form) else formats_for(form)[0]


def _with_base(query: str, base_iri: str | None) -> str:
    """Put ``BASE`` first in the prologue (the protocol has no base parameter); a ``BASE`` in
    the query itself still comes later and wins."""
    if base_iri is None:
        return query
    if any(c in base_iri for c in '<>"{}|^`\\ \n'):
        raise BadInput(f"not an IRI: {base_iri!r}")
    return f"BASE <{base_iri}>\n{query}"


class RemoteStore:
    """Read access to the knowledge graph held by a remote SPARQL server."""

    def __init__(self, endpoints: RemoteEndpoints, timeout: float = 30.0,
                 max_bytes: int = 256 * 1024 * 1024, manifest_ttl: float = 0.0,
                 manifests: ManifestStore | None = None,
                 client: httpx.Client | None = None) -> None:
        """``manifest_ttl``: seconds a read manifest is reused (0: read it for every query)."""
        self.endpoints = endpoints
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.manifest_ttl = manifest_ttl
        self._owned = client is None
        self.client = client if client is not None else make_client(timeout)
        self.manifests = manifests or RemoteManifestStore(
            RemoteWriter(endpoints, timeout, self.client))
        self._cached: tuple[float, Manifest] | None = None
        self._lock = threading.Lock()

    def manifest(self) -> Manifest | None:
        """The manifest from the server (reused for ``manifest_ttl`` seconds)."""
        now = time.monotonic()
        with self._lock:
            if self._cached is not None and now - self._cached[0] < self.manifest_ttl:
                return self._cached[1]
        manifest = self.manifests.read()
        with self._lock:
            self._cached = None if manifest is None else (now, manifest)
        return manifest

    def _loaded(self) -> Manifest:
        manifest = self.manifest()
        if manifest is None:
            raise StoreNotReady(f"the SPARQL server at {self.endpoints.query} holds no "
                                "coprod-kg manifest; run `coprod-kg load`")
        return manifest

    def query(self, request: QueryRequest) -> QueryResult:
        manifest = self._loaded()
        dataset = resolve_dataset(request, manifest.public_graphs(), manifest.private_graphs())
        form = inspect_query(request.query).form
        fmt = _pick(form, format_by_name(request.format))
        data = query_form(_with_base(request.query, request.base_iri), dataset.default,
                          dataset.named)
        body, media_type = self._fetch(data, fmt)
        return QueryResult(body, media_type, form)

    def _fetch(self, data: dict[str, str | list[str]], fmt: ResultFormat) -> tuple[bytes, str]:
        """POST the query and read the answer, at most ``max_bytes`` of it."""
        try:
            with self.client.stream("POST", self.endpoints.query, data=data,
                                    headers={"Accept": fmt.media_type}) as response:
                if not response.is_success:
                    raise_for_status(response.status_code, _read_some(response), "query")
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise ResultTooLarge(f"the answer is larger than {self.max_bytes} "
                                             "bytes; add a LIMIT")
                    chunks.append(chunk)
                returned = response.headers.get("content-type", "").split(";")[0].strip()
        except httpx.TransportError as exc:
            raise transport_error(exc, "query", self.timeout) from exc
        # Our own media type when the server answered in the one we asked for.
        media_type = fmt.media_type if returned.lower() in fmt.media_types else returned
        return b"".join(chunks), media_type or fmt.media_type

    def graphs(self) -> list[GraphRecord]:
        manifest = self.manifest()
        return [] if manifest is None else [manifest.graphs[n] for n in manifest.public_graphs()]

    def ready(self) -> bool:
        try:
            return self.manifest() is not None
        except CoprodError:
            return False

    def close(self) -> None:
        if self._owned:
            self.client.close()


def _read_some(response: httpx.Response) -> bytes:
    """The first :data:`_ERROR_BYTES` of a streamed body."""
    out = b""
    for chunk in response.iter_bytes():
        out += chunk
        if len(out) >= _ERROR_BYTES:
            break
    return out[:_ERROR_BYTES]
