"""``coprod-kg load``: put the ontology, the case records and extra files into the store.

Each source gets its own named graph: the ontology (all modules) in ``graph/ontology``, every
``data/**/*.ttl`` in ``graph/data/{path without .ttl}``, every extra file in ``graph/file/{name}``
(or a graph the caller names). Loading is idempotent: the manifest keeps each source's SHA-256,
an unchanged source is skipped, a changed one replaces its graph, a vanished data file loses its
graph. Entailments (``graph/inferred``) are recomputed only when some source changed, from the
public graphs only.

The bundled case files (``data/cases/**/*.ttl``) are not file graphs: they go through the
curation workflow (:mod:`coprod_kg.curation.bundled`), each as a published version
``graph/case/{slug}/v{n}`` with its provenance, so PUT, DELETE and history work for them too.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph
from tqdm import tqdm

from coprod_kg.config import Settings
from coprod_kg.curation.bundled import (
    case_files,
    curated_graph_records,
    import_bundled,
    is_curated,
)
from coprod_kg.curation.inference import invalidate_inferred, sync_inferred
from coprod_kg.curation.model import Status
from coprod_kg.curation.visibility import curated_flags
from coprod_kg.errors import BadInput, ParseError
from coprod_kg.rdf.namespaces import GRAPH, INFERRED_GRAPH, ONTOLOGY_GRAPH
from coprod_kg.rdf.sources import load_ontology, module_files, turtle_files
from coprod_kg.rdf.terms import triple_to_oxigraph
from coprod_kg.reasoning.entailment import Schema, close
from coprod_kg.reasoning.materialise import fill, read_schema, write_derived
from coprod_kg.storage.backend import Backend
from coprod_kg.storage.manifest import Manifest, StagedManifests, sha256_files
from coprod_kg.storage.store import BulkGraphs, GraphRecord, GraphWriter

log = logging.getLogger(__name__)

DATA_GRAPH_BASE = str(GRAPH) + "data/"
FILE_GRAPH_BASE = str(GRAPH) + "file/"


@dataclass(frozen=True)
class Source:
    """One input of the store: the files it reads and the named graph it fills."""

    graph: str
    paths: tuple[Path, ...]
    label: str
    kind: str  # "ontology", "data" or "file"


@dataclass
class LoadReport:
    """What a load did, graph by graph."""

    loaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    inferred: int | None = None  # triples in graph/inferred when recomputed, else None

    @property
    def changed(self) -> bool:
        return bool(self.loaded or self.removed or self.inferred is not None)


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


#: Formats whose blank nodes are all written ``_:label`` (so a file without ``_:`` has none).
LABELLED_FORMATS = (ox.RdfFormat.N_TRIPLES,)


def _format(path: Path) -> ox.RdfFormat:
    rdf_format = ox.RdfFormat.from_extension(path.suffix.lstrip(".").lower())
    if rdf_format is None:
        raise BadInput(f"{path}: unknown RDF format (extension {path.suffix!r})")
    return rdf_format


def _parse_file(source: Source, digest: str, scratch: ox.Store) -> Parsed:
    """Parse one RDF file with the engine's parser (format from the extension) into the default
    graph of ``scratch``; keep its bytes when the engine can load them again as they are.

    The engine renames blank nodes on each load, so a file with blank nodes is kept as triples:
    the store and ``scratch`` then hold the same nodes.
    """
    path = source.paths[0]
    rdf_format = _format(path)
    base_iri = path.resolve().as_uri()
    data = path.read_bytes()
    try:
        if rdf_format in LABELLED_FORMATS and b"_:" not in data:
            scratch.bulk_load(data, rdf_format, base_iri=base_iri)
            return Parsed(source, digest, None, data, rdf_format, base_iri)
        parsed = ox.parse(data, format=rdf_format, base_iri=base_iri)
        triples = [q.triple if isinstance(q, ox.Quad) else q for q in parsed]
    except SyntaxError as exc:
        raise ParseError(str(exc), source=str(path)) from exc
    scratch.bulk_extend(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph())
                   for t in triples)
    return Parsed(source, digest, triples)


def _read(source: Source, digest: str, scratch: ox.Store) -> Parsed:
    if source.kind == "ontology":
        graph = load_ontology(source.paths[0].parent)
        triples = [triple_to_oxigraph(s, p, o) for s, p, o in graph]
        scratch.bulk_extend(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph())
                            for t in triples)
        return Parsed(source, digest, triples, ontology=graph)
    return _parse_file(source, digest, scratch)


def _store(writer: GraphWriter, parsed: Parsed) -> int:
    """Write one parsed source into its graph; returns its triple count."""
    name = parsed.source.graph
    if parsed.data is not None:
        assert parsed.rdf_format is not None
        if isinstance(writer, BulkGraphs):
            return writer.replace_graph_data(name, parsed.data, parsed.rdf_format,
                                             parsed.base_iri)
        parsed.triples = [q.triple if isinstance(q, ox.Quad) else q for q in ox.parse(
            parsed.data, format=parsed.rdf_format, base_iri=parsed.base_iri)]
    assert parsed.triples is not None
    return writer.replace_graph(name, parsed.triples)


@dataclass
class Inference:
    """The rules of ``graph/inferred`` running on the scratch store in a thread of their own.

    They read the ontology and the file graphs only (curated case versions carry their own
    entailments, :mod:`coprod_kg.curation.inference`): the parsed sources are in the scratch
    store already, the unchanged ones are read from the store first.
    """

    scratch: ox.Store
    thread: threading.Thread | None = None
    error: BaseException | None = None

    @classmethod
    def start(cls, writer: GraphWriter, scratch: ox.Store, parsed: Sequence[Parsed],
              graphs: Iterable[str]) -> Inference:
        """Read what the scratch store lacks, then start the rules."""
        ontology = next((p.ontology for p in parsed if p.ontology is not None), None)
        schema = Schema.of(ontology) if ontology is not None else read_schema(
            writer, str(ONTOLOGY_GRAPH))
        in_scratch = {p.source.graph for p in parsed}
        fill(writer, scratch, [g for g in dict.fromkeys([str(ONTOLOGY_GRAPH), *graphs])
                               if g != str(INFERRED_GRAPH) and not is_curated(g)
                               and g not in in_scratch])
        inference = cls(scratch)
        inference.thread = threading.Thread(target=inference._run, args=(schema,),
                                            name="entailments", daemon=True)
        inference.thread.start()
        return inference

    def _run(self, schema: Schema) -> None:
        try:
            close(self.scratch, schema)
        except BaseException as exc:  # noqa: BLE001 - handed to the loading thread as is
            self.error = exc

    def finish(self) -> ox.Store:
        """Wait for the rules; the scratch store with what they derived (their error, raised)."""
        assert self.thread is not None
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.scratch


@dataclass
class CasesImported:
    """What publishing the bundled cases changed (:func:`_import_cases`)."""

    loaded: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _import_cases(settings: Settings, backend: Backend, old: Manifest,
                  ontology_changed: bool, progress: bool) -> CasesImported:
    """Publish the bundled cases through curation.

    Curation derives its manifest into a staged copy: the load writes the published state
    once, at its end. When the ontology changed, every published version's entailments are
    recomputed.
    """
    writer = backend.writer()
    if ontology_changed:
        invalidate_inferred(writer)
    imported = import_bundled(settings, backend, StagedManifests(old), progress)
    sync_inferred(writer)
    done = CasesImported(skipped=list(imported.skipped))
    for info in imported.imported:
        (done.removed if info.status is Status.WITHDRAWN else done.loaded).append(info.graph)
    return done


def _store_parsed(writer: GraphWriter, parsed: Sequence[Parsed], progress: bool
                  ) -> list[GraphRecord]:
    """Write every parsed source into its graph (memory let go as it goes); their records."""
    stored = []
    for item in tqdm(parsed, desc="storing", unit="graph", disable=not progress):
        count = _store(writer, item)
        item.triples = item.data = None  # let the memory go
        source = item.source
        stored.append(GraphRecord(source.graph, source.label, item.digest, count))
    return stored


def _store_and_import(settings: Settings, backend: Backend, old: Manifest,
                      parsed: Sequence[Parsed], inference: Inference | None,
                      progress: bool) -> tuple[list[GraphRecord], CasesImported, int | None]:
    """Store the parsed sources, publish the bundled cases, write what the rules derived
    (when they ran); the sources' records, what the cases changed, the entailments' count.

    Into the embedded store, whose engine takes writes to different graphs from several
    threads, the sources are written in a thread while the cases are published and the
    entailments written: a big file goes through the engine's bulk loader (its own threads,
    no GIL) and the cases are mostly Python, so they share the machine. A remote server gets
    one request at a time (Virtuoso reports concurrent writers as deadlocked transactions).
    """
    writer = backend.writer()
    ontology_changed = any(p.source.kind == "ontology" for p in parsed)
    with ThreadPoolExecutor(1, thread_name_prefix="storing") as pool:  # waits for it, always
        storing = (pool.submit(_store_parsed, writer, parsed, progress)
                   if isinstance(writer, BulkGraphs) else None)
        try:
            stored = _store_parsed(writer, parsed, progress) if storing is None else []
            cases = _import_cases(settings, backend, old, ontology_changed, progress)
        finally:
            derived = inference.finish() if inference is not None else None
        inferred = (write_derived(writer, derived, str(INFERRED_GRAPH)) if derived is not None
                    else None)
        return (stored if storing is None else storing.result()), cases, inferred


def load_store(settings: Settings, extra_files: Sequence[Path] = (),
               graph_name: str | None = None, progress: bool = False,
               backend: Backend | None = None) -> LoadReport:
    """Bring the store of ``settings`` (embedded directory or remote server) up to date with
    the sources; see the module doc. ``backend``: the open back end (the command line's);
    without it the load opens one of its own and releases it at the end."""
    if backend is None:
        with Backend(settings, manifest_view=curated_flags) as owned:
            return load_store(settings, extra_files, graph_name, progress, owned)
    sources = plan_sources(settings, extra_files, graph_name)
    manifests = backend.manifests()
    old = manifests.read() or Manifest()
    new = Manifest()
    report = LoadReport()
    # Parse every changed source before writing anything, so a syntax error changes nothing.
    # The parse fills a scratch store too: the entailments are computed there, without reading
    # the sources back from the store.
    scratch = ox.Store()
    parsed: list[Parsed] = []
    for source in tqdm(sources, desc="parsing", unit="source", disable=not progress):
        digest = sha256_files(list(source.paths))
        previous = old.graphs.get(source.graph)
        if previous is not None and previous.sha256 == digest:
            new.graphs[source.graph] = previous
            report.skipped.append(source.graph)
        else:
            parsed.append(_read(source, digest, scratch))
    # What stays and what goes is known from the manifest alone: an extra file loaded earlier
    # stays until removed on purpose, a data file that is gone loses its graph.
    removed = [name for name in old.graphs if name.startswith(DATA_GRAPH_BASE)
               and name not in new.graphs and not any(p.source.graph == name for p in parsed)]
    kept = {name: record for name, record in old.graphs.items()
            if name not in new.graphs and name not in removed and name != str(INFERRED_GRAPH)
            and not is_curated(name) and not any(p.source.graph == name for p in parsed)}
    inputs = hashlib.sha256("\n".join(sorted(
        [f"{n} {r.sha256}" for n, r in [*new.graphs.items(), *kept.items()] if r.public]
        + [f"{p.source.graph} {p.digest}" for p in parsed])).encode()).hexdigest()
    writer = backend.writer()
    inference: Inference | None = None
    if inputs != old.inference_inputs or str(INFERRED_GRAPH) not in old.graphs:
        # The rules run on the scratch store in a thread while the graphs are written.
        public = [n for n, r in [*new.graphs.items(), *kept.items()] if r.public]
        inference = Inference.start(writer, scratch, parsed,
                                    [*public, *(p.source.graph for p in parsed)])
    stored, cases, inferred = _store_and_import(settings, backend, old, parsed, inference,
                                                progress)
    for record in stored:
        new.graphs[record.name] = record
        report.loaded.append(record.name)
    report.loaded += cases.loaded
    report.removed += cases.removed
    report.skipped += cases.skipped
    new.graphs.update(curated_graph_records(writer))
    for name in removed:
        writer.remove_graph(name)
        report.removed.append(name)
    new.graphs.update(kept)
    if inferred is not None:
        new.graphs[str(INFERRED_GRAPH)] = GraphRecord(str(INFERRED_GRAPH), "entailments",
                                                      inputs, inferred)
        report.inferred = inferred
    else:
        new.graphs[str(INFERRED_GRAPH)] = old.graphs[str(INFERRED_GRAPH)]
    new.inference_inputs = inputs
    writer.flush()  # the public view is compacted when it is made (public_view.sync_view)
    new.generation = (uuid.uuid4().hex if report.changed or not old.generation
                      else old.generation)
    manifests.write(new)  # once, last: the store reads as loaded only once every graph is in
    return report
