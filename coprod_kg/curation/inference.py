"""Entailments of curated case versions: one graph per published version, public with it.

A version's entailments depend only on the ontology and the version's own triples (the rules of
:mod:`coprod_kg.reasoning.entailment` join data with the schema, and a record's defined-class
memberships with its own codings), so each published version gets its graph ``{version
graph}/inferred`` when it is published, and loses it when it is superseded or withdrawn. Entailments
are derived data: they are written after the version's atomic update, and :func:`sync_inferred`
repairs a crash in between by computing every published version that still lacks them.
"""

from __future__ import annotations

from collections.abc import Iterable

from coprod_kg.curation.model import CURATION_GRAPH, Status, VersionInfo
from coprod_kg.curation.records import versions
from coprod_kg.rdf.namespaces import CP, ONTOLOGY_GRAPH
from coprod_kg.reasoning.materialise import materialise_each
from coprod_kg.storage.store import GraphWriter


def _record(writer: GraphWriter, version: str, count: int | None) -> None:
    """Set (or clear) the entailment count on the version's curation record."""
    insert = "" if count is None else (
        f'INSERT DATA {{ GRAPH <{CURATION_GRAPH}> {{ <{version}> <{CP}inferredTripleCount> '
        f'"{count}"^^<http://www.w3.org/2001/XMLSchema#integer> }} }} ;')
    writer.update(f"""DELETE WHERE {{ GRAPH <{CURATION_GRAPH}> {{
        <{version}> <{CP}inferredTripleCount> ?n }} }} ; {insert}""".rstrip(" ;"))


def invalidate_inferred(writer: GraphWriter) -> None:
    """Forget every version's entailments (the ontology changed): the next sync recomputes."""
    for info in versions(writer):
        if info.inferred_triples is not None:
            writer.update(f"DROP SILENT GRAPH <{info.inferred_graph}>")
            _record(writer, info.graph, None)


def published_graphs(found: Iterable[VersionInfo]) -> set[str]:
    """The version graphs that are public now."""
    return {v.graph for v in found if v.status is Status.PUBLISHED}


def sync_inferred(writer: GraphWriter, before: set[str] | None = None) -> int:
    """Give every published version its entailments and take them from the others.

    ``before`` (the published graphs before a change) limits the removals to versions that were
    public; without it, every non-published version is cleaned. Returns how many versions were
    (re)computed.
    """
    found = versions(writer)
    now_public = published_graphs(found)
    todo = [info for info in found
            if info.graph in now_public and info.inferred_triples is None]
    counts = materialise_each(writer, str(ONTOLOGY_GRAPH),
                              [(info.graph, info.inferred_graph) for info in todo])
    for info, count in zip(todo, counts, strict=True):
        _record(writer, info.graph, count)
    for info in found:
        if info.graph not in now_public and info.inferred_triples is not None and (
                before is None or info.graph in before):
            writer.update(f"DROP SILENT GRAPH <{info.inferred_graph}>")
            _record(writer, info.graph, None)
    return len(todo)
