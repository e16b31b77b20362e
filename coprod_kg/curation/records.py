"""Read the curation graph back into :class:`VersionInfo` records.

The graph is fetched whole (one read) and the records are joined here, in memory: a join of
eight OPTIONALs is what some SPARQL servers plan worst (Virtuoso 7 estimated it at 3,565 s with
123 cases and refused it), and the curation graph is small (about 20 triples per version).
"""

from __future__ import annotations

import pyoxigraph as ox

from coprod_kg.curation.model import CURATION_GRAPH, Status, VersionInfo, case_iri
from coprod_kg.rdf.namespaces import AGENT, CP, CPC
from coprod_kg.rdf.terms import Row, solution_rows
from coprod_kg.storage.store import GraphReader

_QUERY = f"""
PREFIX cp: <{CP}>
PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT ?v ?case ?n ?status ?superseded ?submitter ?submitted ?hash ?digest ?count ?shapes
       ?prev ?curator ?decided ?reason ?source ?withdrawer ?withdrawn ?why ?inferred
WHERE {{
  ?v a cp:CaseVersion ; cp:versionOf ?case ; cp:versionNumber ?n ; cp:curationStatus ?status ;
     cp:submittedBy ?submitter ; prov:generatedAtTime ?submitted ; cp:contentHash ?hash ;
     cp:graphDigest ?digest ; cp:tripleCount ?count ; cp:validatedWith ?shapes .
  OPTIONAL {{ ?v cp:superseded ?superseded }}
  OPTIONAL {{ ?v prov:wasRevisionOf ?prevGraph . ?prevGraph cp:versionNumber ?prev }}
  OPTIONAL {{ ?v cp:decidedBy ?curator ; cp:decidedAt ?decided }}
  OPTIONAL {{ ?v cp:rejectionReason ?reason }}
  OPTIONAL {{ ?v cp:sourceName ?source }}
  OPTIONAL {{ ?v cp:withdrawnBy ?withdrawer ; cp:withdrawnAt ?withdrawn }}
  OPTIONAL {{ ?v cp:withdrawalReason ?why }}
  OPTIONAL {{ ?v cp:inferredTripleCount ?inferred }}
  %s
}}
ORDER BY ?submitted ?case ?n
"""


def _text(row: Row, name: str) -> str | None:
    value = row.get(name)
    return None if value is None else value.value


def _agent(value: str | None) -> str | None:
    if value is None:
        return None
    return value[len(str(AGENT)):] if value.startswith(str(AGENT)) else value


def _status(row: Row) -> Status:
    status = Status(str(_text(row, "status"))[len(str(CPC)):])
    if status is Status.PUBLISHED and _text(row, "superseded") in ("true", "1"):  # by value
        return Status.SUPERSEDED
    return status


def _info(row: Row) -> VersionInfo:
    prev, inferred = _text(row, "prev"), _text(row, "inferred")
    status = _status(row)
    curator, decided = _agent(_text(row, "curator")), _text(row, "decided")
    reason = _text(row, "reason")
    if status is Status.WITHDRAWN:  # who withdrew it, when and why
        curator, decided = _agent(_text(row, "withdrawer")), _text(row, "withdrawn")
        reason = _text(row, "why")
    return VersionInfo(
        case=str(_text(row, "case")), number=int(str(_text(row, "n"))), status=status,
        submitter=str(_agent(_text(row, "submitter"))), submitted=str(_text(row, "submitted")),
        content_hash=str(_text(row, "hash")), graph_digest=str(_text(row, "digest")),
        triples=int(str(_text(row, "count"))), validated_with=str(_text(row, "shapes")),
        revision_of=int(prev) if prev is not None else None, curator=curator, decided=decided,
        reason=reason, source_name=_text(row, "source"),
        inferred_triples=int(inferred) if inferred is not None else None)


def versions(reader: GraphReader, case: str | None = None,
             status: Status | None = None) -> list[VersionInfo]:
    """Records of every version (of ``case`` if given), ordered by case then number."""
    filters = []
    if case is not None:
        filters.append(f"FILTER(?case = {ox.NamedNode(case_iri(case))})")
    if status is Status.PENDING:
        filters.append(f"FILTER(?status = <{CPC}pending>)")
    records = ox.Store()
    records.extend(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph())
                   for t in reader.graph_triples(CURATION_GRAPH))
    solutions = records.query(_QUERY % " ".join(filters))
    assert isinstance(solutions, ox.QuerySolutions)
    rows = solution_rows(solutions)
    found = [_info(row) for row in rows]
    if status is not None:
        found = [v for v in found if v.status is status]
    return sorted(found, key=lambda v: (v.case, v.number)) if case else found


def latest(reader: GraphReader, case: str) -> VersionInfo | None:
    """The highest-numbered version of ``case`` (any status), or ``None``."""
    found = versions(reader, case)
    return found[-1] if found else None


def published(found: list[VersionInfo]) -> VersionInfo | None:
    """The current published version among ``found`` (at most one)."""
    return next((v for v in found if v.status is Status.PUBLISHED), None)
