"""The back-end factory and settings, and visibility on the remote back end being atomic with
the one update request of a curation change (whatever the manifest graph says)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from backends import start_server

from coprod_kg.cli import main
from coprod_kg.config import PROJECT_ROOT, Settings, load_settings
from coprod_kg.curation import Curation
from coprod_kg.curation.model import case_iri
from coprod_kg.curation.visibility import curated_flags
from coprod_kg.errors import BadInput
from coprod_kg.loading import load_store
from coprod_kg.runtime import open_backend
from coprod_kg.storage.backend import remote_endpoints
from coprod_kg.storage.remote.manifests import RemoteManifestStore
from coprod_kg.storage.remote.store import RemoteStore
from coprod_kg.storage.remote.writer import RemoteWriter
from coprod_kg.storage.store import prepare
from tests.curation_helpers import BOB, record


def test_update_and_store_urls_follow_the_oxigraph_layout() -> None:
    settings = load_settings({"COPROD_BACKEND": "remote",
                              "COPROD_SPARQL_URL": "http://10.0.0.5:7878/query"})
    endpoints = remote_endpoints(settings)
    assert (endpoints.update, endpoints.store) == ("http://10.0.0.5:7878/update",
                                                   "http://10.0.0.5:7878/store")
    fuseki = load_settings({"COPROD_SPARQL_URL": "http://h/ds/sparql",
                            "COPROD_SPARQL_UPDATE_URL": "http://h/ds/update",
                            "COPROD_GSP_URL": "http://h/ds/data"})
    assert remote_endpoints(fuseki).store == "http://h/ds/data"


def test_missing_or_underivable_urls_and_unknown_backends_are_clear_errors() -> None:
    with pytest.raises(BadInput, match="COPROD_SPARQL_URL"):
        remote_endpoints(load_settings({"COPROD_BACKEND": "remote"}))
    with pytest.raises(BadInput, match="COPROD_SPARQL_UPDATE_URL"):
        remote_endpoints(load_settings({"COPROD_SPARQL_URL": "http://h/sparql"}))
    with pytest.raises(BadInput, match="COPROD_BACKEND"):
        load_settings({"COPROD_BACKEND": "fuseki"})


def test_serve_refuses_no_workers(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["serve", "--workers", "0", "--store", str(tmp_path)]) == 2
    assert "--workers must be at least 1" in capsys.readouterr().err


def _ask(settings: Settings, iri: str) -> bool:
    store = open_backend(settings).store(pooled=False)
    try:
        body = store.query(prepare(f"ASK {{ <{iri}> ?p ?o }}")).body
    finally:
        store.close()
    answer: bool = json.loads(body)["boolean"]
    return answer


def test_remote_visibility_follows_the_curation_graph_not_the_manifest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    endpoints = start_server()
    settings = load_settings({}).with_overrides(
        store=tmp_path / "store", backend="remote", sparql_url=endpoints.query,
        ontology_dir=PROJECT_ROOT / "ontology", data_dir=PROJECT_ROOT / "data")
    load_store(settings)
    # A crash right after the one update request: the manifest graph is never rewritten.
    monkeypatch.setattr("coprod_kg.curation.base.derive_manifest", lambda *args: None)
    service = Curation(settings)
    try:
        info = service.submit(record("remote-atomic"), "text/turtle", BOB, publish=True).version
        case = case_iri("remote-atomic")
        writer = RemoteWriter(endpoints)
        try:
            manifest = RemoteManifestStore(writer).read()
        finally:
            writer.close()
        assert manifest is not None and info.graph not in manifest.graphs
        assert _ask(settings, case)  # public with its update, before any manifest write
        remote = RemoteStore(endpoints, manifest_view=curated_flags)
        try:
            assert info.graph in [g.name for g in remote.graphs()]
        finally:
            remote.close()
        service.withdraw(case, BOB, service.etag(case))
        assert not _ask(settings, case)
    finally:
        service.close()
