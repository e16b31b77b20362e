"""The sources of a load: which files go to which named graph, read and parsed by the engine
(into the scratch store the rules run on)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from coprod_kg.config import Settings
from coprod_kg.curation.bundled import case_files
from coprod_kg.errors import BadInput, ParseError
from coprod_kg.rdf.namespaces import GRAPH, ONTOLOGY_GRAPH
from coprod_kg.rdf.sources import load_ontology, module_files, turtle_files
from coprod_kg.rdf.terms import triple_to_oxigraph

DATA_GRAPH_BASE = str(GRAPH) + "data/"
FILE_GRAPH_BASE = str(GRAPH) + "file/"


@dataclass(frozen=True)
class Source:
    """One input of the store: the files it reads and the named graph it fills."""

    graph: str
    paths: tuple[Path, ...]
    label: str
    kind: str  # "ontology", "data" or "file"


def data_graph_name(data_dir: Path, path: Path) -> str:
    """The named graph of a case-record file: ``graph/data/{relative path without .ttl}``.

    >>> data_graph_name(Path("data"), Path("data/cases/se-preschools.ttl"))
    'https://w3id.org/coprod/graph/data/cases/se-preschools'
    """
    relative = path.resolve().relative_to(data_dir.resolve()).with_suffix("")
    return DATA_GRAPH_BASE + relative.as_posix()


def plan_sources(settings: Settings, extra_files: Sequence[Path] = (),
                 graph_name: str | None = None) -> list[Source]:
    """Every source to load, ontology first; ``graph_name`` names the graph of one extra file."""
    if graph_name and len(extra_files) != 1:
        raise BadInput("--graph needs exactly one FILE")
    sources = [Source(str(ONTOLOGY_GRAPH), tuple(module_files(settings.ontology_dir)),
                      "ontology", "ontology")]
    data_dir = settings.data_dir
    data_files = turtle_files(data_dir) if data_dir.is_dir() else []
    bundled = {p.resolve() for p in case_files(data_dir)}
    for path in data_files:
        if path.resolve() in bundled:
            continue  # imported through the curation workflow
        sources.append(Source(data_graph_name(data_dir, path), (path,),
                              path.relative_to(data_dir).as_posix(), "data"))
    for path in extra_files:
        if not path.is_file():
            raise BadInput(f"no such file: {path}")
        if path.resolve() in bundled:
            continue
        inside_data = data_dir.is_dir() and path.resolve().is_relative_to(data_dir.resolve())
        if graph_name:
            name = graph_name
        elif inside_data:
            name = data_graph_name(data_dir, path)
        else:
            name = FILE_GRAPH_BASE + path.stem
        if any(s.graph == name for s in sources):
            continue
        sources.append(Source(name, (path,), str(path), "file"))
    return sources


@dataclass
class Parsed:
    """A changed source, parsed: its triples, or (a big serialisation without blank nodes, which
    the engine's bulk loader takes as is) its bytes."""

    source: Source
    digest: str
    triples: list[ox.Triple] | None = None
    data: bytes | None = None
    rdf_format: ox.RdfFormat | None = None
    base_iri: str | None = None
    ontology: Graph | None = None  # the ontology's modules, parsed (the rules read it)
    bulk: bool = False  #: ``data`` goes to the engine's bulk loader as it is


#: Formats whose blank nodes are all written ``_:label`` (so a file without ``_:`` has none).
LABELLED_FORMATS = (ox.RdfFormat.N_TRIPLES,)


def _format(path: Path) -> ox.RdfFormat:
    rdf_format = ox.RdfFormat.from_extension(path.suffix.lstrip(".").lower())
    if rdf_format is None:
        raise BadInput(f"{path}: unknown RDF format (extension {path.suffix!r})")
    return rdf_format


def open_file(source: Source, digest: str) -> Parsed:
    """Read one RDF file (format from its extension); its bytes are kept when the engine can
    load them as they are (a serialisation without blank nodes), else it is kept as triples
    once parsed (:func:`parse_into`): the engine renames blank nodes on each load, so the
    store and the scratch store then hold the same nodes."""
    path = source.paths[0]
    rdf_format = _format(path)
    data = path.read_bytes()
    bulk = rdf_format in LABELLED_FORMATS and b"_:" not in data
    return Parsed(source, digest, None, data, rdf_format, path.resolve().as_uri(), bulk=bulk)


def parse_into(item: Parsed, scratch: ox.Store) -> None:
    """Parse a file read by :func:`open_file` with the engine's parser into the default graph
    of ``scratch``; :class:`ParseError` if it is not valid."""
    assert item.data is not None and item.rdf_format is not None
    try:
        if item.bulk:
            scratch.bulk_load(item.data, item.rdf_format, base_iri=item.base_iri)
            return
        parsed = ox.parse(item.data, format=item.rdf_format, base_iri=item.base_iri)
        triples = [q.triple if isinstance(q, ox.Quad) else q for q in parsed]
    except SyntaxError as exc:
        raise ParseError(str(exc), source=str(item.source.paths[0])) from exc
    scratch.bulk_extend(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph())
                        for t in triples)
    item.triples, item.data = triples, None


def read_source(source: Source, digest: str, scratch: ox.Store) -> Parsed:
    if source.kind == "ontology":
        graph = load_ontology(source.paths[0].parent)
        triples = [triple_to_oxigraph(s, p, o) for s, p, o in graph]
        scratch.bulk_extend(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph())
                            for t in triples)
        return Parsed(source, digest, triples, ontology=graph)
    item = open_file(source, digest)
    parse_into(item, scratch)
    return item
