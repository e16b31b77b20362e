"""Loading by the engine: the rules as SPARQL updates, bulk-loaded graphs, the public view made
from a backup, the server's read side started early, and the command line importing one verb."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from backends import (
    main_store_triples,
    manifest_of,
    own_threads,
    settled,
    store_of,
    unsettled_of,
)
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, RDFS

import coprod_kg.loading.load as loading
import coprod_kg.loading.storing as storing
import coprod_kg.runtime as runtime
from coprod_kg.cli import build_parser
from coprod_kg.config import Settings, load_settings
from coprod_kg.errors import CoprodError, ParseError
from coprod_kg.loading import FILE_GRAPH_BASE, load_store
from coprod_kg.loading.sources import Parsed
from coprod_kg.rdf.namespaces import INFERRED_GRAPH, ONTOLOGY_GRAPH
from coprod_kg.rdf.terms import triple_to_oxigraph
from coprod_kg.reasoning.entailment import Schema, entail
from coprod_kg.reasoning.materialise import materialise, materialise_each
from coprod_kg.storage.embedded import public_view, writer
from coprod_kg.storage.embedded.public_view import open_snapshot, read_state, snapshot_key
from coprod_kg.storage.embedded.writer import OxigraphWriter
from coprod_kg.storage.manifest import Manifest
from coprod_kg.storage.store import GraphRecord, prepare

EX = Namespace("http://example.org/")
ROOT = Path(__file__).resolve().parents[1]

# --- the rules ---------------------------------------------------------------------------------

ONTOLOGY = """
@prefix ex: <http://example.org/> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Cat rdfs:subClassOf ex:Mammal . ex:Mammal rdfs:subClassOf ex:Animal .
ex:Carer rdfs:subClassOf ex:Person .
ex:feeds rdfs:subPropertyOf ex:caresFor . ex:caresFor rdfs:domain ex:Carer ;
    rdfs:range ex:Animal ; owl:inverseOf ex:caredForBy .
ex:knows a owl:SymmetricProperty . ex:ancestor a owl:TransitiveProperty .
ex:BusyCarer owl:equivalentClass [ owl:intersectionOf ( ex:Person
    [ owl:onProperty ex:caresFor ; owl:someValuesFrom ex:Mammal ] ) ] .
