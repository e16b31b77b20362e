"""``coprod-kg load``: named graphs per source, idempotence, entailments, the CLI verbs."""

from __future__ import annotations

import dataclasses
import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any, cast

import pytest
from backends import (
    main_store_triples,
    manifest_of,
    own_threads,
    settled,
    store_of,
    unsettled_of,
    write_manifest_of,
)
from fastapi.testclient import TestClient

from api.app import create_app
from coprod_kg.cli import main
from coprod_kg.config import Settings
from coprod_kg.curation import Curation
from coprod_kg.curation.backup import backup
from coprod_kg.errors import BadInput, LoadUnfinished, ParseError
from coprod_kg.loading import FILE_GRAPH_BASE, load_store, storing
from coprod_kg.loading import load as load_module
from coprod_kg.rdf.namespaces import INFERRED_GRAPH, ONTOLOGY_GRAPH
from coprod_kg.storage.embedded import public_view
from coprod_kg.storage.embedded.pooled_store import PooledStore
from coprod_kg.storage.manifest import Manifest, manifest_path, read_manifest, write_manifest
from coprod_kg.storage.remote.load import push_embedded
from coprod_kg.storage.remote.writer import RemoteWriter
from coprod_kg.storage.store import GraphRecord, StoreNotReady, prepare

MINI = Path(__file__).parent / "fixtures" / "mini"

# Bundled cases are imported through curation: version graphs, not file graphs.
CASE_GRAPH = "https://w3id.org/coprod/graph/case/example-case/v1"
CASE_GRAPH_V2 = "https://w3id.org/coprod/graph/case/example-case/v2"
PROVENANCE_GRAPH = "https://w3id.org/coprod/graph/provenance"


def _copy_mini(tmp_path: Path, settings: Settings) -> Settings:
    """A writable copy of the miniature sources, so tests can change files."""
    shutil.copytree(MINI, tmp_path / "src")
    return settings.with_overrides(ontology_dir=tmp_path / "src" / "ontology",
                                   data_dir=tmp_path / "src" / "data")


def _ask(settings: Settings, pattern: str) -> bool:
    store = store_of(settings.store)
    try:
        body = store.query(prepare(f"PREFIX cp: <https://w3id.org/coprod/ontology/> "
                                   f"PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
                                   f"ASK {{ {pattern} }}")).body
    except BadInput as exc:  # the gate refuses a graph that is not public: not visible
        if "not public" not in str(exc):
            raise
        return False
    finally:
        store.close()
    answer: bool = json.loads(body)["boolean"]
    return answer


def test_each_source_gets_its_own_graph(mini_settings: Settings) -> None:
    report = load_store(mini_settings)
    assert report.loaded == [str(ONTOLOGY_GRAPH), CASE_GRAPH]
    manifest = manifest_of(mini_settings.store)
    assert manifest is not None
    assert set(manifest.public_graphs()) == {str(ONTOLOGY_GRAPH), CASE_GRAPH, str(INFERRED_GRAPH),
                                             CASE_GRAPH + "/inferred", PROVENANCE_GRAPH}
    assert _ask(mini_settings, f"GRAPH <{CASE_GRAPH}> {{ ?case a cp:CoProductionCase }}")
    assert not _ask(mini_settings, f"GRAPH <{ONTOLOGY_GRAPH}> {{ ?case a cp:CoProductionCase }}")


def test_reload_skips_unchanged_and_replaces_changed(tmp_path: Path,
                                                     mini_settings: Settings) -> None:
    settings = _copy_mini(tmp_path, mini_settings)
    load_store(settings)
    before = manifest_of(settings.store)
    again = load_store(settings)
    assert again.loaded == [] and again.inferred is None
    assert manifest_of(settings.store) == before  # same generation: workers keep their view
    case_file = settings.data_dir / "cases" / "example-case.ttl"
    case_file.write_text(case_file.read_text(encoding="utf-8").replace(
        "An example case", "A renamed case"), encoding="utf-8")
    changed = load_store(settings)
    assert changed.loaded == [CASE_GRAPH_V2]
    assert changed.inferred is None  # a case carries its own entailments; files are unchanged
    assert _ask(settings, f"GRAPH <{CASE_GRAPH_V2}/inferred> "
                "{{ ?c a <http://www.w3.org/ns/prov#Activity> }}")
    assert not _ask(settings, f"GRAPH <{CASE_GRAPH}/inferred> {{ ?s ?p ?o }}")
    assert _ask(settings, '?c <http://purl.org/dc/terms/title> "A renamed case"@en')
    assert not _ask(settings, '?c <http://purl.org/dc/terms/title> "An example case"@en')
    after = manifest_of(settings.store)
    assert after is not None and before is not None and after.generation != before.generation


