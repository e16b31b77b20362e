"""Pure functions that build each curation change as a :class:`StagedUpdate`.

A change has two parts: new graphs, each under a name nothing has used yet (a new version
``graph/case/{slug}/v{n}``), and ONE operation that makes them visible by changing the curation
records readers consult (``DELETE {…} INSERT {…} WHERE {}``, plus the public provenance). The
embedded store runs the whole text as one transaction (pyoxigraph ``Store.update``); the remote
writer (:mod:`coprod_kg.storage.remote.writer`) writes the graphs first over the Graph Store
protocol, then sends the one operation, so it relies neither on the atomicity of a
multi-operation request (a SHOULD that Virtuoso does not honour) nor on a server accepting large
``INSERT DATA`` requests. No update holds a blank node (Virtuoso refuses them in
``INSERT DATA``): structure such as PROV attributions gets minted IRIs under the version's IRI.
Nothing here touches a store.

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
from coprod_kg.storage.staged_update import Quad, StagedUpdate
from coprod_kg.storage.staged_update import combine as combine
from coprod_kg.storage.staged_update import ntriples_lines as ntriples_lines

PROV = "http://www.w3.org/ns/prov#"
XSD = "http://www.w3.org/2001/XMLSchema#"
DCTERMS = "http://purl.org/dc/terms/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
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


def _record(info: VersionInfo) -> list[str]:
    g = f"<{info.graph}>"
    lines = [
        f"{g} <{RDF_TYPE}> <{CP}CaseVersion> .",
        f"{g} <{CP}versionOf> <{info.case}> .",
        f"{g} <{CP}versionNumber> {literal(info.number)} .",
        f"{g} <{CP}curationStatus> {_status_iri(info.status)} .",
        f"{g} <{CP}submittedBy> <{agent_iri(info.submitter)}> .",
        f"{g} <{PROV}generatedAtTime> {_time(info.submitted)} .",
        f"{g} <{CP}contentHash> {literal(info.content_hash)} .",
        f"{g} <{CP}graphDigest> {literal(info.graph_digest)} .",
        f"{g} <{CP}tripleCount> {literal(info.triples)} .",
        f"{g} <{CP}validatedWith> {literal(info.validated_with)} .",
    ]
    if info.revision_of is not None:
        lines.append(f"{g} <{PROV}wasRevisionOf> <{version_graph(info.case, info.revision_of)}> .")
    if info.source_name:
        lines.append(f"{g} <{CP}sourceName> {literal(info.source_name)} .")
    if info.curator and info.decided:
        lines.extend(_decision(info.graph, info.curator, info.decided))
    return lines


def _decision(graph: str, curator: str, when: str) -> list[str]:
    return [f"<{graph}> <{CP}decidedBy> <{agent_iri(curator)}> .",
            f"<{graph}> <{CP}decidedAt> {_time(when)} ."]


def attribution_iri(version: str, index: int) -> str:
    """The minted IRI of a version's ``index``-th qualified attribution (no blank nodes).

    >>> attribution_iri("https://w3id.org/coprod/graph/case/x/v1", 1)
    'https://w3id.org/coprod/graph/case/x/v1#attribution-1'
    """
    return f"{version}#attribution-{index}"


def provenance(info: VersionInfo) -> list[str]:
    """PROV-O triples (N-Triples lines) of a version being published."""
    assert info.curator is not None and info.decided is not None
    g = f"<{info.graph}>"
    submitter, curator = agent_iri(info.submitter), agent_iri(info.curator)
    lines = [
        f"{g} <{RDF_TYPE}> <{PROV}Entity> .",
        f"{g} <{PROV}specializationOf> <{info.case}> .",
        f"{g} <{PROV}wasAttributedTo> <{submitter}> .",
        f"{g} <{PROV}wasAttributedTo> <{curator}> .",
    ]
    for index, (agent, role) in enumerate(((submitter, SUBMITTER_ROLE),
                                           (curator, CURATOR_ROLE)), start=1):
        a = f"<{attribution_iri(info.graph, index)}>"
        lines += [f"{g} <{PROV}qualifiedAttribution> {a} .",
                  f"{a} <{RDF_TYPE}> <{PROV}Attribution> .",
                  f"{a} <{PROV}agent> <{agent}> .",
                  f"{a} <{PROV}hadRole> <{role}> ."]
    lines += [
        f"{g} <{PROV}generatedAtTime> {_time(info.submitted)} .",
        f"{g} <{DCTERMS}issued> {_time(info.decided)} .",
        f"{g} <{CP}validatedWith> {literal(info.validated_with)} .",
        f"{g} <{CP}contentHash> {literal(info.content_hash)} .",
    ]
    if info.revision_of is not None:
        lines.append(f"{g} <{PROV}wasRevisionOf> <{version_graph(info.case, info.revision_of)}> .")
    return lines


def _supersede(previous: VersionInfo) -> str:
    """The curation-graph triple turning ``previous`` into a superseded version."""
    return f"<{previous.graph}> <{CP}superseded> {literal(True)} ."


def insert_versions(versions: Sequence[NewVersion]) -> StagedUpdate:
    """New versions: their graphs, then their records (and provenance of published ones)."""
    insert: list[Quad] = []
    for version in versions:
        insert += [(CURATION_GRAPH, line) for line in _record(version.info)]
        if version.info.status is Status.PUBLISHED:
            insert += [(PROVENANCE_GRAPH, line) for line in provenance(version.info)]
            if version.previous is not None:
                insert.append((CURATION_GRAPH, _supersede(version.previous)))
    graphs = [(v.info.graph, v.triples) for v in versions]
    return StagedUpdate(graphs, (), insert)


def _status(info: VersionInfo, status: Status) -> Quad:
    return (CURATION_GRAPH, f"<{info.graph}> <{CP}curationStatus> {_status_iri(status)} .")


def accept(info: VersionInfo, curator: str, when: str,
           previous: VersionInfo | None) -> StagedUpdate:
    """Publish pending ``info`` (``previous``, if any, becomes superseded)."""
    published = _with(info, curator, when)
    insert = [_status(info, Status.PUBLISHED)]
    insert += [(CURATION_GRAPH, line) for line in _decision(info.graph, curator, when)]
    if previous is not None:
        insert.append((CURATION_GRAPH, _supersede(previous)))
    insert += [(PROVENANCE_GRAPH, line) for line in provenance(published)]
    return StagedUpdate((), [_status(info, Status.PENDING)], insert)


def reject(info: VersionInfo, curator: str, when: str, reason: str) -> StagedUpdate:
    """Reject pending ``info`` with ``reason``."""
    insert = [_status(info, Status.REJECTED),
              (CURATION_GRAPH, f"<{info.graph}> <{CP}rejectionReason> {literal(reason)} .")]
    insert += [(CURATION_GRAPH, line) for line in _decision(info.graph, curator, when)]
    return StagedUpdate((), [_status(info, Status.PENDING)], insert)


def withdraw(info: VersionInfo, user: str, when: str,
             reason: str | None = None) -> StagedUpdate:
    """Withdraw the published version ``info`` (its provenance is closed).

    ``reason`` (``cp:withdrawalReason``) is shown on the case's tombstone.
    """
    g = f"<{info.graph}>"
    insert = [_status(info, Status.WITHDRAWN),
              (CURATION_GRAPH, f"{g} <{CP}withdrawnBy> <{agent_iri(user)}> ."),
              (CURATION_GRAPH, f"{g} <{CP}withdrawnAt> {_time(when)} ."),
              (PROVENANCE_GRAPH, f"{g} <{PROV}invalidatedAtTime> {_time(when)} .")]
    if reason:  # shown on the case's tombstone
        insert.append((CURATION_GRAPH, f"{g} <{CP}withdrawalReason> {literal(reason)} ."))
    return StagedUpdate((), [_status(info, Status.PUBLISHED)], insert)


def _with(info: VersionInfo, curator: str, when: str) -> VersionInfo:
    return replace(info, status=Status.PUBLISHED, curator=curator, decided=when)
