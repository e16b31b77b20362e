"""Run the store, API and curation tests against the remote back end too.

With ``COPROD_TEST_BACKEND=remote`` the settings that ``conftest.py`` builds select the remote
SPARQL back end (``COPROD_BACKEND=remote``). Each store directory is bound to its own in-memory
``oxigraph serve`` process, started when settings for the directory are first built, so each
test starts from an empty server:

- the session-wide loaded stores (``mini_store``, ``real_store``) keep theirs to the end
  (:func:`dedicated`);
- any other directory (a test's ``tmp_path``) gets one too; only the :data:`KEEP` most
  recently bound of those stay running, older ones are stopped (their tests are over).

Every bound store directory holds a marker file (:data:`MARKER`) naming its server, so a test
that copies a loaded directory to get a writable store (``shutil.copytree``) also gets a copy of
its graphs: binding the copy copies the whole dataset (N-Quads over the Graph Store protocol)
from the marker's server. The session server of ``tests/remote_fixtures.py`` is
``COPROD_TEST_SPARQL_URL`` when set (``make pytest-remote`` starts it with
``scripts/oxigraph-server.sh``).

The directory itself still holds what stays local on both back ends: accounts and the audit log.
Tests that exercise the embedded engine itself are skipped in the remote run
(:data:`EMBEDDED_ONLY`), with the reason.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import httpx
import pytest
from remote_fixtures import _free_port, _wait_ready, oxigraph_binary

from coprod_kg.config import Settings, load_settings
from coprod_kg.runtime import open_backend
from coprod_kg.storage.embedded.writer import OxigraphWriter
from coprod_kg.storage.manifest import Manifest
from coprod_kg.storage.remote.http import RemoteEndpoints
from coprod_kg.storage.remote.writer import RemoteWriter
from coprod_kg.storage.store import KnowledgeStore

#: The file in a bound store directory naming its server's Graph Store endpoint.
MARKER = ".remote-test-server"

REMOTE = os.environ.get("COPROD_TEST_BACKEND", "embedded") == "remote"

#: Test node ids (prefixes) that only make sense on the embedded back end, with the reason.
EMBEDDED_ONLY: dict[str, str] = {
    "tests/test_store.py::test_result_size_limit":
        "it drives the embedded OxigraphStore directly; the remote cap is tested in "
        "test_remote_store.py::test_result_size_cap",
    "tests/test_load.py::test_running_workers_see_a_new_load":
        "query worker processes reading the store directory",
    "tests/test_curation_core.py::test_a_second_writer_process_gets_a_clear_message":
        "only the embedded store is limited to one writer process",
}

#: How many servers of non-dedicated directories stay running.
KEEP = 8

_dedicated: dict[Path, RemoteEndpoints] = {}
_processes: dict[str, subprocess.Popen[bytes]] = {}  # query URL -> process
_recent: OrderedDict[Path, RemoteEndpoints] = OrderedDict()


def start_server() -> RemoteEndpoints:
    """An in-memory Oxigraph server on a free port (stopped by :func:`stop_all`)."""
    binary = oxigraph_binary()
    if binary is None:
        pytest.skip("the oxigraph server is not installed (pip install oxigraph)")
    port = _free_port()
    endpoints = RemoteEndpoints.oxigraph(f"http://127.0.0.1:{port}")
    handle, name = tempfile.mkstemp(prefix="coprod-oxigraph-", suffix=".log")
    log = Path(name)
    with os.fdopen(handle, "wb") as out:
        process = subprocess.Popen([binary, "serve", "--bind", f"127.0.0.1:{port}"],
                                   stdout=out, stderr=subprocess.STDOUT)
    _processes[endpoints.query] = process
    _wait_ready(process, endpoints, log)
    log.unlink(missing_ok=True)
    return endpoints


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def stop_all() -> None:
    """Stop every server this module started."""
    while _processes:
        _stop(_processes.popitem()[1])


def dedicated(store: Path) -> None:
    """Give ``store`` its own server (for a session-wide loaded store)."""
    if REMOTE and store.resolve() not in _dedicated:
        endpoints = start_server()
        _dedicated[store.resolve()] = endpoints
        store.mkdir(parents=True, exist_ok=True)
        (store / MARKER).write_text(endpoints.store, encoding="utf-8")


def _server_for(store: Path) -> RemoteEndpoints:
    """The server of a non-dedicated directory (started, and filled from a copied marker)."""
    if store in _recent:
        _recent.move_to_end(store)
        return _recent[store]
    endpoints = start_server()
    _recent[store] = endpoints
    while len(_recent) > KEEP:
        _stop(_processes.pop(_recent.popitem(last=False)[1].query))
    marker = store / MARKER
    if marker.is_file():  # a copy of a bound directory: copy its graphs too
        _copy_dataset(marker.read_text(encoding="utf-8").strip(), endpoints)
    store.mkdir(parents=True, exist_ok=True)
    marker.write_text(endpoints.store, encoding="utf-8")  # for copies of this directory
    return endpoints


def _copy_dataset(source_store_url: str, target: RemoteEndpoints) -> None:
    """Every graph of one Oxigraph server into another, through the Graph Store protocol."""
    nquads = "application/n-quads"
    got = httpx.get(source_store_url, headers={"Accept": nquads}, timeout=120)
    got.raise_for_status()
    put = httpx.post(target.store, content=got.content, timeout=120,
                     headers={"Content-Type": nquads})
    put.raise_for_status()


def remote_overrides(store: Path) -> dict[str, Any]:
    """The settings overrides that put ``store``'s graph on its server (none if embedded)."""
    if not REMOTE:
        return {}
    key = store.resolve()
    endpoints = _dedicated.get(key) or _server_for(key)
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


def store_of(store: Path, **overrides: Any) -> KnowledgeStore:
    """An in-process read store over ``store`` (close it after use)."""
    return open_backend(settings_of(store, **overrides)).store(pooled=False)


def writer_of(store: Path) -> OxigraphWriter | RemoteWriter:
    """The loader's graph writer over ``store`` (close it after use)."""
    writer = open_backend(settings_of(store)).writer()
    assert isinstance(writer, OxigraphWriter | RemoteWriter)
    return writer


def write_manifest_of(store: Path, manifest: Manifest) -> None:
    """Replace the manifest of ``store``."""
    with open_backend(settings_of(store)) as backend:
        backend.manifests().write(manifest)


def backend_env(store: Path) -> dict[str, str]:
    """The ``COPROD_*`` variables that point the CLI at ``store``'s back end (none if embedded)."""
    names = {"backend": "COPROD_BACKEND", "sparql_url": "COPROD_SPARQL_URL",
             "sparql_update_url": "COPROD_SPARQL_UPDATE_URL", "gsp_url": "COPROD_GSP_URL"}
    return {names[k]: str(v) for k, v in remote_overrides(store).items()}
