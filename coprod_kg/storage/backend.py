"""The back end: what the composition root opens once from the settings and hands down.

``COPROD_BACKEND=embedded`` (default) keeps the graph in a pyoxigraph directory
(``COPROD_STORE``); ``remote`` sends everything to a SPARQL 1.1 server (Query, Update and the
Graph Store HTTP Protocol) at ``COPROD_SPARQL_URL``. The command line and the server's lifespan
open one :class:`Backend` (see :mod:`coprod_kg.runtime`) and give it to loading, curation,
queries and dumps, which never open a store themselves. Accounts and the audit log stay in
``COPROD_STORE`` for both back ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType

import pyoxigraph as ox

from coprod_kg.config import Settings
from coprod_kg.errors import BadInput, WriterElsewhere
from coprod_kg.storage.embedded.manifests import FileManifestStore
from coprod_kg.storage.embedded.public_view import open_snapshot, snapshot_key
from coprod_kg.storage.embedded.writer import OxigraphReader, OxigraphWriter
from coprod_kg.storage.manifest import Manifest, ManifestStore
from coprod_kg.storage.remote.changes import WriteCounter
from coprod_kg.storage.remote.http import RemoteEndpoints, make_client
from coprod_kg.storage.remote.manifests import RemoteManifestStore
from coprod_kg.storage.remote.store import RemoteStore
from coprod_kg.storage.remote.writer import RemoteWriter
from coprod_kg.storage.store import GraphReader, GraphWriter, KnowledgeStore

#: Recomputes the public flags of a manifest read from a remote server from the graphs
#: themselves (given by the curation layer, which knows what "published" means).
ManifestView = Callable[[Manifest, GraphReader], Manifest]


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


def remote_writer(settings: Settings, changes: WriteCounter | None = None) -> RemoteWriter:
    """A writer (and reader) on the remote server, with its own HTTP client; close it.
    ``changes``: counts its writes for this process's readers."""
    timeout = max(settings.query_timeout, 120.0)
    return RemoteWriter(remote_endpoints(settings), timeout,
                        make_client(timeout, keepalive=False), changes)


