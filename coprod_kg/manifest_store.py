"""Where the load manifest lives: a file next to the embedded store, or a private graph of the
remote SPARQL server (so every stateless API process reads the same list of public graphs).

:class:`ManifestStore` is the small protocol both places implement; the JSON text is the same
as :mod:`coprod_kg.manifest`'s file, so one :class:`~coprod_kg.manifest.Manifest` can be moved
between them. In the remote store it is one ``rdf:value`` literal of the graph
:data:`MANIFEST_GRAPH` about itself; every write replaces that graph in one request.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Protocol

import pyoxigraph as ox

from coprod_kg.errors import StoreBusy
from coprod_kg.manifest import FORMAT_VERSION, Manifest, read_manifest, write_manifest
from coprod_kg.namespaces import GRAPH
from coprod_kg.public_view import sync_view
from coprod_kg.remote_writer import RemoteWriter
from coprod_kg.store import GraphRecord

#: The private graph holding the manifest in a remote store (never public, so never queried).
MANIFEST_GRAPH = str(GRAPH["manifest"])
_VALUE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#value"


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


def manifest_to_json(manifest: Manifest) -> str:
    """The manifest as the JSON text :func:`coprod_kg.manifest.write_manifest` writes."""
    payload = {
        "version": FORMAT_VERSION,
        "generation": manifest.generation,
        "inference_inputs": manifest.inference_inputs,
        "graphs": {name: asdict(record) for name, record in sorted(manifest.graphs.items())},
    }
    return json.dumps(payload, indent=2, sort_keys=True)


def manifest_from_json(text: str) -> Manifest | None:
    """Parse :func:`manifest_to_json`'s text; ``None`` for another format version.

    >>> manifest_from_json(manifest_to_json(Manifest(generation="g1"))).generation
    'g1'
    """
    raw = json.loads(text)
    if not isinstance(raw, dict) or raw.get("version") != FORMAT_VERSION:
        return None
    graphs = {name: GraphRecord(**record) for name, record in raw.get("graphs", {}).items()}
    return Manifest(graphs, raw.get("inference_inputs", ""), raw.get("generation", ""))


class FileManifestStore:
    """The manifest file in the embedded store's directory (:mod:`coprod_kg.manifest`).

    Writing it first brings the public view and its snapshot up to date
    (:func:`coprod_kg.public_view.sync_view`), so readers that see the new generation find its
    snapshot; that needs ``master``, the main store this process holds open read-write (opened
    here for the moment of the write when no one has it open).
    """

    def __init__(self, store_dir: Path, master: ox.Store | None = None) -> None:
        self.store_dir = store_dir
        self.master = master

    def read(self) -> Manifest | None:
        return read_manifest(self.store_dir)

    def write(self, manifest: Manifest) -> None:
        if self.master is not None:
            sync_view(self.master, self.store_dir, manifest)
        else:
            try:
                master = ox.Store(str(self.store_dir))
            except OSError as exc:
                if "lock" in str(exc).lower():
                    raise StoreBusy("the store is in use by a running server: use the HTTP API or "
                                "stop the server") from exc
                raise
            try:
                sync_view(master, self.store_dir, manifest)
            finally:
                del master  # releases the lock
        write_manifest(self.store_dir, manifest)

    def close(self) -> None:
        """Nothing to release."""

    def write_if(self, expected: Manifest | None, manifest: Manifest) -> bool:
        """Compare generations, then write (the embedded store has one writer process)."""
        current = self.read()
        if (current and current.generation) != (expected and expected.generation):
            return False
        self.write(manifest)
        return True


def conditional_manifest_update(expected: Manifest | None, manifest: Manifest) -> str:
    """The ONE update operation replacing the remote manifest, which changes nothing unless
    the stored manifest is still ``expected`` (same generation; ``None``: no manifest yet).
    Check with a read afterwards."""
    literal = ox.Literal(manifest_to_json(manifest))
    graph, value = f"<{MANIFEST_GRAPH}>", f"<{_VALUE}>"
    if expected is None:
        return (f"INSERT {{ GRAPH {graph} {{ {graph} {value} {literal} }} }} WHERE {{ "
                f"FILTER NOT EXISTS {{ GRAPH {graph} {{ {graph} {value} ?any }} }} }}")
    old_generation = ox.Literal(expected.generation)
    return (f"DELETE {{ GRAPH {graph} {{ {graph} {value} ?old }} }}\n"
            f"INSERT {{ GRAPH {graph} {{ {graph} {value} {literal} }} }}\n"
            f"WHERE {{ GRAPH {graph} {{ {graph} {value} ?old }} "
            f"FILTER(CONTAINS(STR(?old), CONCAT('\"generation\": \"', {old_generation}, '\"'))) }}")


class RemoteManifestStore:
    """The manifest kept in :data:`MANIFEST_GRAPH` of a remote SPARQL server."""

    def __init__(self, writer: RemoteWriter) -> None:
        self.writer = writer

    def read(self) -> Manifest | None:
        for triple in self.writer.graph_triples(MANIFEST_GRAPH):
            if triple.predicate.value == _VALUE and isinstance(triple.object, ox.Literal):
                return manifest_from_json(triple.object.value)
        return None

    def write(self, manifest: Manifest) -> None:
        """ONE Graph Store PUT of the manifest graph: the server replaces it whole (a
        ``DROP`` then ``INSERT DATA`` request may be applied in part, and Virtuoso answers
        ``OPTIONAL`` with no solution when nothing matches)."""
        self.writer.replace_graph(MANIFEST_GRAPH, [ox.Triple(
            ox.NamedNode(MANIFEST_GRAPH), ox.NamedNode(_VALUE),
            ox.Literal(manifest_to_json(manifest)))])

    def close(self) -> None:
        """Close the writer's HTTP client (if the writer owns it)."""
        self.writer.close()

    def write_if(self, expected: Manifest | None, manifest: Manifest) -> bool:
        """Replace the manifest only if nobody else changed it since ``expected`` was read.

        For several writer processes: on ``False`` re-read, merge and try again.
        """
        self.writer.update(conditional_manifest_update(expected, manifest))
        stored = self.read()
        return stored is not None and stored.generation == manifest.generation
