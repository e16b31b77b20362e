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
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from tqdm import tqdm

from coprod_kg.config import Settings
from coprod_kg.curation.bundled import (
    curated_graph_records,
    import_bundled,
    is_curated,
    read_bundled,
)
from coprod_kg.curation.inference import invalidate_inferred, sync_inferred
from coprod_kg.curation.model import Status
from coprod_kg.curation.prepare import Prepared as PreparedCase
from coprod_kg.curation.visibility import curated_flags
from coprod_kg.errors import BadInput, StoreBusy
from coprod_kg.loading.inference import Inference
from coprod_kg.loading.sources import (
    DATA_GRAPH_BASE,
    Parsed,
    Source,
    open_file,
    parse_into,
    plan_sources,
    read_source,
)
from coprod_kg.loading.storing import Storing
from coprod_kg.rdf.namespaces import INFERRED_GRAPH
from coprod_kg.reasoning.materialise import write_derived
from coprod_kg.storage.backend import Backend
from coprod_kg.storage.manifest import (
    Manifest,
    StagedManifests,
    sha256_files,
    with_unsettled,
)
from coprod_kg.storage.store import GraphRecord


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


@dataclass
class CasesImported:
    """What publishing the bundled cases changed (:func:`_import_cases`)."""

    loaded: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _import_cases(settings: Settings, backend: Backend, old: Manifest,
                  bundled: list[PreparedCase], ontology_changed: bool) -> CasesImported:
    """Publish the bundled cases (``bundled``: read by :func:`read_bundled`) through curation.

    Curation derives its manifest into a staged copy: the load writes the published state
    once, at its end. When the ontology changed, every published version's entailments are
    recomputed.
    """
    writer = backend.writer()
    if ontology_changed:
        invalidate_inferred(writer)
    imported = import_bundled(settings, backend, StagedManifests(old), bundled)
    sync_inferred(writer)
    done = CasesImported(skipped=list(imported.skipped))
    for info in imported.imported:
        (done.removed if info.status is Status.WITHDRAWN else done.loaded).append(info.graph)
    return done


def _mark(backend: Backend, names: Sequence[str], attempts: int = 5) -> None:
    """Mark ``names`` unsettled in the stored manifest as it is now (another writer of a remote
    server may have changed it since the load read it: the marks join its changes)."""
    manifests = backend.manifests()
    for _ in range(attempts):
        current = manifests.read() or Manifest()
        if manifests.mark(current, with_unsettled(current, names)):
            return
    raise StoreBusy("the manifest keeps changing under concurrent writers; load again")


def _store_and_import(settings: Settings, backend: Backend, old: Manifest,
                      storing: Storing, later: Sequence[Parsed], inference: Inference | None,
                      unsettled: Sequence[str], progress: bool
                      ) -> tuple[dict[str, GraphRecord], CasesImported, int | None]:
    """Read the bundled case files; mark the published graphs the load replaces or removes
    (``unsettled``) in the stored manifest; write the parsed sources not written yet
    (``later``: every source, bundled cases included, is parsed now, so published graphs may
    be replaced); publish the bundled cases; write what the rules derived (when they ran). The
    sources' records, what the cases changed, the entailments' count.

    Into the embedded store the sources are written in a thread (:class:`Storing`) while the
    cases are published: a big file goes through the engine's bulk loader (its own threads,
    no GIL) and the cases are mostly Python, so they share the machine. A write that failed
    already stops the load before the cases and before the entailments; one that fails later
    stops it before the manifest. The rules' thread is joined whatever fails."""
    writer = backend.writer()
    try:
        bundled = read_bundled(settings, progress)  # a broken case file changes nothing either
        if unsettled:  # before the first of them changes: a load that stops leaves the mark
            _mark(backend, unsettled)
        for item in later:
            if item.source.kind == "ontology":
                storing.write_now(item)  # the bundled cases read it from the store
            else:
                storing.add(item)
            item.data = item.triples = None  # the write has its own copy
        stored = {} if storing.threaded else storing.records()  # one request at a time
        storing.check()
        ontology_changed = any(p.source.kind == "ontology" for p in later)
        cases = _import_cases(settings, backend, old, bundled, ontology_changed)
    finally:
        derived = inference.finish() if inference is not None else None
    storing.check()
    inferred = (write_derived(writer, derived, str(INFERRED_GRAPH)) if derived is not None
                else None)
    return (storing.records() if storing.threaded else stored), cases, inferred