def test_removed_data_file_loses_its_graph(tmp_path: Path, mini_settings: Settings) -> None:
    settings = _copy_mini(tmp_path, mini_settings)
    load_store(settings)
    (settings.data_dir / "cases" / "example-case.ttl").unlink()
    report = load_store(settings)
    assert report.removed == [CASE_GRAPH]
    assert not _ask(settings, "?case a cp:CoProductionCase")


def test_entailments_are_materialised(mini_settings: Settings) -> None:
    load_store(mini_settings)
    inferred = f"GRAPH <{CASE_GRAPH}/inferred>"  # the bundled case's own entailments
    coop = "<https://w3id.org/coprod/organisation/example-coop>"
    case = "<https://w3id.org/coprod/case/example-case>"
    assert _ask(mini_settings, f"{inferred} {{ {coop} a cp:Agent }}")  # subclass, two steps
    assert _ask(mini_settings, f"{inferred} {{ {case} a <http://www.w3.org/ns/prov#Activity> }}")
    assert _ask(mini_settings, f"{inferred} {{ ?coding "  # subproperty
                               "<http://purl.org/spar/cito/citesAsEvidence> ?source }")
    assert _ask(mini_settings, f"{inferred} {{ {coop} cp:provides {case} }}")  # owl:inverseOf
    assert _ask(mini_settings, f"{inferred} {{ <https://w3id.org/coprod/concept/nurse> "
                               "skos:broaderTransitive <https://w3id.org/coprod/concept/"
                               "regular-producer> }")
    assert _ask(mini_settings, f"{inferred} {{ <https://w3id.org/coprod/concept/health-worker> "
                               "skos:narrower <https://w3id.org/coprod/concept/nurse> }")
    # Asserted triples are not repeated in the inferred graph.
    assert not _ask(mini_settings, f"{inferred} {{ {case} a cp:CoProductionCase }}")


def test_ontology_alone_loads_without_data(mini_settings: Settings, tmp_path: Path) -> None:
    settings = mini_settings.with_overrides(data_dir=tmp_path / "missing")
    report = load_store(settings)
    assert report.loaded == [str(ONTOLOGY_GRAPH)]
    assert _ask(settings, "?c a <http://www.w3.org/2002/07/owl#Class>")


def test_extra_files_and_parse_errors(mini_settings: Settings, tmp_path: Path) -> None:
    load_store(mini_settings)
    extra = tmp_path / "extra.nt"
    extra.write_text("<urn:x:a> <urn:x:p> <urn:x:b> .\n", encoding="utf-8")
    report = load_store(mini_settings, [extra])
    assert report.loaded == [FILE_GRAPH_BASE + "extra"]
    named = tmp_path / "named.ttl"
    named.write_text("<urn:x:c> <urn:x:p> <urn:x:d> .\n", encoding="utf-8")
    assert load_store(mini_settings, [named], "urn:graph:named").loaded == ["urn:graph:named"]
    broken = tmp_path / "broken.ttl"
    broken.write_text("<urn:x:a> <urn:x:p> .\n", encoding="utf-8")
    before = manifest_of(mini_settings.store)
    with pytest.raises(ParseError, match=r"broken\.ttl"):
        load_store(mini_settings, [broken])
    assert manifest_of(mini_settings.store) == before
    assert _ask(mini_settings, "<urn:x:a> <urn:x:p> <urn:x:b>")  # earlier extra graph kept


def test_cli_load_and_query(mini_settings: Settings, monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COPROD_ONTOLOGY_DIR", str(mini_settings.ontology_dir))
    monkeypatch.setenv("COPROD_DATA_DIR", str(mini_settings.data_dir))
    store = str(mini_settings.store)
    assert main(["load", "--store", store]) == 0
    assert "2 graph(s) loaded" in capsys.readouterr().out
    assert main(["load", "--store", store]) == 0
    assert "2 unchanged" in capsys.readouterr().out
    query = "SELECT ?c { ?c a <https://w3id.org/coprod/ontology/CoProductionCase> }"
    assert main(["query", query, "--format", "csv", "--store", store]) == 0
    assert "https://w3id.org/coprod/case/example-case" in capsys.readouterr().out
    assert main(["query", "CONSTRUCT WHERE { ?s a ?o } LIMIT 2", "--format", "ntriples",
                 "--store", store]) == 0
    assert capsys.readouterr().out.count(" .\n") == 2
    assert main(["query", "SELECT * { SERVICE <http://127.0.0.1:9/> {} }", "--store",
                 store]) == 2
    assert "SERVICE" in capsys.readouterr().err


def test_query_before_load_is_a_clear_error(mini_settings: Settings,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "ASK {}", "--store", str(mini_settings.store)]) == 2
    assert "coprod-kg load" in capsys.readouterr().err


