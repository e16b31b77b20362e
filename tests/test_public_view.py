"""The public view holds exactly the public graphs; readers get immutable snapshots of it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import pyoxigraph as ox
import pytest

from coprod_kg.errors import CoprodError
from coprod_kg.storage.embedded import public_view
from coprod_kg.storage.embedded.public_view import (
    SnapshotMissing,
    open_snapshot,
    read_state,
    snapshot_key,
    snapshot_path,
    sync_view,
)
from coprod_kg.storage.manifest import Manifest, write_manifest
from coprod_kg.storage.store import GraphRecord

EX = "http://example.org/"


def _graph(store: ox.Store, name: str, *values: str) -> None:
    if store.contains_named_graph(ox.NamedNode(name)):
        store.remove_graph(ox.NamedNode(name))
    store.extend([ox.Quad(ox.NamedNode(EX + "s"), ox.NamedNode(EX + "p"), ox.Literal(v),
                          ox.NamedNode(name)) for v in values])


def _manifest(generation: str, **graphs: tuple[str, bool]) -> Manifest:
    return Manifest({EX + n: GraphRecord(EX + n, n, sha, 1, public=public)
                     for n, (sha, public) in graphs.items()}, "", generation)


def _values(store: ox.Store) -> set[str]:
    result = store.query("SELECT ?o WHERE { ?s ?p ?o }", use_default_graph_as_union=True)
    assert isinstance(result, ox.QuerySolutions)
    return {row["o"].value for row in result}


def test_only_public_graphs_reach_the_snapshot(tmp_path: Path) -> None:
    master = ox.Store(str(tmp_path / "main"))
    _graph(master, EX + "a", "public one")
    _graph(master, EX + "b", "private one")
    first = _manifest("g1", a=("1", True), b=("1", False))
    assert sync_view(master, tmp_path, first) == [EX + "a"]
    assert _values(open_snapshot(tmp_path, snapshot_key(first))) == {"public one"}
    # b is published, a withdrawn: a new snapshot; the old one is unchanged.
    _graph(master, EX + "b", "now public")
    second = _manifest("g2", a=("1", False), b=("2", True))
    assert sync_view(master, tmp_path, second) == [EX + "b"]
    assert _values(open_snapshot(tmp_path, snapshot_key(second))) == {"now public"}
    assert _values(open_snapshot(tmp_path, snapshot_key(first))) == {"public one"}
    assert set(read_state(tmp_path)) == {EX + "b"}


def test_a_private_change_reuses_the_snapshot(tmp_path: Path) -> None:
    master = ox.Store(str(tmp_path / "main"))
    _graph(master, EX + "a", "x")
    _graph(master, EX + "pending", "y")
    before = _manifest("g1", a=("1", True))
    sync_view(master, tmp_path, before)
    after = _manifest("g2", a=("1", True), pending=("1", False))  # a pending submission
    assert snapshot_key(after) == snapshot_key(before)
    assert sync_view(master, tmp_path, after) == []


def test_nothing_changes_and_nothing_is_copied_twice(tmp_path: Path) -> None:
    master = ox.Store(str(tmp_path / "main"))
    _graph(master, EX + "a", "x")
    manifest = _manifest("g1", a=("1", True))
    sync_view(master, tmp_path, manifest)
    assert sync_view(master, tmp_path, manifest) == []


def test_a_missing_snapshot_and_a_bad_generation_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SnapshotMissing, match="coprod-kg load"):
        open_snapshot(tmp_path, "nope")
    with pytest.raises(CoprodError, match="invalid snapshot key"):
        snapshot_path(tmp_path, "../escape")


class _Recording:
    """A store of the view as the sync opens it, recording the graphs it clears and its
    compactions."""

    cleared: ClassVar[list[object]] = []
    compacted: ClassVar[list[str]] = []

    def __init__(self, path: str) -> None:
        self._store = ox.Store(path)
        self._path = path

    def clear_graph(self, graph: object) -> None:
        _Recording.cleared.append(graph)
        self._store.clear_graph(graph)  # type: ignore[arg-type]

    def optimize(self) -> None:
        _Recording.compacted.append(self._path)
        self._store.optimize()

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)


@pytest.mark.parametrize("stated", [False, True])
def test_a_rebuilt_view_clears_its_default_graph_only_when_it_holds_triples(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stated: bool) -> None:
    """Clearing an empty default graph writes range deletions that no compaction removes
    from its otherwise empty columns, and every lookup of the union default graph then passes
    through them: 24 % more CPU on the bench's heavy queries (bench/README.md)."""
    master = ox.Store(str(tmp_path / "main"))
    _graph(master, EX + "a", "public one")
    if stated:
        master.add(ox.Quad(ox.NamedNode(EX + "s"), ox.NamedNode(EX + "p"), ox.Literal("x")))
    recording = SimpleNamespace(**{**vars(ox), "Store": _Recording})
    monkeypatch.setattr(public_view, "ox", recording)
    monkeypatch.setattr(_Recording, "cleared", [])
    public_view._rebuild(master, tmp_path, {EX + "a"})
    cleared = _Recording.cleared
    monkeypatch.undo()
    assert cleared == ([ox.DefaultGraph()] if stated else [])
    view = ox.Store.read_only(str(public_view.view_path(tmp_path)))
    assert list(view.quads_for_pattern(None, None, None, ox.DefaultGraph())) == []
    assert _values(view) == {"public one"}


