"""Run the store, API and curation tests against the remote back end too.

With ``COPROD_TEST_BACKEND=remote`` the settings that ``conftest.py`` builds select the remote
SPARQL back end (``COPROD_BACKEND=remote``) on ONE server for the whole run: the one that
``COPROD_TEST_SPARQL_URL``, ``COPROD_TEST_SPARQL_UPDATE_URL`` and ``COPROD_TEST_GSP_URL`` name
(``make pytest-remote`` starts an Oxigraph server, ``make pytest-virtuoso`` a Virtuoso instance;
update and Graph Store URLs default to Oxigraph's layout next to the query URL). Only when no
server is named does the run start an in-memory ``oxigraph serve`` of its own.

Each store directory still has a dataset of its own: the tests reach the server through the
switchboard of ``tests/remote_proxy.py``, which keeps one store's graphs in the server at a time
and swaps them when a request for another store comes (the session-wide loaded stores and each
test's own directory alike). Every bound store directory holds a marker file (:data:`MARKER`)
naming its store, so a test that copies a loaded directory to get a writable store
(``shutil.copytree``) also gets a copy of its graphs.

The directory itself still holds what stays local on both back ends: accounts and the audit log.
Tests that exercise the embedded engine itself are skipped in the remote run
(:data:`EMBEDDED_ONLY`), with the reason.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from remote_fixtures import _free_port, _wait_ready, oxigraph_binary
from remote_proxy import Switchboard, wipe

from coprod_kg.config import Settings, load_settings
from coprod_kg.runtime import open_backend
from coprod_kg.storage.embedded.writer import OxigraphWriter
from coprod_kg.storage.manifest import Manifest
from coprod_kg.storage.remote.http import RemoteEndpoints
from coprod_kg.storage.remote.writer import RemoteWriter
from coprod_kg.storage.store import KnowledgeStore

#: The file in a bound store directory naming its store on the switchboard.
MARKER = ".remote-test-store"

REMOTE = os.environ.get("COPROD_TEST_BACKEND", "embedded") == "remote"

#: Test node ids (prefixes) that only make sense on the embedded back end, with the reason.
EMBEDDED_ONLY: dict[str, str] = {
    "tests/test_store.py::test_result_size_limit":
        "it drives the embedded OxigraphStore directly; the remote cap is tested in "
        "test_remote_store.py::test_result_size_cap",
    "tests/test_load.py::test_running_workers_see_a_new_load":
        "query worker processes reading the store directory",
    "tests/test_load.py::test_a_store_with_a_part_written_graph_is_not_backed_up":
        "`coprod-kg backup` archives an embedded store directory",
    "tests/test_curation_core.py::test_a_second_writer_process_gets_a_clear_message":
        "only the embedded store is limited to one writer process",
    "tests/test_serve_processes.py::test_group":
        "`serve --workers N` runs one writer process and readers on the embedded store only",
}

_process: subprocess.Popen[bytes] | None = None
_board: Switchboard | None = None
_keys: dict[Path, str] = {}


def test_server() -> RemoteEndpoints:
    """The server the settings name, else an in-memory Oxigraph server started once."""
    global _process
    query = os.environ.get("COPROD_TEST_SPARQL_URL", "").strip()
    if query:
        base = query.rstrip("/").removesuffix("/query")
        return RemoteEndpoints(
            query,
            os.environ.get("COPROD_TEST_SPARQL_UPDATE_URL", "").strip() or base + "/update",
            os.environ.get("COPROD_TEST_GSP_URL", "").strip() or base + "/store")
    binary = oxigraph_binary()
    if binary is None:
        pytest.skip("no server named (COPROD_TEST_SPARQL_URL) and the oxigraph server is not "
                    "installed (pip install oxigraph)")
    port = _free_port()
    endpoints = RemoteEndpoints.oxigraph(f"http://127.0.0.1:{port}")
    handle, name = tempfile.mkstemp(prefix="coprod-oxigraph-", suffix=".log")
    log = Path(name)
    with os.fdopen(handle, "wb") as out:
        _process = subprocess.Popen([binary, "serve", "--bind", f"127.0.0.1:{port}"],
                                    stdout=out, stderr=subprocess.STDOUT)
    _wait_ready(_process, endpoints, log)
    log.unlink(missing_ok=True)
    return endpoints


def switchboard() -> Switchboard:
    """The one switchboard of this run, in front of :func:`test_server` (wiped first)."""
    global _board
    if _board is None:
        upstream = test_server()
        with httpx.Client(timeout=300) as client:
            wipe(client, upstream)
        _board = Switchboard(upstream)
    return _board


def stop_all() -> None:
    """Stop the switchboard and the server this module started (if any)."""
    global _board, _process
    if _board is not None:
        _board.close()
        _board = None
    if _process is not None:
        _process.terminate()
        try:
            _process.wait(10)
        except subprocess.TimeoutExpired:
            _process.kill()
            _process.wait(10)
        _process = None


def store_endpoints(key: str) -> RemoteEndpoints:
    """The addresses of a store of the switchboard that no directory holds (fixtures)."""
    return switchboard().endpoints(key)


def start_server() -> RemoteEndpoints:
    """An empty dataset of its own on the run's server (a store no directory holds)."""
    return store_endpoints(f"x{len(switchboard().stores)}")


