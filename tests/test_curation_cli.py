"""The curation verbs: submit, review, import (all or nothing), backup and restore."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from coprod_kg.cli import main
from coprod_kg.config import Settings
from coprod_kg.curation import Curation, Status
from coprod_kg.curation.accounts import Accounts
from coprod_kg.rdf.terms import to_rdflib
from coprod_kg.storage.embedded.writer import OxigraphReader
from coprod_kg.storage.manifest import read_manifest
from tests.curation_helpers import ALICE, BOB, record, writable_copy

CASE = "https://w3id.org/coprod/case/street-reports"


@pytest.fixture
def settings(real_store: Path, tmp_path: Path) -> Settings:
    copy = writable_copy(real_store, tmp_path)
    accounts = Accounts(copy.store)
    accounts.add("alice", "contributor")
    accounts.add("bob", "curator")
    return copy


def _cli(settings: Settings, *argv: str) -> int:
    verb, rest = argv[0], list(argv[1:])
    return main([verb, "--store", str(settings.store), *rest])


def test_submit_review_accept(settings: Settings, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "street.ttl"
    good.write_bytes(record("street-reports"))
    assert _cli(settings, "submit", str(good), "--as", "alice") == 0
    assert "version 1: pending" in capsys.readouterr().out
    assert _cli(settings, "review") == 0
    assert "street-reports\tv1\tby alice" in capsys.readouterr().out
    assert _cli(settings, "review", "show", "street-reports", "1") == 0
    assert "+ <https://w3id.org/coprod/case/street-reports>" in capsys.readouterr().out
    assert _cli(settings, "review", "--as", "alice", "accept", "street-reports", "1") == 2
    assert "only curators" in capsys.readouterr().err
    assert _cli(settings, "review", "--as", "bob", "accept", "street-reports", "1") == 0
    assert "published" in capsys.readouterr().out
    good.write_bytes(record("street-reports", title="Street reports"))
    assert _cli(settings, "submit", str(good), "--update", "--as", "alice") == 0
    assert _cli(settings, "review", "--as", "bob", "reject", "street-reports", "2",
                "--reason", "Keep the published title.") == 0
    service = Curation.open(settings)
    try:
        history = service.history(CASE, None)
        assert [(v.number, v.status) for v in history] == [(1, Status.PUBLISHED)]
    finally:
        service.close()


def test_submit_invalid_prints_the_report(settings: Settings, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_bytes(record("street-reports").replace(b"dcterms:title", b"dcterms:alternative"))
    assert _cli(settings, "submit", str(bad), "--as", "alice") == 1
    err = capsys.readouterr().err
    assert "nothing was stored" in err and "title" in err
    assert _cli(settings, "submit", str(bad)) == 2  # no identity
    assert "--as NAME" in capsys.readouterr().err


def test_import_is_all_or_nothing(settings: Settings, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "incoming"
    folder.mkdir()
    for slug in ("first-import", "second-import"):
        (folder / f"{slug}.ttl").write_bytes(record(slug))
    (folder / "broken.ttl").write_bytes(record("third-import").replace(b"dcterms:title",
                                                                        b"dcterms:alternative"))
    (folder / "syntax.ttl").write_text("<urn:a> <urn:b> .\n", encoding="utf-8")
    before = read_manifest(settings.store)
    assert _cli(settings, "import", str(folder), "--as", "bob", "--publish") == 1
    err = capsys.readouterr().err
    assert "broken.ttl" in err and "syntax.ttl" in err and "nothing was imported" in err
    assert read_manifest(settings.store) == before
    for name in ("broken.ttl", "syntax.ttl"):
        (folder / name).unlink()
    assert _cli(settings, "import", str(folder), "--as", "bob", "--publish") == 0
    assert "imported 2 version(s)" in capsys.readouterr().out
    assert _cli(settings, "import", str(folder), "--as", "bob", "--publish") == 0
    assert "imported 0 version(s), 2 unchanged" in capsys.readouterr().out


def _graphs(store_dir: Path) -> dict[str, Graph]:
    """Every named graph of a store as an rdflib graph (blank nodes keep their labels)."""
    out: dict[str, Graph] = {}
    store = OxigraphReader.read_only(store_dir).store
    for quad in store.quads_for_pattern(None, None, None, None):
        name = str(getattr(quad.graph_name, "value", "default"))
        out.setdefault(name, Graph()).add(
            (to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
    return out


def test_backup_and_restore_round_trip(settings: Settings, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    service = Curation.open(settings)
    try:
        service.submit(record("street-reports"), "text/turtle", ALICE)
        service.accept(CASE, 1, BOB)
        service.put(CASE, record("street-reports", "Street reports"), "text/turtle", ALICE,
                    service.etag(CASE))
    finally:
        service.close()
    archive = tmp_path / "backup.tar.gz"
    assert main(["backup", str(archive), "--store", str(settings.store)]) == 0
    target = tmp_path / "restored"
    assert main(["restore", str(archive), "--store", str(target)]) == 0
    original, restored = _graphs(settings.store), _graphs(target)
    assert "https://w3id.org/coprod/graph/curation" in original
    assert original.keys() == restored.keys()
    for name, graph in original.items():
        assert isomorphic(graph, restored[name]), name
    assert [u.name for u in Accounts(target).list()] == ["alice", "bob"]
    assert (target / "audit.log.jsonl").read_bytes() == (
        settings.store / "audit.log.jsonl").read_bytes()
    assert read_manifest(target) == read_manifest(settings.store)
    again = Curation.open(settings.with_overrides(store=target))
    try:
        assert [v.status for v in again.history(CASE, None)] == [Status.PUBLISHED]
        assert [v.number for v in again.pending()] == [2]
    finally:
        again.close()
    assert main(["restore", str(archive), "--store", str(target)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["restore", str(archive), "--store", str(target), "--force"]) == 0
    assert "moved to" in capsys.readouterr().out
