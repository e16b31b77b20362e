"""Pure functions that build each curation change as ONE SPARQL 1.1 Update request.

A request may hold several operations separated by ``;``; the store applies the request as one
transaction (pyoxigraph ``Store.update``; a remote SPARQL endpoint receives the same text in one
request). Nothing here touches a store.

Curation-graph vocabulary (private graph, terms of this module): ``cp:CaseVersion``,
``cp:versionOf``, ``cp:versionNumber``, ``cp:curationStatus``, ``cp:superseded``,
``cp:submittedBy``, ``cp:contentHash``, ``cp:graphDigest``, ``cp:tripleCount``,
``cp:validatedWith``, ``cp:decidedBy``, ``cp:decidedAt``, ``cp:rejectionReason``,
``cp:sourceName``, ``cp:withdrawnBy``, ``cp:withdrawnAt``, ``cp:withdrawalReason``, plus
``prov:generatedAtTime`` and ``prov:wasRevisionOf``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import pyoxigraph as ox

from coprod_kg.curation.model import (
    CURATION_GRAPH,
    PROVENANCE_GRAPH,
    Status,
    VersionInfo,
    agent_iri,
    version_graph,
)
from coprod_kg.rdf.namespaces import CP, CPC

PROV = "http://www.w3.org/ns/prov#"
XSD = "http://www.w3.org/2001/XMLSchema#"
DCTERMS = "http://purl.org/dc/terms/"
#: Roles of the agents in a published version's qualified attributions.
SUBMITTER_ROLE = str(CPC) + "submitter-role"
CURATOR_ROLE = str(CPC) + "accepting-curator-role"


def _status_iri(status: Status) -> str:
    stored = Status.PUBLISHED if status is Status.SUPERSEDED else status
    return f"<{CPC}{stored.value}>"


def literal(value: str | int | bool, datatype: str | None = None) -> str:
    """A SPARQL/N-Triples literal, escaped by the engine's own serialiser."""
    if isinstance(value, bool):
        return str(ox.Literal("true" if value else "false", datatype=ox.NamedNode(XSD + "boolean")))
    if isinstance(value, int):
        return str(ox.Literal(str(value), datatype=ox.NamedNode(XSD + "integer")))
    if datatype:
        return str(ox.Literal(value, datatype=ox.NamedNode(datatype)))
    return str(ox.Literal(value))


def _time(value: str) -> str:
    return literal(value, XSD + "dateTime")


def term_nt(term: object, bnode_prefix: str = "") -> str:
    """One term in N-Triples syntax; blank-node labels get ``bnode_prefix`` (scoped per file)."""
    if isinstance(term, ox.BlankNode):
        return f"_:{bnode_prefix}{term.value}"
    return str(term)


def ntriples_lines(triples: Iterable[ox.Triple], bnode_prefix: str = "") -> list[str]:
    """The triples as sorted N-Triples lines (without the final newline)."""
    return sorted(f"{term_nt(t.subject, bnode_prefix)} {t.predicate} "
                  f"{term_nt(t.object, bnode_prefix)} ." for t in triples)


def graph_digest(triples: Iterable[ox.Triple]) -> str:
    """SHA-256 over the sorted N-Triples lines, blank-node labels blanked out.

    Labels change when a graph is stored, so they are left out; the digest is used to check
    that a stored version graph is complete (crash safety), not as a canonical hash.
    """
    lines = sorted(f"{_anon(t.subject)} {t.predicate} {_anon(t.object)} ." for t in triples)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def _anon(term: object) -> str:
    return "_:b" if isinstance(term, ox.BlankNode) else str(term)


@dataclass(frozen=True)
class NewVersion:
    """A version to insert: its record (status pending or published) and its triples."""

    info: VersionInfo
    triples: Sequence[ox.Triple]
    previous: VersionInfo | None = None  #: the published version it supersedes, if any


def _record(info: VersionInfo) -> str:
    g = f"<{info.graph}>"
    lines = [
        f"{g} a <{CP}CaseVersion> ; <{CP}versionOf> <{info.case}> ;",
        f"  <{CP}versionNumber> {literal(info.number)} ;",
        f"  <{CP}curationStatus> {_status_iri(info.status)} ;",
        f"  <{CP}submittedBy> <{agent_iri(info.submitter)}> ;",
        f"  <{PROV}generatedAtTime> {_time(info.submitted)} ;",
        f"  <{CP}contentHash> {literal(info.content_hash)} ;",
        f"  <{CP}graphDigest> {literal(info.graph_digest)} ;",
        f"  <{CP}tripleCount> {literal(info.triples)} ;",
        f"  <{CP}validatedWith> {literal(info.validated_with)} .",
    ]
    if info.revision_of is not None:
        lines.append(f"{g} <{PROV}wasRevisionOf> <{version_graph(info.case, info.revision_of)}> .")
    if info.source_name:
        lines.append(f"{g} <{CP}sourceName> {literal(info.source_name)} .")
    if info.curator and info.decided:
        lines.append(_decision(info.graph, info.curator, info.decided))
    return "\n".join(lines)


def _decision(graph: str, curator: str, when: str) -> str:
    return (f"<{graph}> <{CP}decidedBy> <{agent_iri(curator)}> ; "
            f"<{CP}decidedAt> {_time(when)} .")