def test_real_ontology_and_data_load(real_store: Path) -> None:
    manifest = manifest_of(real_store)
    assert manifest is not None
    assert manifest.graphs[str(ONTOLOGY_GRAPH)].triples > 0
    assert manifest.graphs[str(INFERRED_GRAPH)].triples > 0


def test_running_workers_see_a_new_load(tmp_path: Path, mini_settings: Settings) -> None:
    settings = _copy_mini(tmp_path, mini_settings)
    load_store(settings)
    pooled = PooledStore(settings.store, workers=1, timeout=60, max_results=1000)
    query = prepare('ASK { ?c <http://purl.org/dc/terms/title> "A renamed case"@en }')
    try:
        assert json.loads(pooled.query(query).body)["boolean"] is False
        case_file = settings.data_dir / "cases" / "example-case.ttl"
        case_file.write_text(case_file.read_text(encoding="utf-8").replace(
            "An example case", "A renamed case"), encoding="utf-8")
        load_store(settings)  # while the worker holds its read-only view open
        assert json.loads(pooled.query(query).body)["boolean"] is True
    finally:
        pooled.close()


@pytest.mark.parametrize("slow_thread", [False, True], ids=["as is", "slow storing thread"])
def test_an_ontology_change_recomputes_every_case_entailment(
        tmp_path: Path, mini_settings: Settings, monkeypatch: pytest.MonkeyPatch,
        slow_thread: bool) -> None:
    settings = _copy_mini(tmp_path, mini_settings)
    load_store(settings)
    if slow_thread:  # the cases must read the new ontology, however long the thread takes
        real = storing.store_parsed

        def store(writer: Any, item: Any) -> int:
            if threading.current_thread().name.startswith("storing"):
                time.sleep(1)
            return real(writer, item)

        monkeypatch.setattr(storing, "store_parsed", store)
    inferred = f"GRAPH <{CASE_GRAPH}/inferred>"
    probe = "{ ?case a <https://example.org/AnyCase> }"
    assert not _ask(settings, f"{inferred} {probe}")
    _change_ontology(settings)
    report = load_store(settings)
    assert str(ONTOLOGY_GRAPH) in report.loaded
    assert _ask(settings, f"{inferred} {probe}")


def _change_ontology(settings: Settings) -> None:
    header = settings.ontology_dir / "coprod.ttl"
    header.write_text(header.read_text(encoding="utf-8") + """
<https://w3id.org/coprod/ontology/CoProductionCase>
    <http://www.w3.org/2000/01/rdf-schema#subClassOf> <https://example.org/AnyCase> .
""", encoding="utf-8")