def _parse_sources(sources: Sequence[Source], old: Manifest, new: Manifest,
                   report: LoadReport, scratch: ox.Store, storing: Storing
                   ) -> tuple[list[Parsed], list[Parsed]]:
    """Parse every changed source into ``scratch`` (an unchanged one keeps its record in
    ``new``); the parsed sources, and those of them still to be written.

    Every changed source (and every bundled case file: :func:`_store_and_import`) is parsed
    before a published graph is replaced, so a syntax error changes nothing: a new graph may
    be written meanwhile (:meth:`Storing.early`), and is removed again.
    """
    parsed: list[Parsed] = []
    later: list[Parsed] = []  # written once every source is parsed
    complete = False
    try:
        for source in tqdm(sources, desc="parsing", unit="source",
                           disable=not storing.progress):
            digest = sha256_files(list(source.paths))
            previous = old.graphs.get(source.graph)
            if previous is not None and previous.sha256 == digest and not previous.unsettled:
                new.graphs[source.graph] = previous
                report.skipped.append(source.graph)
                continue
            if source.kind == "ontology":
                item = read_source(source, digest, scratch)
                started = False
            else:
                item = open_file(source, digest)
                started = storing.early(item, previous)
                parse_into(item, scratch)
            parsed.append(item)
            if not started:
                later.append(item)
            else:
                item.data = None  # the write has its own copy
        complete = True
    finally:
        if not complete:
            storing.discard()
    return parsed, later


def _refuse_keeping_unsettled(old: Manifest, sources: Sequence[Source]) -> None:
    """Refuse a load that would keep a graph a stopped load left part-written
    (``GraphRecord.unsettled``): an extra file's, not given again. Its triples in the store
    are not the published ones, and the rules would read them."""
    planned = {source.graph for source in sources}
    left = [name for name in old.unsettled_graphs() if name not in planned
            and name != str(INFERRED_GRAPH) and not name.startswith(DATA_GRAPH_BASE)]
    if left:
        raise BadInput(f"a load that stopped left {', '.join(left)} part-written: give its "
                       "file again (`coprod-kg load FILE`, with `--graph IRI` if it had one)")


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
    _refuse_keeping_unsettled(old, sources)
    new = Manifest()
    report = LoadReport()
    scratch = ox.Store()  # the parse fills it: the rules run there, without a read of the store
    writer = backend.writer()
    storing = Storing(writer, progress)
    parsed, later = _parse_sources(sources, old, new, report, scratch, storing)
    succeeded = False
    try:  # the writes started early are waited for, whatever happens next
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
        inference: Inference | None = None
        inferred_before = old.graphs.get(str(INFERRED_GRAPH))
        if (inputs != old.inference_inputs or inferred_before is None
                or inferred_before.unsettled):
            # The rules run on the scratch store in a thread while the graphs are written.
            public = [n for n, r in [*new.graphs.items(), *kept.items()] if r.public]
            inference = Inference.start(writer, scratch, parsed,
                                        [*public, *(p.source.graph for p in parsed)])
        unsettled = [name for name in [*(p.source.graph for p in parsed), *removed,
                                       *([str(INFERRED_GRAPH)] if inference is not None else [])]
                     if name in old.graphs]
        stored, cases, inferred = _store_and_import(settings, backend, old, storing, later,
                                                    inference, unsettled, progress)
        succeeded = True
    finally:
        if succeeded:
            storing.close()
        else:  # cancel what has not started; remove the new graphs started early
            storing.discard()
    for item in parsed:  # in the sources' order
        new.graphs[item.source.graph] = stored[item.source.graph]
        report.loaded.append(item.source.graph)
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
    # A graph changed without this load reporting it: a case version a failed load stored.
    new.generation = (uuid.uuid4().hex if report.changed or new.graphs != old.graphs
                      or not old.generation else old.generation)
    manifests.write(new)  # once, last: the store reads as loaded only once every graph is in
    return report