def _bind(store: Path) -> RemoteEndpoints:
    """The store of directory ``store`` (new, or a copy of the store its marker names)."""
    board = switchboard()
    if store in _keys:
        return board.endpoints(_keys[store])
    key = f"s{len(_keys)}"
    _keys[store] = key
    marker = store / MARKER
    copy_of = marker.read_text(encoding="utf-8").strip() if marker.is_file() else None
    endpoints = board.endpoints(key, copy_of)
    store.mkdir(parents=True, exist_ok=True)
    marker.write_text(key, encoding="utf-8")  # for copies of this directory
    return endpoints


def dedicated(store: Path) -> None:
    """Bind ``store`` now (a session-wide loaded store)."""
    if REMOTE:
        _bind(store.resolve())


def remote_overrides(store: Path) -> dict[str, Any]:
    """The settings overrides that put ``store``'s graph on its server (none if embedded)."""
    if not REMOTE:
        return {}
    endpoints = _bind(store.resolve())
    return {"backend": "remote", "sparql_url": endpoints.query,
            "sparql_update_url": endpoints.update, "gsp_url": endpoints.store}


def skip_embedded_only(items: list[pytest.Item]) -> None:
    """Mark the :data:`EMBEDDED_ONLY` tests as skipped (remote run only)."""
    if not REMOTE:
        return
    for item in items:
        for prefix, reason in EMBEDDED_ONLY.items():
            if item.nodeid.startswith(prefix):
                item.add_marker(pytest.mark.skip(reason=f"embedded back end only: {reason}"))


# -- back-end-neutral access for tests that look inside a store directory -------------------


def settings_of(store: Path, **overrides: Any) -> Settings:
    """Default settings over ``store`` on the back end of this test run."""
    return load_settings({}).with_overrides(store=store, **{**remote_overrides(store),
                                                            **overrides})


def manifest_of(store: Path) -> Manifest | None:
    """The manifest of ``store`` (its file, or its server's manifest graph)."""
    with open_backend(settings_of(store)) as backend:
        return backend.manifests().read()


def own_threads() -> set[threading.Thread]:
    """This process's threads but the test proxy's connection handlers (a remote run's server
    side: each lives as long as a client keeps its connection, whoever opened it)."""
    return {thread for thread in threading.enumerate()
            if "process_request_thread" not in thread.name}


def settled(manifest: Manifest | None) -> Manifest | None:
    """``manifest`` without its records' ``unsettled`` marks: what it publishes (a load that
    failed marks the graphs it was replacing, and publishes nothing)."""
    if manifest is None:
        return None
    return Manifest({name: dataclasses.replace(record, unsettled=False)
                     for name, record in manifest.graphs.items()},
                    manifest.inference_inputs, manifest.generation)


def unsettled_of(store: Path) -> list[str]:
    """The graphs the manifest of ``store`` marks unsettled, sorted."""
    manifest = manifest_of(store)
    assert manifest is not None
    return manifest.unsettled_graphs()


def store_of(store: Path, **overrides: Any) -> KnowledgeStore:
    """An in-process read store over ``store`` (close it after use)."""
    return open_backend(settings_of(store, **overrides)).store(pooled=False)


def writer_of(store: Path) -> OxigraphWriter | RemoteWriter:
    """The loader's graph writer over ``store`` (close it after use)."""
    writer = open_backend(settings_of(store)).writer()
    assert isinstance(writer, OxigraphWriter | RemoteWriter)
    return writer


def main_store_triples(store: Path, graph: str) -> set[str]:
    """The triples of ``graph`` in the main store of ``store``, published or not (the
    loader's writer reads them)."""
    held = writer_of(store)
    try:
        return {str(t) for t in held.graph_triples(graph)}
    finally:
        held.close()


def write_manifest_of(store: Path, manifest: Manifest) -> None:
    """Replace the manifest of ``store``."""
    with open_backend(settings_of(store)) as backend:
        backend.manifests().write(manifest)


def backend_env(store: Path) -> dict[str, str]:
    """The ``COPROD_*`` variables that point the CLI at ``store``'s back end (none if embedded)."""
    names = {"backend": "COPROD_BACKEND", "sparql_url": "COPROD_SPARQL_URL",
             "sparql_update_url": "COPROD_SPARQL_UPDATE_URL", "gsp_url": "COPROD_GSP_URL"}
    return {names[k]: str(v) for k, v in remote_overrides(store).items()}


def jsonld_nodes(body: bytes) -> list[dict[str, Any]]:
    """The nodes of a JSON-LD answer: a top-level array (Oxigraph) or ``{"@graph": [...]}``
    (Virtuoso); both are valid JSON-LD."""
    document = json.loads(body)
    nodes = document.get("@graph", [document]) if isinstance(document, dict) else document
    return [node for node in nodes if isinstance(node, dict)]