ex:BusyCarer rdfs:subClassOf ex:Volunteer .
"""
DATA = """
@prefix ex: <http://example.org/> .
ex:ann ex:feeds ex:tom . ex:tom a ex:Cat . ex:ann ex:knows ex:bob .
ex:a ex:ancestor ex:b . ex:b ex:ancestor ex:c . ex:c ex:ancestor ex:d .
_:stray ex:feeds ex:rex . ex:rex a ex:Cat .
"""


def _schema() -> tuple[Graph, Schema]:
    ontology = Graph().parse(data=ONTOLOGY, format="turtle")
    return ontology, Schema.of(ontology)


def _reference(triples: set[tuple[Any, Any, Any]], schema: Schema) -> set[tuple[Any, Any, Any]]:
    """A naive fixed point of the same rules over rdflib terms (every rule, every round)."""
    known = set(triples)
    known |= {(c, RDFS.subClassOf, p) for c, ps in schema.superclasses.items() for p in ps}
    known |= {(c, RDFS.subPropertyOf, p) for c, ps in schema.superproperties.items() for p in ps}
    while True:
        new: set[tuple[Any, Any, Any]] = set()
        for s, p, o in known:
            if p == RDF.type:
                new |= {(s, RDF.type, c) for c in schema.superclasses.get(o, ())}
            new |= {(s, q, o) for q in schema.superproperties.get(p, ())}
            if not isinstance(o, Literal):
                new |= {(o, q, s) for q in schema.inverses.get(p, ())}
                new |= {(o, RDF.type, c) for c in schema.ranges.get(p, ())}
                if p in schema.symmetric:
                    new.add((o, p, s))
            new |= {(s, RDF.type, c) for c in schema.domains.get(p, ())}
        for p in schema.transitive:
            pairs = {(s, o) for s, q, o in known if q == p}
            new |= {(s, p, o2) for (s, o), (o1, o2) in itertools.product(pairs, pairs) if o == o1}
        people = {s for s, p, o in known if p == RDF.type and o == EX.Person}
        mammals = {s for s, p, o in known if p == RDF.type and o == EX.Mammal}
        new |= {(s, RDF.type, EX.BusyCarer) for s, p, o in known
                if p == EX.caresFor and s in people and o in mammals and isinstance(s, URIRef)}
        if new <= known:
            return known
        known |= new


def test_the_engine_rules_reach_the_same_fixed_point_as_a_naive_one() -> None:
    # The chain feeds -> caresFor -> domain Carer -> Person -> BusyCarer -> Volunteer takes
    # several rounds: the later rounds only look at what the round before derived.
    ontology, schema = _schema()
    data = Graph().parse(data=DATA, format="turtle")
    inputs = {*ontology, *data}
    triples = [triple_to_oxigraph(s, p, o) for s, p, o in inputs]
    derived = entail(triples, schema)
    expected = {triple_to_oxigraph(s, p, o) for s, p, o in _reference(inputs, schema) - inputs}
    assert derived == expected
    assert triple_to_oxigraph(EX.ann, RDF.type, EX.Volunteer) in derived
    assert triple_to_oxigraph(EX.a, EX.ancestor, EX.d) in derived
    assert not any(t in derived for t in triples)  # asserted triples are not repeated


def _quads(triples: Iterable[ox.Triple], graph: str) -> list[ox.Quad]:
    node = ox.NamedNode(graph)
    return [ox.Quad(t.subject, t.predicate, t.object, node) for t in triples]


@pytest.mark.parametrize("bulk", [False, True], ids=["transaction", "bulk loader"])
def test_entailments_about_blank_nodes_name_the_stored_nodes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bulk: bool) -> None:
    if bulk:
        monkeypatch.setattr(writer, "BULK_BYTES", 0)
        monkeypatch.setattr(writer, "BULK_TRIPLES", 0)
    ontology, _ = _schema()
    store = OxigraphWriter(tmp_path / "store")
    store.store.extend(_quads((triple_to_oxigraph(*t) for t in ontology), "urn:g:ontology"))
    data = Graph().parse(data=DATA, format="turtle")
    store.store.extend(_quads((triple_to_oxigraph(*t) for t in data), "urn:g:data"))
    count = materialise(store, "urn:g:ontology", ["urn:g:data"], "urn:g:inferred")
    assert count == store.count_graph("urn:g:inferred") > 0
    # The stray blank node of the data is a Carer in the inferred graph: the same node.
    assert store.store.query("""ASK { GRAPH <urn:g:data> { ?b <http://example.org/feeds> ?x }
        GRAPH <urn:g:inferred> { ?b a <http://example.org/Carer> } FILTER isBlank(?b) }""")
    assert store.store.query("ASK { GRAPH <urn:g:inferred> { <http://example.org/tom> "
                             "<http://example.org/caredForBy> <http://example.org/ann> } }")
    store.close()


SOURCES = {
    "urn:g:v1": DATA,
    # asserts one of the ontology's own entailments, which its target must then not repeat
    "urn:g:v2": "@prefix ex: <http://example.org/> . "
                "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . "
                "ex:Cat rdfs:subClassOf ex:Animal . ex:kit a ex:Cat . ex:kit ex:knows ex:tom .",
    "urn:g:v3": "@prefix ex: <http://example.org/> . ex:zoe ex:caresFor ex:kit .",
}


def test_entailments_of_many_sources_at_once_equal_one_by_one() -> None:
    ontology, _ = _schema()
    store = OxigraphWriter.over(ox.Store())
    store.store.extend(_quads((triple_to_oxigraph(*t) for t in ontology), "urn:g:ontology"))
    for name, text in SOURCES.items():
        data = Graph().parse(data=text, format="turtle")
        store.store.extend(_quads((triple_to_oxigraph(*t) for t in data), name))
    one_by_one = [materialise(store, "urn:g:ontology", [name], name + "/one")
                  for name in SOURCES]
    at_once = materialise_each(store, "urn:g:ontology",
                               [(name, name + "/each") for name in SOURCES])
    assert at_once == one_by_one
    for name in SOURCES:
        assert set(store.graph_triples(name + "/each")) == set(store.graph_triples(name + "/one"))
    subclass = triple_to_oxigraph(EX.Cat, RDFS.subClassOf, EX.Animal)
    assert subclass in store.graph_triples("urn:g:v1/each")
    assert subclass not in store.graph_triples("urn:g:v2/each")  # asserted there


# --- the loader --------------------------------------------------------------------------------

NT = "".join(f"<urn:x:s{i}> <urn:x:p> \"value {i}\" .\n<urn:x:s{i}> <urn:x:q> <urn:x:o{i % 7}> .\n"
             for i in range(300))


def _graph_values(settings: Settings, graph: str) -> set[tuple[str, str, str]]:
    store = store_of(settings.store)
    try:
        body = store.query(prepare(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}",
                                   "text/csv")).body
    finally:
        store.close()
    rows = body.decode("utf-8").strip().splitlines()[1:]
    return {(s, p, o) for s, p, o in (row.split(",", 2) for row in rows)}


@pytest.mark.parametrize("bulk", [False, True], ids=["transaction", "bulk loader"])
def test_a_plain_ntriples_file_loads_like_its_turtle(
        mini_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        bulk: bool) -> None:
    if bulk:
        monkeypatch.setattr(writer, "BULK_BYTES", 0)
    plain = tmp_path / "plain.nt"
    plain.write_text(NT, encoding="utf-8")
    turtle = tmp_path / "turtle.ttl"
    turtle.write_text(NT, encoding="utf-8")
    load_store(mini_settings, [plain])
    load_store(mini_settings, [turtle])
    manifest = manifest_of(mini_settings.store)
    assert manifest is not None
    records = manifest.graphs
    assert records[FILE_GRAPH_BASE + "plain"].triples == 600
    assert records[FILE_GRAPH_BASE + "turtle"].triples == 600
    values = _graph_values(mini_settings, FILE_GRAPH_BASE + "plain")
    assert len(values) == 600
    assert values == _graph_values(mini_settings, FILE_GRAPH_BASE + "turtle")


def test_a_broken_ntriples_file_changes_nothing(mini_settings: Settings, tmp_path: Path) -> None:
    load_store(mini_settings)
    before = manifest_of(mini_settings.store)
    broken = tmp_path / "broken.nt"
    broken.write_text(NT + "<urn:x:a> <urn:x:p> .\n", encoding="utf-8")  # the error is last
    with pytest.raises(ParseError, match=r"broken\.nt"):
        load_store(mini_settings, [broken])
    assert manifest_of(mini_settings.store) == before
    with pytest.raises(CoprodError):  # no such public graph: nothing of it was published
        _graph_values(mini_settings, FILE_GRAPH_BASE + "broken")



def test_a_new_graph_written_during_the_parse_is_removed_when_a_parse_fails(
        mini_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_store(mini_settings)
    written = threading.Event()
    real_store = storing.store_parsed

    def store(held: Any, item: Parsed) -> int:
        count = real_store(held, item)
        written.set()
        return count

    def parse_into(item: Parsed, scratch: ox.Store) -> None:
        assert written.wait(30)  # the new graph is in the store: then the parse fails
        raise ParseError("refused on purpose", source=str(item.source.paths[0]))

    monkeypatch.setattr(storing, "store_parsed", store)
    monkeypatch.setattr(loading, "parse_into", parse_into)
    new = tmp_path / "new.nt"
    new.write_text(NT, encoding="utf-8")
    with pytest.raises(ParseError, match="refused on purpose"):
        load_store(mini_settings, [new])
    assert main_store_triples(mini_settings.store, FILE_GRAPH_BASE + "new") == set()


def test_a_changed_graph_keeps_its_triples_until_every_source_parsed(
        mini_settings: Settings, tmp_path: Path) -> None:
    extra = tmp_path / "extra.nt"
    extra.write_text(NT, encoding="utf-8")
    load_store(mini_settings, [extra])
    before = main_store_triples(mini_settings.store, FILE_GRAPH_BASE + "extra")
    assert len(before) == 600
    extra.write_text("<urn:x:new> <urn:x:p> <urn:x:o> .\n", encoding="utf-8")
    broken = tmp_path / "broken.nt"
    broken.write_text(NT + "<urn:x:a> <urn:x:p> .\n", encoding="utf-8")
    with pytest.raises(ParseError, match=r"broken\.nt"):
        load_store(mini_settings, [extra, broken])
    assert main_store_triples(mini_settings.store, FILE_GRAPH_BASE + "extra") == before


def test_the_sources_are_stored_in_a_thread_of_their_own_while_the_cases_are_published(
        mini_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    threads: dict[str, str] = {}
    real_store, real_import = storing.store_parsed, loading.import_bundled

    def store(writer: Any, parsed: Parsed) -> int:
        threads[parsed.source.graph] = threading.current_thread().name
        return real_store(writer, parsed)

    def import_bundled(*args: Any, **kwargs: Any) -> Any:
        threads["cases"] = threading.current_thread().name
        return real_import(*args, **kwargs)

    monkeypatch.setattr(storing, "store_parsed", store)
    monkeypatch.setattr(loading, "import_bundled", import_bundled)
    extra = tmp_path / "extra.nt"
    extra.write_text(NT, encoding="utf-8")
    report = load_store(mini_settings, [extra])
    assert threads["cases"] == threading.current_thread().name
    assert threads[FILE_GRAPH_BASE + "extra"].startswith("storing")
    assert report.loaded[:2] == [str(ONTOLOGY_GRAPH), FILE_GRAPH_BASE + "extra"]
    assert len(_graph_values(mini_settings, FILE_GRAPH_BASE + "extra")) == 600


@pytest.mark.parametrize("failing", ["storing", "cases"])
def test_a_failure_on_either_side_of_the_load_publishes_nothing_and_leaves_no_thread(
        mini_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        failing: str) -> None:
    load_store(mini_settings)
    before = manifest_of(mini_settings.store)
    running = own_threads()

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise CoprodError(f"{failing} failed on purpose")

    monkeypatch.setattr(storing if failing == "storing" else loading,
                        "store_parsed" if failing == "storing" else "import_bundled", fail)
    extra = tmp_path / "extra.nt"
    extra.write_text(NT, encoding="utf-8")
    with pytest.raises(CoprodError, match=f"{failing} failed on purpose"):
        load_store(mini_settings, [extra])
    assert settled(manifest_of(mini_settings.store)) == before
    assert unsettled_of(mini_settings.store) == [str(INFERRED_GRAPH)]  # extra.nt is new
    assert own_threads() <= running


def test_a_write_that_failed_during_the_parse_stops_the_load_before_the_cases(
        mini_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_store(mini_settings)
    before = manifest_of(mini_settings.store)
    failed = threading.Event()
    cases: list[str] = []
    real_parse = loading.parse_into

    def store(held: Any, item: Parsed) -> int:
        try:
            raise CoprodError("the disk is full (on purpose)")
        finally:
            failed.set()

    def parse_into(item: Parsed, scratch: ox.Store) -> None:
        assert failed.wait(30)
        real_parse(item, scratch)

    monkeypatch.setattr(storing, "store_parsed", store)
    monkeypatch.setattr(loading, "parse_into", parse_into)
    monkeypatch.setattr(loading, "import_bundled", lambda *a, **k: cases.append("imported"))
    new = tmp_path / "new.nt"
    new.write_text(NT, encoding="utf-8")
    with pytest.raises(CoprodError, match="disk is full"):
        load_store(mini_settings, [new])
    assert cases == []
    assert settled(manifest_of(mini_settings.store)) == before
    assert unsettled_of(mini_settings.store) == [str(INFERRED_GRAPH)]  # new.nt is new


def test_after_a_failed_parse_the_writes_not_started_never_start(
        mini_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_store(mini_settings)
    release = threading.Event()
    written: list[str] = []
    real_store = storing.store_parsed

    def store(held: Any, item: Parsed) -> int:
        assert release.wait(30)  # the first write holds the thread until the parse failed
        written.append(item.source.graph)
        return real_store(held, item)

    def parse_into(item: Parsed, scratch: ox.Store) -> None:
        if item.source.paths[0].name == "third.nt":
            release.set()
            raise ParseError("refused on purpose", source=str(item.source.paths[0]))

    monkeypatch.setattr(storing, "store_parsed", store)
    monkeypatch.setattr(loading, "parse_into", parse_into)
    files = [tmp_path / f"{name}.nt" for name in ("first", "second", "third")]
    for path in files:
        path.write_text(NT, encoding="utf-8")
    with pytest.raises(ParseError, match="on purpose"):
        load_store(mini_settings, files)
    assert written == [FILE_GRAPH_BASE + "first"]  # the second was cancelled
    for path in files:
        assert main_store_triples(mini_settings.store, FILE_GRAPH_BASE + path.stem) == set()


# --- the public view ---------------------------------------------------------------------------

def _fill(store: ox.Store, name: str, count: int, blank: bool = False) -> None:
    subject: ox.NamedNode | ox.BlankNode = ox.BlankNode("b1") if blank else ox.NamedNode(
        "urn:x:s")
    store.extend([ox.Quad(subject, ox.NamedNode("urn:x:p"), ox.Literal(f"{name} {i}"),
                          ox.NamedNode(name)) for i in range(count)])


def _manifest(generation: str, **graphs: tuple[int, bool, str]) -> Manifest:
    return Manifest({f"urn:g:{n}": GraphRecord(f"urn:g:{n}", n, sha, count, public=public)
                     for n, (count, public, sha) in graphs.items()}, "", generation)


def _values(store: ox.Store) -> set[str]:
    result = store.query("SELECT ?o WHERE { ?s ?p ?o }", use_default_graph_as_union=True)
    assert isinstance(result, ox.QuerySolutions)
    return {row["o"].value for row in result}


def test_a_big_change_makes_the_view_from_a_backup(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(public_view, "REBUILD_MIN_TRIPLES", 10)
    master = ox.Store(str(tmp_path / "main"))
    _fill(master, "urn:g:big", 50, blank=True)
    _fill(master, "urn:g:private", 2)
    _fill(master, "urn:g:other", 3)
    master.add(ox.Quad(ox.NamedNode("urn:x:d"), ox.NamedNode("urn:x:p"), ox.Literal("default")))
    master.flush()
    first = _manifest("g1", big=(50, True, "1"), private=(2, False, "1"), other=(3, True, "1"))
    copied = public_view.sync_view(master, tmp_path, first)
    assert copied == ["urn:g:big", "urn:g:other"]
    snapshot = open_snapshot(tmp_path, snapshot_key(first))
    assert _values(snapshot) == {f"urn:g:big {i}" for i in range(50)} | {
        f"urn:g:other {i}" for i in range(3)}
    assert {g.value for g in snapshot.named_graphs()} == {"urn:g:big", "urn:g:other"}
    assert set(read_state(tmp_path)) == {"urn:g:big", "urn:g:other"}
    # The view shares the main store's files (hard links), not a second copy of the data.
    assert any(p.stat().st_nlink > 1 for p in public_view.view_path(tmp_path).glob("*.sst"))
    del snapshot
    # A small change afterwards goes graph by graph into the view made from the backup.
    second = _manifest("g2", big=(50, True, "1"), private=(2, True, "1"), other=(3, False, "1"))
    assert public_view.sync_view(master, tmp_path, second) == ["urn:g:private"]
    assert _values(open_snapshot(tmp_path, snapshot_key(second))) == {
        f"urn:g:big {i}" for i in range(50)} | {"urn:g:private 0", "urn:g:private 1"}


class _FailingBackup:
    """The main store, except that its backup fails (a crash while the view is rebuilt)."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def backup(self, target: str) -> None:
        raise OSError("disk full")


def test_a_failed_rebuild_leaves_a_view_the_next_sync_repairs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    master = ox.Store(str(tmp_path / "main"))
    _fill(master, "urn:g:a", 3)
    first = _manifest("g1", a=(3, True, "1"))
    public_view.sync_view(master, tmp_path, first)  # small: copied graph by graph
    _fill(master, "urn:g:big", 40)
    second = _manifest("g2", a=(3, True, "1"), big=(40, True, "1"))
    monkeypatch.setattr(public_view, "REBUILD_MIN_TRIPLES", 10)
    with pytest.raises(OSError, match="disk full"):
        public_view.sync_view(_FailingBackup(master), tmp_path, second)  # type: ignore[arg-type]
    assert read_state(tmp_path) == {}  # the view is not trusted any more...
    monkeypatch.setattr(public_view, "REBUILD_MIN_TRIPLES", 10**9)
    public_view.sync_view(master, tmp_path, second)  # ...so every graph is copied again
    assert _values(open_snapshot(tmp_path, snapshot_key(second))) == {
        f"urn:g:a {i}" for i in range(3)} | {f"urn:g:big {i}" for i in range(40)}


# --- restart -----------------------------------------------------------------------------------

class _FakeStore:
    closed = False

    def close(self) -> None:
        self.closed = True


class _FakeBackend:
    def __init__(self, made: list[_FakeStore]) -> None:
        self.made = made

    def store(self) -> _FakeStore:
        store = _FakeStore()
        self.made.append(store)
        return store


def test_the_read_side_started_early_is_taken_once_for_the_same_settings(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    made: list[_FakeStore] = []
    monkeypatch.setattr(runtime, "open_backend", lambda settings: _FakeBackend(made))
    monkeypatch.setattr(runtime, "_starting", None)
    settings = load_settings({"COPROD_STORE": str(tmp_path)})
    assert runtime.take_prestarted_store(settings) is None  # nothing started
    runtime.prestart_store(settings)
    runtime.prestart_store(settings)  # once
    taken = runtime.take_prestarted_store(settings)
    assert taken is made[0] and len(made) == 1
    assert runtime.take_prestarted_store(settings) is None  # taken: the caller owns it
    runtime.prestart_store(settings)
    other = settings.with_overrides(store=tmp_path / "other")
    assert runtime.take_prestarted_store(other) is None  # not for these settings...
    assert made[1].closed  # ...so closed, not leaked


def test_one_verb_imports_its_own_module_only() -> None:
    assert set(build_parser("serve")._subparsers._group_actions[0].choices) == {  # type: ignore[union-attr]
        "serve"}
    code = ("import sys; from coprod_kg.cli import main\n"
            "try:\n    main(['serve', '--help'])\nexcept SystemExit:\n    pass\n"
            "print('coprod_kg.loading' in sys.modules, 'coprod_kg.cli.load' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(ROOT), "PATH": ""}).stdout
    assert out.strip().splitlines()[-1] == "False False"
