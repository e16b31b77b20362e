"""Dumps of the public knowledge graph: N-Quads (with graph names), Turtle and N-Triples.

Only the graphs the load manifest marks public are written (pending submissions stay out). The
dump is produced in batches, so a server can stream it; its entity tag is derived from the
manifest (each public graph's name, source digest and size), so it changes exactly when the
published content does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import pyoxigraph as ox

from coprod_kg.atomic import atomic_write
from coprod_kg.config import Settings
from coprod_kg.errors import BadInput
from coprod_kg.rdf.formats import rdf_format
from coprod_kg.rdf.namespaces import PREFIXES
from coprod_kg.storage.backend import Backend, remote_writer
from coprod_kg.storage.embedded.oxigraph_store import open_read_only
from coprod_kg.storage.manifest import Manifest
from coprod_kg.storage.store import StoreNotReady

BATCH = 5000


@dataclass(frozen=True)
class DumpFormat:
    """One dump format: its name, file name, media type and engine format."""

    name: str
    filename: str
    media_type: str
    rdf_format: ox.RdfFormat

    @property
    def quads(self) -> bool:
        """True when the format keeps graph names."""
        return self.rdf_format == ox.RdfFormat.N_QUADS


DUMP_FORMATS: dict[str, DumpFormat] = {
    f.name: DumpFormat(f.name, f"coprod.{f.short}", f.media_type, f.oxigraph)
    for f in map(rdf_format, ("nquads", "turtle", "ntriples"))
    if isinstance(f.oxigraph, ox.RdfFormat)
}


def dump_format(name: str) -> DumpFormat:
    """Look a dump format up by name (``nquads``, ``turtle``, ``ntriples``) or file name."""
    for fmt in DUMP_FORMATS.values():
        if name in (fmt.name, fmt.filename):
            return fmt
    raise BadInput(f"unknown dump format {name!r}; use one of: {', '.join(DUMP_FORMATS)}")


def _manifest(backend: Backend) -> Manifest:
    manifest = backend.manifests().read()
    if manifest is None:
        settings = backend.settings
        where = settings.sparql_url if backend.remote else settings.store
        raise StoreNotReady(f"the store {where} is not loaded; run `coprod-kg load`")
    return manifest


def content_tag(manifest: Manifest) -> str:
    """A digest of the public content: each public graph's name, source digest and size."""
    digest = hashlib.sha256()
    for name in manifest.public_graphs():
        record = manifest.graphs[name]
        digest.update(f"{name}\t{record.sha256}\t{record.triples}\n".encode())
    return digest.hexdigest()


def etag(backend: Backend, fmt: DumpFormat) -> str:
    """The strong entity tag (quoted) of the dump of ``backend``'s public graphs in ``fmt``."""
    return f'"{fmt.name}-{content_tag(_manifest(backend))[:32]}"'


def _batches(store: ox.Store, graph: str) -> Iterator[list[ox.Quad]]:
    quads = store.quads_for_pattern(None, None, None, ox.NamedNode(graph))
    while batch := list(islice(quads, BATCH)):
        yield batch


def _remote_batches(settings: Settings) -> Callable[[str], Iterator[list[ox.Quad]]]:
    """Batches of one graph fetched from the remote server (one Graph Store GET per graph)."""
    def batches(graph: str) -> Iterator[list[ox.Quad]]:
        writer = remote_writer(settings)
        try:
            triples = writer.graph_triples(graph)
        finally:
            writer.close()
        node = ox.NamedNode(graph)
        for start in range(0, len(triples), BATCH):
            yield [ox.Quad(t.subject, t.predicate, t.object, node)
                   for t in triples[start:start + BATCH]]
    return batches


def iter_dump(backend: Backend, fmt: DumpFormat) -> Iterator[bytes]:
    """The dump of the public graphs as successive chunks of bytes.

    Embedded: opens the store when the first chunk is asked for and keeps that view to the end,
    so a load running meanwhile does not mix two versions into one dump. Remote: each public
    graph is one Graph Store GET (consistent per graph, not across graphs).
    """
    manifest = _manifest(backend)
    settings = backend.settings
    if backend.remote:
        graph_batches = _remote_batches(settings)
    else:
        store = open_read_only(settings.store)

        def graph_batches(graph: str) -> Iterator[list[ox.Quad]]:
            return _batches(store, graph)
    for graph in manifest.public_graphs():
        if fmt.rdf_format == ox.RdfFormat.TURTLE:
            yield f"\n# graph <{graph}>\n".encode()
        for batch in graph_batches(graph):
            items: list[ox.Quad] | list[ox.Triple] = (
                batch if fmt.quads else [q.triple for q in batch])
            prefixes = PREFIXES if fmt.rdf_format == ox.RdfFormat.TURTLE else None
            yield ox.serialize(items, format=fmt.rdf_format, prefixes=prefixes) or b""


def write_dump(backend: Backend, fmt: DumpFormat, output: Path) -> int:
    """Write the dump to ``output`` atomically; returns the number of bytes written."""
    size = 0
    with atomic_write(output) as stream:
        for chunk in iter_dump(backend, fmt):
            stream.write(chunk)
            size += len(chunk)
    return size


def write_release(backend: Backend, folder: Path, version: str, day: str) -> list[Path]:
    """The dated dumps of a release: ``coprod-kg-{version}-{day}.{nq,ttl,nt}`` in ``folder``,
    and ``SHA256SUMS`` over them (``sha256sum -c`` reads it); returns the files written."""
    written = []
    for fmt in DUMP_FORMATS.values():
        suffix = Path(fmt.filename).suffix
        target = folder / f"coprod-kg-{version}-{day}{suffix}"
        write_dump(backend, fmt, target)
        written.append(target)
    lines = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n" for p in written]
    sums = folder / "SHA256SUMS"
    with atomic_write(sums) as stream:
        stream.write("".join(lines).encode())
    return [*written, sums]
