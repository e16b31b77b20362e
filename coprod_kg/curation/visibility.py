"""Who sees what of the curated cases: the manifest's public flags, and each reader's view.

The store is the source of truth: a version graph is public exactly when its version is the
current published one; the provenance graph is public, the curation graph never is. The
manifest's records are derived after every write (before acknowledging) and when the writer
starts, so a crash between a store transaction and the manifest write is repaired.

Through the API, a reader sees (:func:`visible`):

- curators: every version;
- anyone else: the published and superseded versions after the case's last withdrawal, plus
  their own pending and rejected versions. Everything else answers exactly as if it did not
  exist (same status, same body), so neither an ETag, nor an error, nor a status code tells an
  anonymous reader or another contributor that an unpublished version exists;
- a withdrawn case (nothing published since its withdrawal) is gone: ``410`` with a
  :class:`Tombstone` (title, when, why) instead of its content and history.

Version numbers are per case, so a contributor who proposes a case that exists only as someone
else's unpublished submission gets the next number (a gap, as rejected versions leave in the
public history), not ``1``: the number is the one thing such a proposal can learn.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

import pyoxigraph as ox

from coprod_kg.curation.accounts import Role, User
from coprod_kg.curation.model import (
    CASE_GRAPH_BASE,
    CURATION_GRAPH,
    PROVENANCE_GRAPH,
    Status,
    VersionInfo,
)
from coprod_kg.curation.records import versions
from coprod_kg.errors import Gone, NotFound, StoreBusy
from coprod_kg.rdf.namespaces import CP
from coprod_kg.rdf.terms import Row
from coprod_kg.storage.manifest import Manifest, ManifestStore
from coprod_kg.storage.store import GraphReader, GraphRecord


def _curated(name: str) -> bool:
    return name.startswith(CASE_GRAPH_BASE) or name in (CURATION_GRAPH, PROVENANCE_GRAPH)


def curated_records(found: list[VersionInfo], prov_triples: int,
                    curation_triples: int) -> dict[str, GraphRecord]:
    """The manifest records of every curated graph, with their public flags."""
    out: dict[str, GraphRecord] = {}
    for info in found:
        out[info.graph] = GraphRecord(info.graph, f"case {info.slug} v{info.number}",
                                      info.content_hash, info.triples,
                                      public=info.status is Status.PUBLISHED)
        if info.inferred_triples is not None:
            out[info.inferred_graph] = GraphRecord(
                info.inferred_graph, f"entailments of case {info.slug} v{info.number}",
                info.content_hash, info.inferred_triples, public=info.status is Status.PUBLISHED)
    if found:
        states = sorted(f"{v.graph} {v.status.value} {v.content_hash}" for v in found)
        public = [line for line, v in zip(states, sorted(found, key=lambda v: v.graph),
                                          strict=True) if v.status.public]
        out[CURATION_GRAPH] = GraphRecord(CURATION_GRAPH, "curation records", _digest(states),
                                          curation_triples, public=False)
        out[PROVENANCE_GRAPH] = GraphRecord(PROVENANCE_GRAPH, "provenance of published "
                                            "versions", _digest(public), prov_triples,
                                            public=True)
    return out


def _digest(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def count_triples(reader: GraphReader, graph: str) -> int:
    """Triples of ``graph``, not counting write markers (:mod:`coprod_kg.curation.journal`),
    which come and go without changing what the graph records."""
    rows = reader.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} "
                         f"FILTER(?p != <{CP}writeId>) }}")
    value = rows[0].get("n") if rows else None
    return int(value.value) if value is not None else 0


def derive_manifest(manifests: ManifestStore, reader: GraphReader,
                    attempts: int = 5) -> Manifest:
    """Rewrite the manifest's curated records from ``reader``; new generation if changed.

    ``manifests`` is the manifest file of the embedded store or the remote server's manifest
    graph (:class:`~coprod_kg.storage.manifest.ManifestStore`). The write is conditional on the
    manifest read: if another writer process replaced it meanwhile (remote back end), everything
    is read and derived again, so a stale derivation never overwrites a newer one.
    """
    for _ in range(attempts):
        current = manifests.read()
        manifest = current or Manifest()
        records = curated_records(versions(reader), count_triples(reader, PROVENANCE_GRAPH),
                                  count_triples(reader, CURATION_GRAPH))
        others = {n: r for n, r in manifest.graphs.items() if not _curated(n)}
        old = {n: r for n, r in manifest.graphs.items() if _curated(n)}
        if old == records and manifest.generation:
            return manifest
        updated = Manifest({**others, **records}, manifest.inference_inputs, uuid.uuid4().hex)
        if manifests.write_if(current, updated):
            return updated
    raise StoreBusy("the manifest keeps changing under concurrent writers; try again")


class _CurationGraphReader:
    """Reads of the curation graph only: its queries name the graph, so the dataset is that
    graph alone (no request listing every graph of the server first)."""

    def __init__(self, reader: GraphReader) -> None:
        self.reader = reader

    def select(self, query: str, default_graphs: Sequence[str] | None = None) -> list[Row]:
        return self.reader.select(query, [CURATION_GRAPH])

    def construct(self, query: str, default_graphs: Sequence[str] | None = None
                  ) -> list[ox.Triple]:
        return self.reader.construct(query, [CURATION_GRAPH])

    def graph_triples(self, name: str) -> list[ox.Triple]:
        return self.reader.graph_triples(name)


def curated_flags(manifest: Manifest, reader: GraphReader) -> Manifest:
    """``manifest`` with each case version's graphs public exactly when the curation graph says
    the version is published.

    A curation change is ONE update request that changes the version graphs and their curation
    records together, so reading the flags from the records makes a publication, supersession
    or withdrawal visible atomically with it, whatever happens before the manifest graph is
    rewritten (:func:`derive_manifest`, right after). The remote back end reads its manifest
    through this (:class:`~coprod_kg.storage.backend.Backend`'s ``manifest_view``).
    """
    graphs = dict(manifest.graphs)
    for info in versions(_CurationGraphReader(reader)):
        public = info.status is Status.PUBLISHED
        for name, triples in ((info.graph, info.triples),
                              (info.inferred_graph, info.inferred_triples)):
            record = graphs.get(name)
            if record is not None:
                graphs[name] = replace(record, public=public)
            elif public and triples is not None:
                graphs[name] = GraphRecord(name, f"case {info.slug} v{info.number}",
                                           info.content_hash, triples, public=True)
    return replace(manifest, graphs=graphs)


# --- what each reader sees ------------------------------------------------------------------

_TITLE = "http://purl.org/dc/terms/title"


@dataclass(frozen=True)
class Tombstone:
    """What stays public of a withdrawn case: its title, when and why it was withdrawn."""

    case: str
    title: str | None
    withdrawn: str | None
    reason: str | None
    version: int  #: the version that was withdrawn

    def as_dict(self) -> dict[str, str | int | None]:
        """The JSON object sent with a 410."""
        return {"case": self.case, "title": self.title, "withdrawn": self.withdrawn,
                "reason": self.reason, "version": self.version}

    def message(self) -> str:
        """One sentence for people (the plain-text 410 body)."""
        title = f" ({self.title})" if self.title else ""
        why = self.reason or "no reason was recorded"
        return f"the case {self.case}{title} was withdrawn on {self.withdrawn}: {why}"


def is_curator(viewer: User | None) -> bool:
    """Whether ``viewer`` sees every version."""
    return viewer is not None and viewer.role is Role.CURATOR


def last_withdrawal(found: list[VersionInfo]) -> VersionInfo | None:
    """The highest-numbered withdrawn version of a case's versions, if any."""
    return next((v for v in reversed(found) if v.status is Status.WITHDRAWN), None)


def withdrawn_now(found: list[VersionInfo]) -> VersionInfo | None:
    """The withdrawal in force (nothing published since), if the case is gone."""
    gone = last_withdrawal(found)
    if gone is None or any(v.status is Status.PUBLISHED for v in found):
        return None
    return gone


def may_see(info: VersionInfo, viewer: User | None, found: list[VersionInfo]) -> bool:
    """Whether ``viewer`` may see ``info`` (one of the case's versions ``found``)."""
    if is_curator(viewer):
        return True
    if viewer is not None and viewer.name == info.submitter and not info.status.public:
        return True  # their own pending or rejected version
    gone = last_withdrawal(found)
    return info.status in (Status.PUBLISHED, Status.SUPERSEDED) and (
        gone is None or info.number > gone.number)


def visible(found: list[VersionInfo], viewer: User | None) -> list[VersionInfo]:
    """The versions among ``found`` (one case, by number) that ``viewer`` sees."""
    return [v for v in found if may_see(v, viewer, found)]


def case_title(reader: GraphReader | None, info: VersionInfo) -> str | None:
    """The case's ``dcterms:title`` in version ``info`` (English first), if any."""
    if reader is None:
        return None
    rows = reader.select(f"SELECT ?t WHERE {{ GRAPH {ox.NamedNode(info.graph)} {{ "
                         f"{ox.NamedNode(info.case)} <{_TITLE}> ?t }} }}", default_graphs=None)
    titles = [row["t"] for row in rows if "t" in row]
    english = [t for t in titles if isinstance(t, ox.Literal) and
               (t.language or "").lower().startswith("en")]
    chosen = (english or titles or [None])[0]
    return None if chosen is None else chosen.value


def tombstone(reader: GraphReader | None, gone: VersionInfo) -> Tombstone:
    """The tombstone of the case whose withdrawn version is ``gone``."""
    return Tombstone(gone.case, case_title(reader, gone), gone.decided, gone.reason,
                     gone.number)


def gone_error(stone: Tombstone) -> Gone:
    """The 410 of a withdrawn case."""
    return Gone(stone.message(), stone.as_dict())


def refusal(case: str, found: list[VersionInfo], viewer: User | None,
            reader: GraphReader | None, number: int | None = None) -> Gone | NotFound:
    """What to answer ``viewer`` for a case (or its version ``number``) they may not see.

    410 with the tombstone when the case is withdrawn (or the version was withdrawn with it),
    else exactly the 404 of a case or version that never existed.
    """
    if not is_curator(viewer):
        gone = withdrawn_now(found)
        earlier = last_withdrawal(found)
        if number is not None and gone is None and earlier is not None \
                and number <= earlier.number:
            gone = earlier  # a version taken down with an earlier withdrawal
        if gone is not None:
            return gone_error(tombstone(reader, gone))
    if number is not None:
        return NotFound(f"no version {number} of {case}")
    return NotFound(f"no case {case}")