class Backend:
    """One open back end. It owns the one read-write handle this process holds on the graph
    (the embedded store directory, which one process at a time may open, or a writer on the
    remote server) and the manifest; ``close()``, or the end of its ``with`` block, releases
    them. Nothing else opens the store read-write.

    >>> from coprod_kg.config import load_settings
    >>> with Backend(load_settings({"COPROD_BACKEND": "remote",
    ...                             "COPROD_SPARQL_URL": "http://127.0.0.1:9/query"})) as b:
    ...     b.remote, b.writer_if_open()
    (True, None)
    """

    def __init__(self, settings: Settings, manifest_view: ManifestView | None = None) -> None:
        """``manifest_view``: the remote back end's reading of public flags from the graphs
        (:func:`coprod_kg.curation.visibility.curated_flags`); the embedded one needs none."""
        self.settings = settings
        self.remote = is_remote(settings)
        self.manifest_view = manifest_view
        self._writer: OxigraphWriter | RemoteWriter | None = None
        self._manifests: ManifestStore | None = None
        self._published: tuple[str, OxigraphReader] | None = None  # snapshot key, reader
        self._writes = WriteCounter()  # the remote writes of this back end, for its readers
        self._lock = threading.Lock()

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def writer(self) -> GraphWriter:
        """The read-write handle, opened at the first call (embedded: :class:`StoreBusy` when
        another process, a running server, holds the store)."""
        return self._open_writer()

    def _open_writer(self) -> OxigraphWriter | RemoteWriter:
        if self._writer is None and not self.remote and self.settings.writer_socket:
            # a reader process of `coprod-kg serve --workers N`: it never takes the lock, not
            # even while the writer process restarts (which would then find the store busy)
            raise WriterElsewhere("this is a reader process: writes go to the writer process")
        if self._writer is None:
            self._writer = (remote_writer(self.settings, self._writes) if self.remote
                            else OxigraphWriter(self.settings.store))
        return self._writer

    def writer_if_open(self) -> GraphWriter | None:
        """The read-write handle if this process opened it, else ``None``."""
        return self._writer

    def _master(self) -> ox.Store:
        """The main embedded store, for the manifest file's sync of the public view."""
        writer = self._open_writer()
        assert isinstance(writer, OxigraphWriter)
        return writer.store

    def manifests(self) -> ManifestStore:
        """Where the manifest lives: the store directory's file (its public view synced from
        this back end's writer), or the server's private graph."""
        if self._manifests is None:
            self._manifests = (RemoteManifestStore(remote_writer(self.settings, self._writes))
                               if self.remote
                               else FileManifestStore(self.settings.store, self._master))
        return self._manifests

    def loaded(self) -> bool:
        """Whether a load has published a state yet."""
        return self.manifests().read() is not None

    def published_reader(self) -> GraphReader | None:
        """The published state alone, for reads of public graphs (validation lookups, the
        confinement of a record): the immutable snapshot of the public view (embedded), opened
        once per published state, or the server (remote); ``None`` before the first load.
        Never the main store, so any process can read while the writer works."""
        if self.remote:
            return self._open_writer()
        manifest = self.manifests().read()
        if manifest is None:
            return None
        key = snapshot_key(manifest)
        with self._lock:
            if self._published is None or self._published[0] != key:
                self._published = (key, OxigraphReader(open_snapshot(self.settings.store, key)))
            return self._published[1]

    def snapshot_reader(self) -> GraphReader:
        """A read-only view of the whole store as it is now, for commands that only read while
        a server may hold the store (``coprod-kg review list``): the writer when this process
        holds it, else a read-only open (embedded) or a connection (remote). Close it unless it
        is :meth:`writer_if_open`."""
        if self._writer is not None:
            return self._writer
        if self.remote:
            return remote_writer(self.settings, self._writes)
        return OxigraphReader.read_only(self.settings.store)

    def store(self, pooled: bool = True) -> KnowledgeStore:
        """The read side (the API, ``coprod-kg query``); the caller closes it.

        Embedded: with ``pooled`` the server's sandboxed, time- and memory-limited query worker
        processes, else an in-process read-only store (the CLI). Remote: a :class:`RemoteStore`,
        which with ``pooled`` checks each query in such a worker and limits each lane's
        requests.
        """
        settings = self.settings
        if self.remote:
            # The server's store is long-lived (keep-alive, closed at shutdown); the CLI's not.
            if not pooled:
                return RemoteStore(remote_endpoints(settings), timeout=settings.query_timeout,
                                   max_bytes=settings.max_response_bytes,
                                   client=make_client(settings.query_timeout, keepalive=False),
                                   manifest_view=self.manifest_view, changes=self._writes,
                                   manifest_ttl=settings.remote_state_ttl,
                                   union_min=settings.remote_union_graphs)
            from coprod_kg.storage.remote.lanes import RemoteLanes  # starts worker processes

            return RemoteStore(remote_endpoints(settings), timeout=settings.query_timeout,
                               max_bytes=settings.max_response_bytes,
                               lanes=RemoteLanes.start(settings),
                               manifest_view=self.manifest_view, changes=self._writes,
                               manifest_ttl=settings.remote_state_ttl,
                               union_min=settings.remote_union_graphs)
        if pooled:
            from coprod_kg.storage.embedded.pooled_store import PooledStore

            return PooledStore(settings.store, settings.query_workers, settings.query_timeout,
                               settings.max_results, settings.max_response_bytes,
                               site_workers=settings.site_workers,
                               memory_mb=settings.query_memory_mb,
                               allow_unsandboxed=settings.allow_unsandboxed_queries,
                               spool_max_bytes=settings.spool_max_bytes,
                               inline=settings.inline_light_queries)
        from coprod_kg.storage.embedded.oxigraph_store import OxigraphStore

        return OxigraphStore(settings.store, settings.max_results, settings.max_response_bytes)

    def close(self) -> None:
        """Flush and release the writer and the manifest store (idempotent).

        The embedded store's lock goes with the last reference to it, which is this one.
        """
        manifests, self._manifests = self._manifests, None
        writer, self._writer = self._writer, None
        self._published = None
        if manifests is not None:
            manifests.close()
        if writer is not None:
            writer.close()
