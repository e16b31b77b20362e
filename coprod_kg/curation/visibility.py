"""Derive the manifest's records of curated graphs from the curation graph.

The store is the source of truth: a version graph is public exactly when its version is the
current published one; the provenance graph is public, the curation graph never is. This runs
after every write (before acknowledging) and when the service starts, so a crash between a
store transaction and the manifest write is repaired.
"""

from __future__ import annotations

import hashlib
import uuid

from coprod_kg.curation.model import (
    CASE_GRAPH_BASE,
    CURATION_GRAPH,
    PROVENANCE_GRAPH,
    Status,
    VersionInfo,
)
from coprod_kg.curation.records import versions
from coprod_kg.curation.writer import CurationReader
from coprod_kg.errors import StoreBusy
from coprod_kg.manifest import Manifest
from coprod_kg.manifest_store import ManifestStore
from coprod_kg.store import GraphRecord


def _curated(name: str) -> bool:
    return name.startswith(CASE_GRAPH_BASE) or name in (CURATION_GRAPH, PROVENANCE_GRAPH)


def curated_records(found: list[VersionInfo], prov_triples: int,
                    curation_triples: int) -> dict[str, GraphRecord]:
    """The manifest records of every curated graph, with their public flags."""
    out: dict[str, GraphRecord] = {}
    for info in found:
        out[info.graph] = GraphRecord(info.graph, f"case {info.slug} v{info.number}",
                                      info.content_hash, info.triples,
                                      public=info.status is Status.PUBLISHED)
        if info.inferred_triples is not None:
            out[info.inferred_graph] = GraphRecord(
                info.inferred_graph, f"entailments of case {info.slug} v{info.number}",
                info.content_hash, info.inferred_triples, public=info.status is Status.PUBLISHED)
    if found:
        states = sorted(f"{v.graph} {v.status.value} {v.content_hash}" for v in found)
        public = [line for line, v in zip(states, sorted(found, key=lambda v: v.graph),
                                          strict=True) if v.status.public]
        out[CURATION_GRAPH] = GraphRecord(CURATION_GRAPH, "curation records", _digest(states),
                                          curation_triples, public=False)
        out[PROVENANCE_GRAPH] = GraphRecord(PROVENANCE_GRAPH, "provenance of published "
                                            "versions", _digest(public), prov_triples,
                                            public=True)
    return out


def _digest(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def count_triples(reader: CurationReader, graph: str) -> int:
    rows = reader.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    value = rows[0].get("n") if rows else None
    return int(value.value) if value is not None else 0


def derive_manifest(manifests: ManifestStore, reader: CurationReader,
                    attempts: int = 5) -> Manifest:
    """Rewrite the manifest's curated records from ``reader``; new generation if changed.

    ``manifests`` is the manifest file of the embedded store or the remote server's manifest
    graph (:mod:`coprod_kg.manifest_store`). The write is conditional on the manifest read: if
    another writer process replaced it meanwhile (remote back end), everything is read and
    derived again, so a stale derivation never overwrites a newer one.
    """
    for _ in range(attempts):
        current = manifests.read()
        manifest = current or Manifest()
        records = curated_records(versions(reader), count_triples(reader, PROVENANCE_GRAPH),
                                  count_triples(reader, CURATION_GRAPH))
        others = {n: r for n, r in manifest.graphs.items() if not _curated(n)}
        old = {n: r for n, r in manifest.graphs.items() if _curated(n)}
        if old == records and manifest.generation:
            return manifest
        updated = Manifest({**others, **records}, manifest.inference_inputs, uuid.uuid4().hex)
        if manifests.write_if(current, updated):
            return updated
    raise StoreBusy("the manifest keeps changing under concurrent writers; try again")
