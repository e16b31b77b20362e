"""The back-end factory: the one place that turns settings into store objects.

``COPROD_BACKEND=embedded`` (default) keeps the graph in a pyoxigraph directory
(``COPROD_STORE``); ``remote`` sends everything to a SPARQL 1.1 server (Query, Update and the
Graph Store HTTP Protocol) at ``COPROD_SPARQL_URL``. Everything else (loader, curation, dumps,
the API) asks this module for its store, writer and manifest, so it works on either. Accounts
and the audit log stay in ``COPROD_STORE`` for both back ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from coprod_kg.config import Settings
from coprod_kg.errors import BadInput
from coprod_kg.storage.manifest_store import FileManifestStore, ManifestStore, RemoteManifestStore
from coprod_kg.storage.remote.http import RemoteEndpoints, make_client
from coprod_kg.storage.remote.store import RemoteStore
from coprod_kg.storage.remote.writer import RemoteWriter
from coprod_kg.storage.store import KnowledgeStore

if TYPE_CHECKING:  # coprod_kg.curation imports this module
    from coprod_kg.storage.embedded.curation_writer import CurationReader, CurationWriter
    from coprod_kg.storage.embedded.oxigraph_store import OxigraphWriter


def is_remote(settings: Settings) -> bool:
    """Whether ``settings`` select the remote SPARQL back end."""
    return settings.backend == "remote"


def _derived(query_url: str, leaf: str, setting: str) -> str:
    if query_url.rstrip("/").endswith("/query"):
        return query_url.rstrip("/")[: -len("query")] + leaf
    raise BadInput(f"{setting} is not set and cannot be derived from COPROD_SPARQL_URL "
                   f"{query_url!r} (it does not end in /query)")


def remote_endpoints(settings: Settings) -> RemoteEndpoints:
    """The remote server's three endpoints; update and Graph Store URLs default to Oxigraph
    server's layout next to the query URL.

    >>> from coprod_kg.config import load_settings
    >>> remote_endpoints(load_settings({"COPROD_SPARQL_URL": "http://h:7878/query"})).store
    'http://h:7878/store'
    """
    query = settings.sparql_url.strip()
    if not query:
        raise BadInput("COPROD_BACKEND=remote needs COPROD_SPARQL_URL (the query endpoint)")
    update = settings.sparql_update_url.strip() or _derived(
        query, "update", "COPROD_SPARQL_UPDATE_URL")
    store = settings.gsp_url.strip() or _derived(query, "store", "COPROD_GSP_URL")
    return RemoteEndpoints(query, update, store)


def remote_writer(settings: Settings) -> RemoteWriter:
    """A writer (and curation reader) on the remote server; close it after use."""
    timeout = max(settings.query_timeout, 120.0)
    return RemoteWriter(remote_endpoints(settings), timeout,
                        make_client(timeout, keepalive=False))


def open_store(settings: Settings, pooled: bool = True) -> KnowledgeStore:
    """The read side the API and ``coprod-kg query`` use.

    Embedded: with ``pooled`` the server's sandboxed, time- and memory-limited query worker
    processes, else an in-process read-only store (the CLI). Remote: a :class:`RemoteStore`,
    which with ``pooled`` checks each query in such a worker and limits each lane's requests.
    """
    if is_remote(settings):
        # The server's store is long-lived (keep-alive, closed at shutdown); the CLI's is not.
        if not pooled:
            return RemoteStore(remote_endpoints(settings), timeout=settings.query_timeout,
                               max_bytes=settings.max_response_bytes,
                               client=make_client(settings.query_timeout, keepalive=False))
        from coprod_kg.storage.remote.lanes import RemoteLanes

        return RemoteStore(remote_endpoints(settings), timeout=settings.query_timeout,
                           max_bytes=settings.max_response_bytes,
                           lanes=RemoteLanes.start(settings))
    if pooled:
        from coprod_kg.storage.embedded.query_worker import PooledStore

        return PooledStore(settings.store, settings.query_workers, settings.query_timeout,
                           settings.max_results, settings.max_response_bytes,
                           site_workers=settings.site_workers,
                           memory_mb=settings.query_memory_mb,
                           allow_unsandboxed=settings.allow_unsandboxed_queries,
                           spool_max_bytes=settings.spool_max_bytes)
    from coprod_kg.storage.embedded.oxigraph_store import OxigraphStore

    return OxigraphStore(settings.store, settings.max_results, settings.max_response_bytes)


def open_writer(settings: Settings) -> OxigraphWriter | RemoteWriter:
    """The loader's graph writer (a :class:`~coprod_kg.storage.store.GraphWriter`); call
    ``close()``.

    Embedded: the read-write store directory (one process at a time).
    """
    if is_remote(settings):
        return remote_writer(settings)
    from coprod_kg.storage.embedded.oxigraph_store import OxigraphWriter

    return OxigraphWriter(settings.store)


def open_curation_writer(settings: Settings) -> CurationWriter:
    """The curation writer: the read-write embedded store (one process at a time; StoreBusy
    otherwise) or the remote server (any number of processes)."""
    if is_remote(settings):
        return remote_writer(settings)
    from coprod_kg.storage.embedded.curation_writer import OxigraphCurationWriter

    return OxigraphCurationWriter(settings.store)


def open_reader(settings: Settings) -> CurationReader:
    """A read-only curation reader (the caller checks first that the store is loaded)."""
    if is_remote(settings):
        return remote_writer(settings)
    from coprod_kg.storage.embedded.curation_writer import OxigraphReader

    return OxigraphReader.read_only(settings.store)


def open_manifests(settings: Settings) -> ManifestStore:
    """Where the manifest lives: the store directory's file, or the server's private graph."""
    if is_remote(settings):
        return RemoteManifestStore(remote_writer(settings))
    return FileManifestStore(settings.store)
