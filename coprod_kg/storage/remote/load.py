"""Load-time helpers for the remote back end: copies of whole stores.

(Entailments need nothing special: :func:`coprod_kg.reasoning.materialise.materialise` runs
its rules through any :class:`~coprod_kg.reasoning.entailment.GraphWriter`, and
:class:`RemoteWriter` is one.)
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from coprod_kg.storage.manifest import read_manifest
from coprod_kg.storage.remote.manifests import RemoteManifestStore
from coprod_kg.storage.remote.writer import RemoteWriter
from coprod_kg.storage.store import StoreNotReady


def push_embedded(store_dir: Path, writer: RemoteWriter) -> list[str]:
    """Copy every named graph of an embedded store and its manifest to the remote server
    (a migration from the embedded to the remote back end). Returns the graphs copied.

    Each graph is one Graph Store PUT; the manifest is written last, so the remote store only
    reads as loaded once every graph is there.
    """
    manifest = read_manifest(store_dir)
    if manifest is None:
        raise StoreNotReady(f"the store {store_dir} is not loaded; run `coprod-kg load`")
    marked = manifest.unsettled_graphs()
    if marked:  # a server publishes what it holds: these are not the published triples
        raise StoreNotReady(f"a load that stopped left {', '.join(marked)} part-written in "
                            f"{store_dir}; run `coprod-kg load` with its sources first")
    store = ox.Store.read_only(str(store_dir))
    names = sorted(g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode))
    for name in names:
        quads = store.quads_for_pattern(None, None, None, ox.NamedNode(name))
        writer.replace_graph(name, (q.triple for q in quads))
    RemoteManifestStore(writer).write(manifest)
    return names
