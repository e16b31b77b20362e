"""Fixtures for the remote SPARQL back end: a real SPARQL server on 127.0.0.1.

Import them into a test module (``from remote_fixtures import oxigraph_server, remote_real``):

- ``oxigraph_server``: an empty dataset of its own on the run's server (Oxigraph, Virtuoso or
  whatever ``COPROD_TEST_SPARQL_URL`` names; see ``tests/backends.py``), as
  :class:`RemoteEndpoints` in Oxigraph's layout;
- ``remote_real``: that server holding the same graphs and manifest as ``real_store`` (copied
  through :class:`RemoteWriter` and :class:`RemoteManifestStore`), plus one private graph.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from coprod_kg.config import PROJECT_ROOT, load_settings
from coprod_kg.loading import load_store
from coprod_kg.storage.remote.http import RemoteEndpoints
from coprod_kg.storage.remote.load import push_embedded
from coprod_kg.storage.remote.manifests import RemoteManifestStore
from coprod_kg.storage.remote.writer import RemoteWriter
from coprod_kg.storage.store import GraphRecord

#: A graph loaded into the remote store but marked private in its manifest.
SECRET_GRAPH = "https://w3id.org/coprod/graph/submission/remote-test-secret"
SECRET_SUBJECT = "https://w3id.org/coprod/case/remote-test-secret"


def oxigraph_binary() -> str | None:
    """The ``oxigraph`` command of this virtualenv, else the one on ``PATH``."""
    local = Path(sys.executable).parent / "oxigraph"
    return str(local) if local.is_file() else shutil.which("oxigraph")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(process: subprocess.Popen[bytes], endpoints: RemoteEndpoints, log: Path) -> None:
    deadline = time.monotonic() + 30
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"oxigraph exited: {log.read_text(errors='replace')}")
            try:
                if client.post(endpoints.query, data={"query": "ASK {}"}).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise RuntimeError(f"oxigraph not ready after 30 s: {log.read_text(errors='replace')}")


@pytest.fixture(scope="session")
def oxigraph_server() -> RemoteEndpoints:
    """An empty dataset on the run's SPARQL server (see ``tests/backends.py``): the server
    ``COPROD_TEST_SPARQL_URL`` names, else an Oxigraph server started for the run."""
    from backends import store_endpoints

    return store_endpoints("fixture-server")


@dataclass(frozen=True)
class RemoteCopy:
    """A remote server loaded with the same graphs as an embedded store directory."""

    endpoints: RemoteEndpoints
    embedded: Path
    graphs: tuple[str, ...]


def copy_store(embedded: Path, writer: RemoteWriter) -> tuple[str, ...]:
    """Put every named graph of ``embedded`` and its manifest into the remote server, then
    add :data:`SECRET_GRAPH`, recorded as private."""
    names = push_embedded(embedded, writer)
    assert names, "the embedded store has no named graphs"
    secret = [ox.Triple(ox.NamedNode(SECRET_SUBJECT),
                        ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"),
                        ox.Literal("remote secret"))]
    writer.replace_graph(SECRET_GRAPH, secret)
    manifests = RemoteManifestStore(writer)
    manifest = manifests.read()
    assert manifest is not None
    graphs = dict(manifest.graphs)
    graphs[SECRET_GRAPH] = GraphRecord(SECRET_GRAPH, "test secret", "0", 1, public=False)
    manifests.write(replace(manifest, graphs=graphs))
    return tuple(names)


@pytest.fixture(scope="session")
def remote_real(oxigraph_server: RemoteEndpoints, real_store: Path,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteCopy]:
    """The Oxigraph server holding a copy of ``real_store`` (plus :data:`SECRET_GRAPH`).

    In the remote test run ``real_store`` is itself on a server, so an embedded copy is loaded
    here to compare with.
    """
    if os.environ.get("COPROD_TEST_BACKEND") == "remote":
        real_store = tmp_path_factory.mktemp("embedded-real-store")
        load_store(load_settings({}).with_overrides(
            store=real_store, ontology_dir=PROJECT_ROOT / "ontology",
            data_dir=PROJECT_ROOT / "data"))
    writer = RemoteWriter(oxigraph_server)
    try:
        names = copy_store(real_store, writer)
        yield RemoteCopy(oxigraph_server, real_store, names)
    finally:
        writer.close()
