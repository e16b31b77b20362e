"""The public view: a second embedded store holding exactly the public graphs.

The store directory's main Oxigraph store holds everything: public graphs, and the private ones
(pending, rejected and superseded versions, curation records). Querying it with the default
graph given as the list of public graphs is correct but slow: the engine then evaluates every
pattern graph by graph (``bench/results/default-graph-list-vs-union-100k.txt``: 20 to 40 times
slower than its union default graph). So queries, dumps and dereferencing read a view, in the
``public/`` folder of the store directory, that holds only the public graphs; there the union
of all graphs *is* the public default graph.

Readers never open a store that a process writes (pyoxigraph documents that as undefined
behaviour, and it does fail: a reader finds files the writer compacted away). After each sync
the writer takes a snapshot of the view with ``Store.backup`` (hard links: cheap) into
``snapshots/{key}``, the key being a digest of the public graphs' records
(:func:`snapshot_key`); readers open the snapshot of the manifest's key read-only, and reopen
when it changes. A write that changes no public graph (a pending submission) needs no new
snapshot. Old snapshots are pruned once no reader can still need them.

All of this is derived data, like the manifest: :func:`sync_view` brings the view up to date
from the main store and the manifest's public flags (copying only the graphs whose record
changed) and takes the snapshot before the manifest is written, so a reader that sees a new
manifest finds its snapshot complete. A crash in between leaves a view the next sync repairs.
When much more would be copied than the main store holds privately (after a big load), the
view is made instead from the engine's backup of the main store (hard links to its files, so
no second copy of the data) without the graphs that are not public. Either way the view is
compacted before its snapshot is taken: every query reads the snapshot, and a change left as
a second run of files beside the first costs each lookup more than the compaction costs once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import pyoxigraph as ox

from coprod_kg.atomic import write_bytes
from coprod_kg.errors import CoprodError
from coprod_kg.storage.manifest import Manifest, read_manifest

VIEW_DIR = "public"
VIEW_STATE = "public-view.json"
SNAPSHOTS_DIR = "snapshots"
KEEP_SNAPSHOTS = 3  # the newest ones are always kept...
SNAPSHOT_GRACE_SECONDS = 600.0  # ...and older ones until no query can still be reading them
#: From this many triples to copy, the view is rebuilt from a backup of the main store when
#: that drops fewer triples than it would copy. Both ways end in one compaction of the view;
#: copying costs a dump and a load per graph. The bundled data's first view (48,250 public
#: quads in 273 graphs, 1,806 private): 1.28-1.32 s copied, 0.20-0.25 s rebuilt.
REBUILD_MIN_TRIPLES = 10_000


class SnapshotMissing(CoprodError):
    """The manifest names a generation whose public snapshot does not exist."""

    status = 503


class UnsettledGraphs(CoprodError):
    """A graph the view must copy was left part-written by a load that stopped."""

    status = 503


def view_path(store_dir: Path) -> Path:
    """Where the public view of ``store_dir`` lives."""
    return store_dir / VIEW_DIR


def _signatures(manifest: Manifest) -> dict[str, str]:
    return {name: f"{record.sha256}:{record.triples}"
            for name, record in manifest.graphs.items() if record.public}


def read_state(store_dir: Path) -> dict[str, str]:
    """The signature of every graph the view holds (empty if there is no view yet)."""
    try:
        raw = json.loads((store_dir / VIEW_STATE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return {str(k): str(v) for k, v in raw.items()}


def _write_state(store_dir: Path, state: dict[str, str]) -> None:
    text = json.dumps(state, indent=1, sort_keys=True)
    write_bytes(store_dir / VIEW_STATE, text.encode("utf-8"), mode=0o600)


def _copy(master: ox.Store, view: ox.Store, name: str) -> None:
    """Replace graph ``name`` of the view by the one of ``master`` (the main store, or a
    snapshot), engine to engine (no Python terms)."""
    graph = ox.NamedNode(name)
    if view.contains_named_graph(graph):
        view.remove_graph(graph)
    data = master.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=graph) or b""
    view.load(data, format=ox.RdfFormat.N_TRIPLES, to_graph=graph)


def _published_copies(store_dir: Path, manifest: Manifest, marked: set[str]) -> ox.Store:
    """The snapshot holding the published copies of the ``marked`` graphs, which a load that
    stopped left part-written in the main store: the current manifest's, if its records of
    them match ``manifest``'s (a view that lost its state after a crash still has it);
    :class:`UnsettledGraphs` if there is none."""
    current = read_manifest(store_dir)
    if current is not None and snapshot_path(store_dir, snapshot_key(current)).is_dir():
        now, then = _signatures(current), _signatures(manifest)
        if all(now.get(name) == then[name] for name in marked):
            return open_snapshot(store_dir, snapshot_key(current))
    raise UnsettledGraphs(f"the public view lacks {', '.join(sorted(marked))}, which a load "
                          "that stopped left part-written in the store, and no snapshot holds "
                          "their published triples: run `coprod-kg load` with their sources")


def _copied_triples(manifest: Manifest, copied: list[str]) -> int:
    return sum(manifest.graphs[name].triples for name in copied)


def _rebuild_is_cheaper(manifest: Manifest, copied: list[str]) -> bool:
    """Whether making the view from a backup of the main store (hard links) and dropping what
    is not public costs less than copying the changed graphs: after a big load, not after a
    submission. Never while a public graph is unsettled: the main store's copy of it is not
    the published one (:class:`~coprod_kg.storage.store.GraphRecord`)."""
    if any(record.unsettled for record in manifest.graphs.values() if record.public):
        return False
    to_copy = _copied_triples(manifest, copied)
    to_drop = sum(record.triples for record in manifest.graphs.values() if not record.public)
    return to_copy >= REBUILD_MIN_TRIPLES and to_copy > to_drop


def _rebuild(master: ox.Store, store_dir: Path, wanted: set[str]) -> None:
    """Replace the view by the engine's backup of ``master`` (hard links to its files, no second
    copy of the data) without the graphs that are not ``wanted``.

    The view's state goes first and the new view is complete before it replaces the old one, so
    a crash leaves either the old view with no state (the next sync copies every graph) or the
    new one.
    """
    (store_dir / VIEW_STATE).unlink(missing_ok=True)
    target = view_path(store_dir)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    master.flush()
    master.backup(str(partial))
    view = ox.Store(str(partial))
    try:
        for graph in list(view.named_graphs()):
            if not isinstance(graph, ox.NamedNode) or graph.value not in wanted:
                view.remove_graph(graph)
        if any(True for _ in view.quads_for_pattern(None, None, None, ox.DefaultGraph())):
            # Only when it holds something: clearing writes range deletions even in an empty
            # graph, which no compaction removes from an otherwise empty column and every
            # lookup of the union then passes through (bench/README.md, "The store's layout").
            view.clear_graph(ox.DefaultGraph())
        view.flush()
        view.optimize()  # every query of the snapshots reads it: see sync_view
    finally:
        del view  # releases the lock
    shutil.rmtree(target, ignore_errors=True)
    os.replace(partial, target)


def snapshot_key(manifest: Manifest) -> str:
    """The name of the snapshot holding the public graphs of ``manifest`` (a digest of them)."""
    text = json.dumps(_signatures(manifest), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def sync_view(master: ox.Store, store_dir: Path, manifest: Manifest) -> list[str]:
    """Make the view hold exactly the public graphs of ``manifest``; returns those it copied.

    ``master`` is the main store, open read-write in this process (the one writer). The view is
    flushed and a snapshot of it taken under :func:`snapshot_key` (unless one exists).
    """
    wanted = _signatures(manifest)
    held = read_state(store_dir)
    key = snapshot_key(manifest)
    snapshot = snapshot_path(store_dir, key)
    if wanted == held and view_path(store_dir).is_dir() and snapshot.is_dir():
        return []
    copied = [name for name in sorted(wanted) if held.get(name) != wanted[name]]
    marked = {name for name in copied if manifest.graphs[name].unsettled}
    published = _published_copies(store_dir, manifest, marked) if marked else None
    rebuilt = _rebuild_is_cheaper(manifest, copied)
    if rebuilt:
        _rebuild(master, store_dir, set(wanted))
    view = ox.Store(str(view_path(store_dir)))
    try:
        if not rebuilt:
            for name in sorted(held.keys() - wanted.keys()):
                graph = ox.NamedNode(name)
                if view.contains_named_graph(graph):
                    view.remove_graph(graph)
            for name in copied:  # a marked graph from its published copy, not the main store
                _copy(published if published is not None and name in marked else master,
                      view, name)
            view.flush()
            # Compacted after every change, however small: one case version (69 quads) added
            # to the 100k view cost the bench's heavy queries 23 % more CPU until compacted
            # (0.33 s there, 2 s at 1.4M quads; bench/README.md, "The store's layout").
            view.optimize()
        _write_state(store_dir, wanted)
        if not snapshot.is_dir():
            snapshot.parent.mkdir(parents=True, exist_ok=True)
            partial = snapshot.with_name(snapshot.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            view.backup(str(partial))
            os.replace(partial, snapshot)  # a snapshot directory is complete or absent
    finally:
        del view  # releases the view's lock
    prune_snapshots(store_dir, keep=key)
    return copied


def snapshot_path(store_dir: Path, key: str) -> Path:
    """The read-only snapshot of the public view with key ``key``."""
    if not key or "/" in key or key.startswith("."):
        raise CoprodError(f"invalid snapshot key {key!r}")
    return store_dir / SNAPSHOTS_DIR / key


def prune_snapshots(store_dir: Path, keep: str) -> None:
    """Delete snapshots no reader can still use: beyond the newest few, and old enough."""
    folder = store_dir / SNAPSHOTS_DIR
    if not folder.is_dir():
        return
    snapshots = sorted((p for p in folder.iterdir() if p.is_dir()),
                       key=lambda p: p.stat().st_mtime, reverse=True)
    now = time.time()
    for path in snapshots[KEEP_SNAPSHOTS:]:
        if path.name != keep and now - path.stat().st_mtime > SNAPSHOT_GRACE_SECONDS:
            shutil.rmtree(path, ignore_errors=True)


def open_snapshot(store_dir: Path, key: str) -> ox.Store:
    """The public snapshot with key ``key``, read-only (no process ever writes it)."""
    path = snapshot_path(store_dir, key)
    if not path.is_dir():
        raise SnapshotMissing(f"the store {store_dir} has no public snapshot for its current "
                              "state; run `coprod-kg load`")
    return ox.Store.read_only(str(path))
