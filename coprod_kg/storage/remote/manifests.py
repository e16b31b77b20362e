"""The manifest of the remote back end: one ``rdf:value`` literal of the private graph
:data:`MANIFEST_GRAPH` about itself (the same JSON as the embedded store's file), so every
stateless API process reads the same list of public graphs; every write replaces that graph
in one request.
"""

from __future__ import annotations

import pyoxigraph as ox

from coprod_kg.rdf.namespaces import GRAPH
from coprod_kg.storage.manifest import Manifest, manifest_from_json, manifest_to_json
from coprod_kg.storage.remote.writer import RemoteWriter

#: The private graph holding the manifest in a remote store (never public, so never queried).
MANIFEST_GRAPH = str(GRAPH["manifest"])
#: The property of the manifest graph's one triple, whose object is the manifest's JSON.
MANIFEST_VALUE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#value"


def conditional_manifest_update(expected: Manifest | None, manifest: Manifest) -> str:
    """The ONE update operation replacing the remote manifest, which changes nothing unless
    the stored manifest is still ``expected`` (same generation; ``None``: no manifest yet).
    Check with a read afterwards."""
    literal = ox.Literal(manifest_to_json(manifest))
    graph, value = f"<{MANIFEST_GRAPH}>", f"<{MANIFEST_VALUE}>"
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
            if triple.predicate.value == MANIFEST_VALUE and isinstance(triple.object, ox.Literal):
                return manifest_from_json(triple.object.value)
        return None

    def write(self, manifest: Manifest) -> None:
        """ONE Graph Store PUT of the manifest graph: the server replaces it whole (a
        ``DROP`` then ``INSERT DATA`` request may be applied in part, and Virtuoso answers
        ``OPTIONAL`` with no solution when nothing matches)."""
        self.writer.replace_graph(MANIFEST_GRAPH, [ox.Triple(
            ox.NamedNode(MANIFEST_GRAPH), ox.NamedNode(MANIFEST_VALUE),
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
