"""The manifest of the remote back end: the same JSON as the embedded store's file, in the
private graph :data:`MANIFEST_GRAPH`, so every stateless API process reads the same list of
public graphs; every write replaces that graph in one request.

The JSON is cut into pieces of at most :data:`PART_CHARS` characters, the objects of
``rdf:_1``, ``rdf:_2``... about the graph itself: Virtuoso's Graph Store reader refuses an
N-Triples line longer than 64 KB, and the manifest passes that with a hundred-odd cases. A
manifest written as one ``rdf:value`` literal (before the pieces) is still read.

>>> manifest_from_triples(manifest_triples(Manifest(generation="g1"))).generation
'g1'
"""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox

from coprod_kg.rdf.namespaces import GRAPH
from coprod_kg.storage.manifest import Manifest, manifest_from_json, manifest_to_json
from coprod_kg.storage.remote.writer import RemoteWriter

#: The private graph holding the manifest in a remote store (never public, so never queried).
MANIFEST_GRAPH = str(GRAPH["manifest"])
#: The property of a manifest written as one literal (still read).
MANIFEST_VALUE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#value"
#: The properties of the pieces: ``rdf:_1``, ``rdf:_2``...
_MEMBER = "http://www.w3.org/1999/02/22-rdf-syntax-ns#_"
#: Longest piece in characters: even if every one were escaped, its line stays under 64 KB.
PART_CHARS = 16_000


def manifest_triples(manifest: Manifest) -> list[ox.Triple]:
    """The triples holding ``manifest``: its JSON in pieces, ``rdf:_1`` first."""
    text = manifest_to_json(manifest)
    graph = ox.NamedNode(MANIFEST_GRAPH)
    return [ox.Triple(graph, ox.NamedNode(f"{_MEMBER}{index}"),
                      ox.Literal(text[start:start + PART_CHARS]))
            for index, start in enumerate(range(0, max(len(text), 1), PART_CHARS), start=1)]


def manifest_from_triples(triples: Iterable[ox.Triple]) -> Manifest | None:
    """The manifest held by ``triples`` (pieces, or one ``rdf:value``); ``None`` if none."""
    parts: dict[int, str] = {}
    for triple in triples:
        if not isinstance(triple.object, ox.Literal):
            continue
        name = triple.predicate.value
        if name == MANIFEST_VALUE:
            return manifest_from_json(triple.object.value)
        if name.startswith(_MEMBER) and name[len(_MEMBER):].isdigit():
            parts[int(name[len(_MEMBER):])] = triple.object.value
    if not parts:
        return None
    return manifest_from_json("".join(parts[index] for index in sorted(parts)))


def conditional_manifest_update(expected: Manifest | None, manifest: Manifest) -> str:
    """The ONE update operation replacing the remote manifest, which changes nothing unless
    the stored manifest is still ``expected`` (same generation; ``None``: no manifest yet).
    Check with a read afterwards."""
    graph = f"<{MANIFEST_GRAPH}>"
    new = " ".join(f"{t.subject} {t.predicate} {t.object} ." for t in manifest_triples(manifest))
    if expected is None:
        return (f"INSERT {{ GRAPH {graph} {{ {new} }} }} WHERE {{ "
                f"FILTER NOT EXISTS {{ GRAPH {graph} {{ {graph} ?p ?any }} }} }}")
    old_generation = ox.Literal(expected.generation)
    # The generation stands near the start of the JSON (sorted keys), so in its first piece.
    return (f"DELETE {{ GRAPH {graph} {{ {graph} ?p ?old }} }}\n"
            f"INSERT {{ GRAPH {graph} {{ {new} }} }}\n"
            f"WHERE {{ GRAPH {graph} {{ {graph} ?first ?head . {graph} ?p ?old }} "
            f"FILTER(?first IN (<{MANIFEST_VALUE}>, <{_MEMBER}1>) && "
            f"CONTAINS(STR(?head), CONCAT('\"generation\": \"', {old_generation}, '\"'))) }}")


class RemoteManifestStore:
    """The manifest kept in :data:`MANIFEST_GRAPH` of a remote SPARQL server."""

    def __init__(self, writer: RemoteWriter) -> None:
        self.writer = writer

    def read(self) -> Manifest | None:
        return manifest_from_triples(self.writer.graph_triples(MANIFEST_GRAPH))

    def write(self, manifest: Manifest) -> None:
        """ONE Graph Store PUT of the manifest graph: the server replaces it whole (a
        ``DROP`` then ``INSERT DATA`` request may be applied in part, and Virtuoso answers
        ``OPTIONAL`` with no solution when nothing matches)."""
        self.writer.replace_graph(MANIFEST_GRAPH, manifest_triples(manifest))

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

    def mark(self, expected: Manifest, manifest: Manifest) -> bool:
        """:meth:`write_if` (the server has no view to sync)."""
        return self.write_if(expected, manifest)