def test_every_change_of_the_view_is_compacted(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A small copy left as a second run of files cost every union lookup 23 % more CPU."""
    master = ox.Store(str(tmp_path / "main"))
    _graph(master, EX + "a", "public one")
    _graph(master, EX + "b", "private one")
    sync_view(master, tmp_path, _manifest("g1", a=("1", True), b=("1", False)))
    monkeypatch.setattr(public_view, "ox", SimpleNamespace(**{**vars(ox), "Store": _Recording}))
    monkeypatch.setattr(_Recording, "compacted", [])
    compacted = _Recording.compacted
    sync_view(master, tmp_path, _manifest("g2", a=("1", True), b=("1", True)))  # b published
    assert compacted == [str(public_view.view_path(tmp_path))]
    sync_view(master, tmp_path, _manifest("g3", a=("1", False), b=("1", True)))  # a withdrawn
    assert len(compacted) == 2
    sync_view(master, tmp_path, _manifest("g3", a=("1", False), b=("1", True)))  # no change
    assert len(compacted) == 2


def test_the_view_is_not_rebuilt_from_the_main_store_while_a_public_graph_is_unsettled(
        tmp_path: Path) -> None:
    """A load that failed left graph a's new triples in the main store, unpublished (its record
    is marked unsettled). A big change elsewhere would make rebuilding the view from a backup of
    the main store the cheaper way, and publish them: the changed graphs are copied instead."""
    master = ox.Store(str(tmp_path / "main"))
    _graph(master, EX + "a", "published")
    _graph(master, EX + "b", "b one")
    sync_view(master, tmp_path, _manifest("g1", a=("1", True), b=("1", True)))
    _graph(master, EX + "a", "left by a failed load")
    _graph(master, EX + "b", "b two")
    big = GraphRecord(EX + "b", "b", "2", public_view.REBUILD_MIN_TRIPLES)
    settled = Manifest({EX + "a": GraphRecord(EX + "a", "a", "1", 1), EX + "b": big}, "", "g2")
    assert public_view._rebuild_is_cheaper(settled, [EX + "b"])  # but for the mark
    marked = Manifest({**settled.graphs, EX + "a": GraphRecord(EX + "a", "a", "1", 1,
                                                                unsettled=True)}, "", "g2")
    assert sync_view(master, tmp_path, marked) == [EX + "b"]
    assert _values(open_snapshot(tmp_path, snapshot_key(marked))) == {"published", "b two"}


def test_a_graph_left_part_written_is_never_copied_into_the_view(tmp_path: Path) -> None:
    """A view without the state of a marked graph (a restored backup has none) cannot get its
    published triples from the main store: the sync refuses, and changes nothing."""
    master = ox.Store(str(tmp_path / "main"))
    _graph(master, EX + "a", "left by a stopped load")
    marked = Manifest({EX + "a": GraphRecord(EX + "a", "a", "1", 1, unsettled=True)}, "", "g1")
    with pytest.raises(public_view.UnsettledGraphs, match="part-written"):
        sync_view(master, tmp_path, marked)
    assert read_state(tmp_path) == {}
    assert not snapshot_path(tmp_path, snapshot_key(marked)).exists()


def test_a_view_that_lost_its_state_copies_a_marked_graph_from_its_published_snapshot(
        tmp_path: Path) -> None:
    """A crash while the view was being remade leaves no view state; the manifest on disk
    still names the published snapshot, which holds the marked graph's published triples (the
    main store holds what the stopped load wrote)."""
    master = ox.Store(str(tmp_path / "main"))
    _graph(master, EX + "a", "published")
    _graph(master, EX + "b", "b one")
    published = _manifest("g1", a=("1", True), b=("1", True))
    sync_view(master, tmp_path, published)
    write_manifest(tmp_path, Manifest({n: dataclasses.replace(r, unsettled=n == EX + "a")
                                       for n, r in published.graphs.items()}, "", "g1"))
    _graph(master, EX + "a", "left by a stopped load")
    _graph(master, EX + "b", "b two")
    (tmp_path / public_view.VIEW_STATE).unlink()
    changed = Manifest({EX + "a": GraphRecord(EX + "a", "a", "1", 1, unsettled=True),
                        EX + "b": GraphRecord(EX + "b", "b", "2", 1)}, "", "g2")
    assert sync_view(master, tmp_path, changed) == [EX + "a", EX + "b"]
    assert _values(open_snapshot(tmp_path, snapshot_key(changed))) == {"published", "b two"}
