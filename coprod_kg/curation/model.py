"""Plain values of the curation workflow: versions, outcomes of a submission, diffs, and IRIs.

IRIs (design, /work/briefs/curation.md): version ``n`` of case ``case:{slug}`` lives in the
named graph ``graph/case/{slug}/v{n}``; the private ``graph/curation`` holds one record per
version; the public ``graph/provenance`` holds PROV-O for published versions only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from coprod_kg.rdf.namespaces import AGENT, CASE, GRAPH
from coprod_kg.validation.shacl import ValidationResult

CURATION_GRAPH = str(GRAPH) + "curation"
PROVENANCE_GRAPH = str(GRAPH) + "provenance"
CASE_GRAPH_BASE = str(GRAPH) + "case/"
CASE_BASE = str(CASE)
#: How the name of a version's entailment graph ends.
INFERRED_SUFFIX = "/inferred"
#: The agent that submits and accepts the bundled case files of ``data/cases``.
EDITORS = "coprod-kg-editors"


class Status(StrEnum):
    """Where a version stands. ``superseded`` = published once, replaced by a newer version."""

    PENDING = "pending"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"

    @property
    def public(self) -> bool:
        """Visible in the history to everyone (not only to curators and the submitter)."""
        return self in (Status.PUBLISHED, Status.SUPERSEDED, Status.WITHDRAWN)


def case_slug(case_iri: str) -> str:
    """The slug of a case IRI.

    >>> case_slug("https://w3id.org/coprod/case/fixmystreet")
    'fixmystreet'
    """
    return case_iri[len(CASE_BASE):] if case_iri.startswith(CASE_BASE) else case_iri


def case_iri(slug: str) -> str:
    """The IRI of the case ``slug`` (an IRI is returned unchanged)."""
    return slug if slug.startswith(CASE_BASE) else CASE_BASE + slug


def version_graph(case: str, number: int) -> str:
    """The named graph of version ``number`` of ``case`` (IRI or slug).

    >>> version_graph("fixmystreet", 2)
    'https://w3id.org/coprod/graph/case/fixmystreet/v2'
    """
    return f"{CASE_GRAPH_BASE}{case_slug(case_iri(case))}/v{number}"


def inferred_graph(version: str) -> str:
    """The entailment graph of version graph ``version``."""
    return version + INFERRED_SUFFIX


def now() -> str:
    """The current time as an xsd:dateTime (UTC, milliseconds)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def agent_iri(user_name: str) -> str:
    """The PROV agent IRI of an account (``agent/{name}``)."""
    return str(AGENT) + user_name


@dataclass(frozen=True)
class VersionInfo:
    """One version of one case, as the curation graph records it."""

    case: str  #: the case IRI
    number: int
    status: Status
    submitter: str  #: account name
    submitted: str  #: ISO 8601 date-time
    content_hash: str  #: SHA-256 (hex) of the submitted bytes
    graph_digest: str  #: SHA-256 over the stored triples (see ``updates.graph_digest``)
    triples: int
    validated_with: str  #: digest of the ontology and shapes that validated it
    revision_of: int | None = None  #: number of the version it revises
    curator: str | None = None  #: who accepted, rejected or withdrew it
    decided: str | None = None  #: when
    reason: str | None = None  #: rejection reason, readable by the contributor
    source_name: str | None = None  #: file name or label given at submission
    inferred_triples: int | None = None  #: size of its entailment graph, once computed

    @property
    def graph(self) -> str:
        return version_graph(self.case, self.number)

    @property
    def inferred_graph(self) -> str:
        """The graph of this version's entailments (public exactly when the version is)."""
        return inferred_graph(self.graph)

    @property
    def slug(self) -> str:
        return case_slug(self.case)

    @property
    def etag(self) -> str:
        """The ETag of the case when this is its latest version (quoted, strong)."""
        return f'"v{self.number}-{self.status.value}-{self.content_hash[:16]}"'


@dataclass(frozen=True)
class SubmissionOutcome:
    """What a successful submission or PUT produced (warnings may remain in ``result``)."""

    version: VersionInfo
    result: ValidationResult
    created: bool  #: True when the case did not exist before

    @property
    def etag(self) -> str:
        return self.version.etag


@dataclass(frozen=True)
class Diff:
    """Triples a version adds and removes relative to the current published version.

    ``added``/``removed`` are sorted N-Triples lines (blank nodes keep their stored labels);
    ``added_turtle``/``removed_turtle`` are the same triples as Turtle, for people; the
    ``entailed_*`` fields list what the version's entailments add and remove.
    """

    case: str
    number: int
    base: int | None  #: the published version compared with (None: nothing published)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    added_turtle: str = ""
    removed_turtle: str = ""
    #: Entailed triples (derived by the load-time rules with the ontology, not asserted) that
    #: the version adds and removes, in the same two forms.
    entailed_added: list[str] = field(default_factory=list)
    entailed_removed: list[str] = field(default_factory=list)
    entailed_added_turtle: str = ""
    entailed_removed_turtle: str = ""

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.removed or self.entailed_added or self.entailed_removed)


@dataclass(frozen=True)
class ImportReport:
    """Outcome of a bulk import: versions created, and files refused (nothing stored then)."""

    imported: list[VersionInfo] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  #: unchanged files
    failures: dict[str, str] = field(default_factory=dict)  #: file -> reason