def provenance(info: VersionInfo) -> str:
    """PROV-O triples (Turtle-like block for INSERT DATA) of a version being published."""
    assert info.curator is not None and info.decided is not None
    g = f"<{info.graph}>"
    submitter, curator = agent_iri(info.submitter), agent_iri(info.curator)
    lines = [
        f"{g} a <{PROV}Entity> ; <{PROV}specializationOf> <{info.case}> ;",
        f"  <{PROV}wasAttributedTo> <{submitter}>, <{curator}> ;",
        f"  <{PROV}qualifiedAttribution> [ a <{PROV}Attribution> ; <{PROV}agent> <{submitter}> ;"
        f" <{PROV}hadRole> <{SUBMITTER_ROLE}> ] ,",
        f"    [ a <{PROV}Attribution> ; <{PROV}agent> <{curator}> ;"
        f" <{PROV}hadRole> <{CURATOR_ROLE}> ] ;",
        f"  <{PROV}generatedAtTime> {_time(info.submitted)} ;",
        f"  <{DCTERMS}issued> {_time(info.decided)} ;",
        f"  <{CP}validatedWith> {literal(info.validated_with)} ;",
        f"  <{CP}contentHash> {literal(info.content_hash)} .",
    ]
    if info.revision_of is not None:
        lines.append(f"{g} <{PROV}wasRevisionOf> <{version_graph(info.case, info.revision_of)}> .")
    return "\n".join(lines)


def _supersede(previous: VersionInfo) -> str:
    """The curation-graph triple turning ``previous`` into a superseded version."""
    return f"<{previous.graph}> <{CP}superseded> {literal(True)} ."


def insert_versions(versions: Sequence[NewVersion]) -> str:
    """ONE request inserting new versions (graphs, records, provenance of published ones)."""
    inserts: list[str] = []
    curation: list[str] = []
    prov: list[str] = []
    for index, version in enumerate(versions):
        body = "\n".join(f"{line}" for line in
                         ntriples_lines(version.triples, bnode_prefix=f"v{index}x"))
        inserts.append(f"GRAPH <{version.info.graph}> {{\n{body}\n}}")
        curation.append(_record(version.info))
        if version.info.status is Status.PUBLISHED:
            prov.append(provenance(version.info))
            if version.previous is not None:
                curation.append(_supersede(version.previous))
    blocks = [*inserts, f"GRAPH <{CURATION_GRAPH}> {{\n" + "\n".join(curation) + "\n}"]
    if prov:
        blocks.append(f"GRAPH <{PROVENANCE_GRAPH}> {{\n" + "\n".join(prov) + "\n}")
    return "INSERT DATA {\n" + "\n".join(blocks) + "\n}"


def accept(info: VersionInfo, curator: str, when: str, previous: VersionInfo | None) -> str:
    """ONE request publishing pending ``info`` (``previous``, if any, becomes superseded)."""
    published = _with(info, curator, when)
    g = f"<{info.graph}>"
    insert = [f"{g} <{CP}curationStatus> {_status_iri(Status.PUBLISHED)} .",
              _decision(info.graph, curator, when)]
    if previous is not None:
        insert.append(_supersede(previous))
    return (f"DELETE DATA {{ GRAPH <{CURATION_GRAPH}> {{ {g} <{CP}curationStatus> "
            f"{_status_iri(Status.PENDING)} . }} }} ;\n"
            f"INSERT DATA {{\nGRAPH <{CURATION_GRAPH}> {{\n" + "\n".join(insert) + "\n}\n"
            f"GRAPH <{PROVENANCE_GRAPH}> {{\n{provenance(published)}\n}}\n}}")


def reject(info: VersionInfo, curator: str, when: str, reason: str) -> str:
    """ONE request rejecting pending ``info`` with ``reason``."""
    g = f"<{info.graph}>"
    return (f"DELETE DATA {{ GRAPH <{CURATION_GRAPH}> {{ {g} <{CP}curationStatus> "
            f"{_status_iri(Status.PENDING)} . }} }} ;\n"
            f"INSERT DATA {{ GRAPH <{CURATION_GRAPH}> {{\n"
            f"{g} <{CP}curationStatus> {_status_iri(Status.REJECTED)} ; "
            f"<{CP}rejectionReason> {literal(reason)} .\n"
            f"{_decision(info.graph, curator, when)}\n}} }}")


def withdraw(info: VersionInfo, user: str, when: str, reason: str | None = None) -> str:
    """ONE request withdrawing the published version ``info`` (its provenance is closed).

    ``reason`` (``cp:withdrawalReason``) is shown on the case's tombstone.
    """
    g = f"<{info.graph}>"
    why = f"{g} <{CP}withdrawalReason> {literal(reason)} .\n" if reason else ""
    return (f"DELETE DATA {{ GRAPH <{CURATION_GRAPH}> {{ {g} <{CP}curationStatus> "
            f"{_status_iri(Status.PUBLISHED)} . }} }} ;\n"
            f"INSERT DATA {{\nGRAPH <{CURATION_GRAPH}> {{\n"
            f"{g} <{CP}curationStatus> {_status_iri(Status.WITHDRAWN)} ; "
            f"<{CP}withdrawnBy> <{agent_iri(user)}> ; <{CP}withdrawnAt> {_time(when)} .\n"
            f"{why}}}\n"
            f"GRAPH <{PROVENANCE_GRAPH}> {{ {g} <{PROV}invalidatedAtTime> {_time(when)} . }}\n}}")


def _with(info: VersionInfo, curator: str, when: str) -> VersionInfo:
    return replace(info, status=Status.PUBLISHED, curator=curator, decided=when)

