"""Load-time helpers for the remote back end: entailments and copies of whole stores.

The entailment rules (:func:`coprod_kg.entailment.materialise`) run inside a pyoxigraph engine.
With a remote server they run in a temporary in-memory pyoxigraph store holding the ontology and
the public graphs (read over the Graph Store Protocol); the result replaces the server's
``graph/inferred`` in one Graph Store PUT.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyoxigraph as ox

from coprod_kg.entailment import materialise
from coprod_kg.manifest import read_manifest
from coprod_kg.manifest_store import RemoteManifestStore
from coprod_kg.remote_writer import RemoteWriter
from coprod_kg.store import StoreNotReady


def materialise_remote(writer: RemoteWriter, ontology_graph: str, sources: Iterable[str],
                       target: str) -> int:
    """Recompute graph ``target`` of the remote server from ``ontology_graph`` and ``sources``.

    Returns the number of entailed triples written.
    """
    scratch = ox.Store()  # in memory, gone with the function
    names = [ontology_graph, *(g for g in sources if g not in (ontology_graph, target))]
    for name in dict.fromkeys(names):
        node = ox.NamedNode(name)
        scratch.extend([ox.Quad(t.subject, t.predicate, t.object, node)
                        for t in writer.graph_triples(name)])
    count = materialise(scratch, ontology_graph, names[1:], target)
    triples = [q.triple for q in scratch.quads_for_pattern(None, None, None, ox.NamedNode(target))]
    writer.replace_graph(target, triples)
    return count


def push_embedded(store_dir: Path, writer: RemoteWriter) -> list[str]:
    """Copy every named graph of an embedded store and its manifest to the remote server
    (a migration from the embedded to the remote back end). Returns the graphs copied.

    Each graph is one Graph Store PUT; the manifest is written last, so the remote store only
    reads as loaded once every graph is there.
    """
    manifest = read_manifest(store_dir)
    if manifest is None:
        raise StoreNotReady(f"the store {store_dir} is not loaded; run `coprod-kg load`")
    store = ox.Store.read_only(str(store_dir))
    names = sorted(g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode))
    for name in names:
        quads = store.quads_for_pattern(None, None, None, ox.NamedNode(name))
        writer.replace_graph(name, (q.triple for q in quads))
    RemoteManifestStore(writer).write(manifest)
    return names
