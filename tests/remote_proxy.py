"""One SPARQL server, many test stores: a switchboard in front of the server the tests name.

The remote test run needs one dataset per store directory (the session's loaded stores, each
test's own), but a server such as Virtuoso has one dataset for everything, and graph names
cannot be prefixed (they are the knowledge graph's own IRIs). So the tests talk to this
in-process proxy instead, one address prefix per store (``/{key}/query``, ``/{key}/update``,
``/{key}/store``: Oxigraph's layout, whatever the server's), and the proxy keeps exactly one
store's graphs in the server at a time:

- it remembers every graph a store's requests name (``graph=`` of the Graph Store protocol,
  ``GRAPH <…>`` and any IRI under ``…/graph/`` in an update), and drops nothing else;
- before forwarding a request for another store, it saves the graphs of the store in the
  server (only if that store wrote since), drops them, and puts the other store's graphs back.

Requests are forwarded one at a time. Wiping drops the listed graphs one by one, because
Virtuoso answers ``DROP ALL`` with 200 and changes nothing.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx

from coprod_kg.storage.remote.http import RemoteEndpoints

_GRAPH_IN_UPDATE = re.compile(r"GRAPH\s*<([^>\s]+)>", re.IGNORECASE)
#: Any IRI under the knowledge graph's graph namespace (e.g. a target in ``VALUES``).
_GRAPH_IRI = re.compile(r"<(https://w3id\.org/coprod/graph/[^>\s#]+)>")
_NTRIPLES = "application/n-triples"
#: Graphs of a store that is not in the server: name -> N-Triples.
Saved = dict[str, bytes]


@dataclass
class _Store:
    graphs: set[str] = field(default_factory=set)  # every graph its requests named
    saved: Saved = field(default_factory=dict)
    dirty: bool = False  # wrote since it was last put in the server


class Switchboard:
    """The proxy: :meth:`endpoints` gives a store's addresses; :meth:`close` stops it."""

    def __init__(self, upstream: RemoteEndpoints, timeout: float = 300.0) -> None:
        self.upstream = upstream
        self.client = httpx.Client(timeout=timeout)
        self.stores: dict[str, _Store] = {}
        self.active: str | None = None
        self.lock = threading.RLock()
        board = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                board._handle(self)

            do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def endpoints(self, key: str, copy_of: str | None = None) -> RemoteEndpoints:
        """The addresses of store ``key`` (created empty, or as a copy of ``copy_of``)."""
        with self.lock:
            if key not in self.stores:
                store = _Store()
                if copy_of is not None and copy_of in self.stores:
                    source = self.stores[copy_of]
                    if self.active == copy_of:
                        self._save(copy_of)
                    store.saved = dict(source.saved)
                    store.graphs = set(source.graphs)
                self.stores[key] = store
        return RemoteEndpoints.oxigraph(f"{self.base}/{key}")

    def close(self) -> None:
        """Stop serving (the server's graphs stay as they are)."""
        self.server.shutdown()
        self.server.server_close()
        self.client.close()

    # -- switching --------------------------------------------------------------------------

    def _save(self, key: str) -> None:
        store = self.stores[key]
        if not store.dirty:
            return
        saved: Saved = {}
        for name in sorted(store.graphs):
            got = self.client.get(self.upstream.store, params={"graph": name},
                                  headers={"Accept": _NTRIPLES})
            if got.status_code == 404:
                continue
            got.raise_for_status()
            if got.content.strip():
                saved[name] = got.content
        store.saved, store.graphs, store.dirty = saved, set(saved), False

    def _activate(self, key: str) -> None:
        if self.active == key:
            return
        incoming = self.stores[key]
        if self.active is not None:
            self._save(self.active)
            for name in sorted(self.stores[self.active].graphs - set(incoming.saved)):
                drop(self.client, self.upstream, name)
        for name, body in incoming.saved.items():
            put = self.client.put(self.upstream.store, params={"graph": name}, content=body,
                                  headers={"Content-Type": _NTRIPLES})
            put.raise_for_status()
        self.active = key

    # -- forwarding -------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        segments = parts.path.strip("/").split("/")
        if len(segments) != 2 or segments[0] not in self.stores:
            handler.send_error(404)
            return
        key, leaf = segments
        target = {"query": self.upstream.query, "update": self.upstream.update,
                  "store": self.upstream.store}.get(leaf)
        if target is None:
            handler.send_error(404)
            return
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = {k: v for k, v in handler.headers.items()
                   if k.lower() in ("content-type", "accept")}
        params = parse_qs(parts.query, keep_blank_values=True)
        with self.lock:
            self._activate(key)
            self._track(key, leaf, handler.command, params, headers, body)
            try:
                response = self.client.request(handler.command, target, params=params,
                                               content=body, headers=headers)
            except httpx.TransportError as exc:
                handler.send_error(502, str(exc))
                return
        handler.send_response(response.status_code)
        for name in ("content-type",):
            if name in response.headers:
                handler.send_header(name, response.headers[name])
        handler.send_header("Content-Length", str(len(response.content)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(response.content)

    def _track(self, key: str, leaf: str, method: str, params: dict[str, list[str]],
               headers: dict[str, str], body: bytes) -> None:
        store = self.stores[key]
        if leaf == "store" and method in ("PUT", "POST", "DELETE"):
            store.dirty = True
            store.graphs.update(params.get("graph", []))
        elif leaf == "update" and method == "POST":
            store.dirty = True
            text = body.decode("utf-8", errors="replace")
            if "form-urlencoded" in headers.get("Content-Type", headers.get("content-type", "")):
                text = " ".join(parse_qs(text).get("update", []))
            text += " ".join(params.get("update", []))
            store.graphs.update(_GRAPH_IN_UPDATE.findall(text))
            store.graphs.update(_GRAPH_IRI.findall(text))


def drop(client: httpx.Client, endpoints: RemoteEndpoints, name: str) -> None:
    """Remove one graph (absent is fine)."""
    response = client.delete(endpoints.store, params={"graph": name})
    if response.status_code not in (200, 201, 204, 404):
        response.raise_for_status()


def wipe(client: httpx.Client, endpoints: RemoteEndpoints) -> None:
    """Remove the coprod-kg graphs a server lists (its manifest and curation records), then
    ``DROP ALL`` for the servers that honour it."""
    from coprod_kg.storage.remote.manifests import RemoteManifestStore
    from coprod_kg.storage.remote.writer import RemoteWriter

    writer = RemoteWriter(endpoints, client=client)
    manifest = RemoteManifestStore(writer).read()
    names = set(manifest.graphs) if manifest is not None else set()
    rows = writer.select("SELECT DISTINCT ?v WHERE { GRAPH <https://w3id.org/coprod/graph/"
                         "curation> { ?v ?p ?o } }")
    for row in rows:
        version = row["v"].value
        names |= {version, version + "/inferred"}
    names |= {f"https://w3id.org/coprod/graph/{n}" for n in
              ("manifest", "curation", "provenance", "inferred", "ontology")}
    for name in sorted(names):
        drop(client, endpoints, name)
    client.post(endpoints.update, content=b"DROP SILENT ALL",
                headers={"Content-Type": "application/sparql-update"})
