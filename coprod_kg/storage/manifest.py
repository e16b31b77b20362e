"""The load manifest: a small JSON file in the store directory recording what was loaded.

For each named graph it keeps the source and its SHA-256, so a new load skips unchanged sources;
its ``generation`` changes on every load that changed something, which tells the query workers
to reopen their read-only view of the store.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Protocol

from coprod_kg.atomic import write_bytes
from coprod_kg.storage.store import GraphRecord

MANIFEST_NAME = "coprod-manifest.json"
FORMAT_VERSION = 1


@dataclass
class Manifest:
    """What the store holds: one record per named graph, plus the inference inputs' digest."""

    graphs: dict[str, GraphRecord] = field(default_factory=dict)
    inference_inputs: str = ""
    generation: str = ""

    def public_graphs(self) -> list[str]:
        """Names of the public graphs, sorted: the union of these is the default graph."""
        return sorted(name for name, record in self.graphs.items() if record.public)

    def public_state(self) -> str:
        """The identity of the published state: a digest of every public graph's name, source
        digest and size (equal digests, equal public content; see :mod:`coprod_kg.caching`)."""
        digest = hashlib.sha256()
        for name in self.public_graphs():
            record = self.graphs[name]
            digest.update(f"{name}\t{record.sha256}\t{record.triples}\n".encode())
        return digest.hexdigest()[:32]

    def unsettled_graphs(self) -> list[str]:
        """Names of the graphs a load that stopped left part-written (``GraphRecord.unsettled``),
        sorted."""
        return sorted(name for name, record in self.graphs.items() if record.unsettled)

    def private_graphs(self) -> list[str]:
        """Names of graphs that must never be queried (e.g. pending submissions), sorted."""
        return sorted(name for name, record in self.graphs.items() if not record.public)


def manifest_path(store_dir: Path) -> Path:
    """Where the manifest of ``store_dir`` lives."""
    return store_dir / MANIFEST_NAME


def read_manifest(store_dir: Path) -> Manifest | None:
    """The manifest of ``store_dir``, or ``None`` if the store was never loaded."""
    try:
        text = manifest_path(store_dir).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return manifest_from_json(text)


def write_manifest(store_dir: Path, manifest: Manifest) -> None:
    """Write the manifest atomically (temporary file, then ``os.replace``)."""
    store_dir.mkdir(parents=True, exist_ok=True)
    text = manifest_to_json(manifest) + "\n"
    write_bytes(manifest_path(store_dir), text.encode("utf-8"), mode=0o600)


def sha256_files(paths: list[Path]) -> str:
    """One SHA-256 over the names and contents of ``paths`` (in the given order)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode("utf-8") + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


class ManifestStore(Protocol):
    """Read and replace the manifest, wherever it is kept."""

    def read(self) -> Manifest | None:
        """The manifest, or ``None`` when the store was never loaded."""
        ...

    def write(self, manifest: Manifest) -> None:
        """Replace the manifest atomically."""
        ...

    def close(self) -> None:
        """Release connections (nothing for the file)."""
        ...

    def write_if(self, expected: Manifest | None, manifest: Manifest) -> bool:
        """Replace the manifest unless it changed since ``expected`` was read; False if it did."""
        ...

    def mark(self, expected: Manifest, manifest: Manifest) -> bool:
        """Replace the manifest by ``manifest``, which publishes what ``expected`` does (only
        records' marks differ: :func:`with_unsettled`), unless it changed since ``expected``
        was read; False if it did. Nothing published changes: no public view is synced."""
        ...


def _record_json(record: GraphRecord) -> dict[str, object]:
    """A record as JSON; ``unsettled`` only when set, so a settled store's manifest reads as it
    always has."""
    out: dict[str, object] = asdict(record)
    if not record.unsettled:
        del out["unsettled"]
    return out


def manifest_to_json(manifest: Manifest) -> str:
    """The manifest as the JSON text of its file (:func:`write_manifest`).

    >>> record = GraphRecord("urn:g", "f.ttl", "ab", 3)
    >>> "unsettled" in manifest_to_json(Manifest({"urn:g": record}))
    False
    >>> back = manifest_from_json(manifest_to_json(Manifest({"urn:g": unsettle(record)})))
    >>> back.graphs["urn:g"].unsettled
    True
    """
    payload = {
        "version": FORMAT_VERSION,
        "generation": manifest.generation,
        "inference_inputs": manifest.inference_inputs,
        "graphs": {name: _record_json(record) for name, record in sorted(manifest.graphs.items())},
    }
    return json.dumps(payload, indent=2, sort_keys=True)


def manifest_from_json(text: str) -> Manifest | None:
    """Parse :func:`manifest_to_json`'s text; ``None`` for another format version.

    >>> manifest_from_json(manifest_to_json(Manifest(generation="g1"))).generation
    'g1'
    >>> newer = '{"version": 1, "graphs": {"urn:g": {"name": "urn:g", "source": "f", '
    >>> newer += '"sha256": "ab", "triples": 1, "later": true}}}'
    >>> manifest_from_json(newer).graphs["urn:g"].triples
    1
    """
    raw = json.loads(text)
    if not isinstance(raw, dict) or raw.get("version") != FORMAT_VERSION:
        return None
    known = {f.name for f in fields(GraphRecord)}  # a newer writer's extra keys are skipped
    graphs = {name: GraphRecord(**{k: v for k, v in record.items() if k in known})
              for name, record in raw.get("graphs", {}).items()}
    return Manifest(graphs, raw.get("inference_inputs", ""), raw.get("generation", ""))


def unsettle(record: GraphRecord) -> GraphRecord:
    """``record`` marked unsettled (see :class:`~coprod_kg.storage.store.GraphRecord`)."""
    return replace(record, unsettled=True)


def with_unsettled(manifest: Manifest, names: Iterable[str]) -> Manifest:
    """``manifest`` (same generation, same published state) with the records of ``names`` it
    holds marked unsettled: what a load writes before it replaces published graphs, so that a
    load that does not finish leaves a record of them (crash included)."""
    marked = set(names)
    return Manifest({name: unsettle(record) if name in marked else record
                     for name, record in manifest.graphs.items()},
                    manifest.inference_inputs, manifest.generation)


class StagedManifests:
    """A :class:`ManifestStore` that keeps what is written in memory: the steps of a load
    derive the manifest here, and the load publishes the whole state once, at the end.

    >>> staged = StagedManifests(None)
    >>> staged.write_if(None, Manifest(generation="g1")), staged.read().generation
    (True, 'g1')
    """

    def __init__(self, current: Manifest | None) -> None:
        self.current = current

    def read(self) -> Manifest | None:
        return self.current

    def write(self, manifest: Manifest) -> None:
        self.current = manifest

    def write_if(self, expected: Manifest | None, manifest: Manifest) -> bool:
        self.current = manifest
        return True

    def mark(self, expected: Manifest, manifest: Manifest) -> bool:
        self.current = manifest
        return True

    def close(self) -> None:
        """Nothing to release."""