def test_a_failed_ontology_write_publishes_nothing_and_joins_the_rules(
        tmp_path: Path, mini_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _copy_mini(tmp_path, mini_settings)
    load_store(settings)
    before = manifest_of(settings.store)
    running = own_threads()
    _change_ontology(settings)
    real = storing.store_parsed

    def store(writer: Any, item: Any) -> int:
        if item.source.kind == "ontology":
            raise BadInput("the ontology could not be written (on purpose)")
        return real(writer, item)

    monkeypatch.setattr(storing, "store_parsed", store)
    with pytest.raises(BadInput, match="on purpose"):
        load_store(settings)
    assert own_threads() <= running  # the rules' thread too
    assert settled(manifest_of(settings.store)) == before
    assert unsettled_of(settings.store) == sorted([str(ONTOLOGY_GRAPH), str(INFERRED_GRAPH)])


def test_a_broken_bundled_case_file_changes_nothing(
        tmp_path: Path, mini_settings: Settings) -> None:
    settings = _copy_mini(tmp_path, mini_settings)
    load_store(settings)
    before = manifest_of(settings.store)
    ontology = main_store_triples(settings.store, str(ONTOLOGY_GRAPH))
    _change_ontology(settings)  # a published graph that would be replaced
    extra = tmp_path / "extra.nt"  # a new graph, written early
    extra.write_text("<urn:x:s> <urn:x:p> <urn:x:o> .\n", encoding="utf-8")
    case = next((settings.data_dir / "cases").rglob("*.ttl"))
    case.write_text(case.read_text(encoding="utf-8") + "\n<urn:x:broken> .\n",
                    encoding="utf-8")
    with pytest.raises(BadInput, match="bundled case files refused"):
        load_store(settings, [extra])
    assert manifest_of(settings.store) == before
    assert main_store_triples(settings.store, str(ONTOLOGY_GRAPH)) == ontology
    assert main_store_triples(settings.store, FILE_GRAPH_BASE + "extra") == set()



def test_a_load_failing_after_a_published_graph_was_replaced_keeps_that_graph(
        tmp_path: Path, mini_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the new graphs started early are removed: a replaced graph keeps its triples (its
    new ones, unpublished until a load succeeds), never none."""
    settings = _copy_mini(tmp_path, mini_settings)
    load_store(settings)
    _change_ontology(settings)

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise BadInput("the cases failed (on purpose)")

    monkeypatch.setattr(load_module, "import_bundled", fail)
    with pytest.raises(BadInput, match="on purpose"):
        load_store(settings)
    assert any("example.org/AnyCase" in t
               for t in main_store_triples(settings.store, str(ONTOLOGY_GRAPH)))



def _fail_cases(*args: Any, **kwargs: Any) -> Any:
    raise BadInput("the cases failed (on purpose)")


def _stop_an_ontology_load(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> str:
    """Change the ontology file and run a load that fails after replacing its graph (while it
    publishes the bundled cases); the file's original text."""
    header = settings.ontology_dir / "coprod.ttl"
    original = header.read_text(encoding="utf-8")
    _change_ontology(settings)
    with monkeypatch.context() as patch:
        patch.setattr(load_module, "import_bundled", _fail_cases)
        with pytest.raises(BadInput, match="on purpose"):
            load_store(settings)
    return original


def test_a_failed_load_marks_what_it_replaced_and_the_next_load_rewrites_it(
        tmp_path: Path, mini_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """A load that fails after replacing a published graph leaves the new triples in the main
    store. Its file reverted, the digest is the manifest's again: the next load must rewrite the
    graph all the same, or the main store keeps triples no record describes (and a later
    rebuild of the public view would publish them)."""
    settings = _copy_mini(tmp_path, mini_settings)
    load_store(settings)
    before = manifest_of(settings.store)
    original = _stop_an_ontology_load(settings, monkeypatch)
    assert settled(manifest_of(settings.store)) == before  # nothing published, same generation
    assert unsettled_of(settings.store) == sorted([str(ONTOLOGY_GRAPH), str(INFERRED_GRAPH)])
    # the published digest again
    (settings.ontology_dir / "coprod.ttl").write_text(original, encoding="utf-8")
    report = load_store(settings)
    assert str(ONTOLOGY_GRAPH) in report.loaded
    assert report.inferred is not None
    assert not any("example.org/AnyCase" in t
                   for t in main_store_triples(settings.store, str(ONTOLOGY_GRAPH)))
    assert unsettled_of(settings.store) == []


def test_curation_waits_while_a_stopped_load_left_the_ontology_part_written(
        tmp_path: Path, mini_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The main store then holds the new, unpublished ontology, from which a case version's
    entailments (recovered or new) would be derived and published with the version: curation
    refuses to write or recover, the server's start-up included, until a load finishes."""
    settings = _copy_mini(tmp_path, mini_settings)
    load_store(settings)
    original = _stop_an_ontology_load(settings, monkeypatch)
    marked = manifest_of(settings.store)
    assert str(ONTOLOGY_GRAPH) in unsettled_of(settings.store)
    with pytest.raises(LoadUnfinished, match="coprod-kg load"):
        Curation.open(settings)  # repairs: opens the writer, which would recover
    service = Curation.open(settings, repair=False)
    try:
        with pytest.raises(LoadUnfinished):
            service.commit("INSERT DATA { GRAPH <urn:x:g> { <urn:x:s> <urn:x:p> <urn:x:o> } }",
                           "tester", "test", "urn:x:s")
        with TestClient(create_app(settings)) as client:  # starts, and serves the queries
            response = client.get("/sparql", params={"query": "ASK { ?s ?p ?o }"})
            assert response.status_code == 200
        assert manifest_of(settings.store) == marked
        (settings.ontology_dir / "coprod.ttl").write_text(original, encoding="utf-8")
        assert str(ONTOLOGY_GRAPH) in load_store(settings).loaded
        service.recover()  # the load finished: curation goes on
    finally:
        service.close()
    assert unsettled_of(settings.store) == []
    assert not _ask(settings, f"GRAPH <{CASE_GRAPH}/inferred> "
                              "{ ?case a <https://example.org/AnyCase> }")


def test_a_load_that_would_keep_a_part_written_extra_graph_is_refused(
        tmp_path: Path, mini_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """An extra file's graph stays when a load does not name the file; left part-written, it
    must not stay as it is (the rules would read its unpublished triples), so the load asks for
    the file."""
    settings = _copy_mini(tmp_path, mini_settings)
    extra = tmp_path / "extra.nt"
    extra.write_text("<urn:x:s> <urn:x:p> <urn:x:o> .\n", encoding="utf-8")
    graph = FILE_GRAPH_BASE + "extra"
    load_store(settings, [extra])
    extra.write_text("<urn:x:s> <urn:x:p> <urn:x:changed> .\n", encoding="utf-8")
    monkeypatch.setattr(load_module, "import_bundled", _fail_cases)
    with pytest.raises(BadInput, match="on purpose"):
        load_store(settings, [extra])
    monkeypatch.undo()
    marked = manifest_of(settings.store)
    assert unsettled_of(settings.store) == sorted([graph, str(INFERRED_GRAPH)])
    with pytest.raises(BadInput, match=f"left {graph} part-written: give its file again"):
        load_store(settings)
    assert manifest_of(settings.store) == marked
    report = load_store(settings, [extra])
    assert graph in report.loaded
    assert report.inferred is not None
    assert unsettled_of(settings.store) == []
    assert main_store_triples(settings.store, graph) == {"<urn:x:s> <urn:x:p> <urn:x:changed>"}


def test_a_load_after_the_view_lost_its_state_still_goes_through(
        tmp_path: Path, mini_settings: Settings) -> None:
    """The mark is written without syncing the public view (it publishes nothing new): a view
    that must copy every graph again (a restored backup has no state) would refuse to copy a
    marked one, and no load could ever clear the mark."""
    settings = _copy_mini(tmp_path, mini_settings)
    load_store(settings)
    (settings.store / public_view.VIEW_STATE).unlink(missing_ok=True)
    _change_ontology(settings)
    assert str(ONTOLOGY_GRAPH) in load_store(settings).loaded
    assert unsettled_of(settings.store) == []
    assert _ask(settings, "?c <http://www.w3.org/2000/01/rdf-schema#subClassOf> "
                          "<https://example.org/AnyCase>")


def test_a_store_with_a_part_written_graph_is_not_pushed_to_a_server(tmp_path: Path) -> None:
    """A server publishes what it holds: the marked graph's triples are not the published ones
    (refused before the server is touched)."""
    record = GraphRecord(str(ONTOLOGY_GRAPH), "ontology", "ab", 1, unsettled=True)
    write_manifest(tmp_path, Manifest({record.name: record}, "", "g1"))
    with pytest.raises(StoreNotReady, match="part-written"):
        push_embedded(tmp_path, cast(RemoteWriter, None))


def test_a_store_with_a_part_written_graph_is_not_backed_up(
        tmp_path: Path, mini_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """A backup holds the main store, where the marked graph's triples are not the published
    ones: a restore could not tell. A load first."""
    settings = _copy_mini(tmp_path, mini_settings)
    load_store(settings)
    _stop_an_ontology_load(settings, monkeypatch)
    with pytest.raises(BadInput, match="part-written"):
        backup(settings.store, tmp_path / "backup.tar.gz")
    assert not (tmp_path / "backup.tar.gz").exists()


def test_the_mark_joins_what_another_writer_wrote_meanwhile(
        tmp_path: Path, mini_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a remote server another process may write the manifest while a load parses (a
    curator's decision): the marks go onto the manifest as it is then, and the load goes on."""
    settings = _copy_mini(tmp_path, mini_settings)
    load_store(settings)
    _change_ontology(settings)
    real = load_module.read_bundled

    def read_bundled(*args: Any, **kwargs: Any) -> Any:
        if manifest_path(settings.store).exists():  # embedded: the load holds the store
            current = read_manifest(settings.store)
            assert current is not None
            write_manifest(settings.store, dataclasses.replace(current, generation="elsewhere"))
        else:  # a remote server takes a second writer
            current = manifest_of(settings.store)
            assert current is not None
            write_manifest_of(settings.store, dataclasses.replace(current, generation="elsewhere"))
        return real(*args, **kwargs)

    monkeypatch.setattr(load_module, "read_bundled", read_bundled)
    assert str(ONTOLOGY_GRAPH) in load_store(settings).loaded
    assert unsettled_of(settings.store) == []
