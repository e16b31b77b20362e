"""The curation service: submit, review, revise and withdraw case records, with history.

Every state change is ONE SPARQL Update (built by :mod:`coprod_kg.curation.updates`) executed by a
:class:`~coprod_kg.storage.embedded.writer.GraphWriter`; then the store is flushed, the manifest's
public flags are re-derived from the curation graph, the audit log is written, and only then does
the method return (the acknowledgement).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pyoxigraph as ox

from coprod_kg.config import Settings
from coprod_kg.curation import confinement, records, updates
from coprod_kg.curation.accounts import User
from coprod_kg.curation.base import CurationBase
from coprod_kg.curation.bulk import Document, import_documents
from coprod_kg.curation.diffing import diff_versions
from coprod_kg.curation.model import (
    Diff,
    ImportReport,
    Status,
    SubmissionOutcome,
    VersionInfo,
    case_iri,
    now,
)
from coprod_kg.curation.prepare import prepare
from coprod_kg.curation.visibility import Tombstone, tombstone, visible, withdrawn_now
from coprod_kg.errors import (
    BadInput,
    Conflict,
    NotFound,
    OutsideCase,
    PreconditionFailed,
    PreconditionRequired,
    Unprocessable,
)
from coprod_kg.rdf.parsing import parse_rdf
from coprod_kg.rdf.source_lines import SourceText
from coprod_kg.storage.backend import Backend
from coprod_kg.validation.shacl import ValidationResult, validate_graph


def _same_etag(given: str, current: str) -> bool:
    candidates = [t.strip().removeprefix("W/") for t in given.split(",")]
    return current in candidates or "*" in candidates


def case_iri_of(case: str) -> str:
    """A case IRI from an IRI or a slug."""
    return case_iri(case)


class Curation(CurationBase):
    """One store's curation workflow. Thread-safe: writes are serialised by a lock."""

    @classmethod
    def open(cls, settings: Settings, backend: Backend | None = None,
             repair: bool = True) -> Curation:
        """A service over ``backend`` (or a back end of its own, released by :meth:`close`);
        the writer is opened at the first read or write.

        With ``repair`` (and a loaded store) the writer is opened now, which first finishes
        interrupted writes and re-derives entailments and the manifest's public flags from the
        curation graph (a crash between a store write and the manifest write); otherwise that
        happens at the first read or write.
        """
        service = cls(settings, backend)
        if repair:
            service.repair()
        return service

    def validate(self, data: bytes, media_type: str,
                 source_name: str | None = None) -> ValidationResult:
        """Validate without storing (ParseError/UnsupportedMediaType/BadInput on bad input)."""
        graph = parse_rdf(data, media_type, source_name)
        text = data.decode("utf-8", errors="replace")
        return validate_graph(graph, context=self.validation_context(),
                              texts=[SourceText(source_name, text)])

    def recheck_minted(self, case: str, triples: Sequence[ox.Triple]) -> None:
        """Under the write lock: what the record mints is still described nowhere else.

        The full check ran before validation; only this part can change meanwhile (another
        record minting the same resource was published).
        """
        reader = self._published()
        offences = [] if reader is None else confinement.taken_offences(
            reader, self._public(), triples, case)
        if offences:
            raise OutsideCase(case, offences)

    def submit(self, data: bytes, media_type: str, user: User, source_name: str | None = None,
               publish: bool = False) -> SubmissionOutcome:
        """Store a NEW case as version 1: pending, or published if ``publish`` and curator.

        Raises ParseError (400), UnsupportedMediaType (415), Unprocessable (422: identity,
        empty, blank-node-only), OutsideCase (422: a triple, or an entailment, about something
        other than the case), ValidationFailed (422, nothing stored), Conflict (409: the
        case exists, use PUT), Forbidden (403: publish by a non-curator).
        """
        if publish:
            self._require_curator(user, "publish directly")
        prepared = prepare(data, media_type, source_name, self.validation_context(),
                           self.confine)
        with self.lock:
            number = self.new_case_number(prepared.case, user)  # Conflict if user sees it
            self.recheck_minted(prepared.case, prepared.triples)
            info = self.new_version(prepared, user, number, publish, None)
            request = updates.insert_versions([updates.NewVersion(info, prepared.triples)])
            self.commit(request, user.name, "publish" if publish else "submit", info.graph)
        assert prepared.result is not None
        return SubmissionOutcome(info, prepared.result, created=True)

    def put(self, case_iri: str, data: bytes, media_type: str, user: User,
            if_match: str | None, publish: bool = False,
            source_name: str | None = None) -> SubmissionOutcome:
        """Store a new version of an EXISTING case (pending, or published as for submit).

        NotFound (404) for a case ``user`` cannot see (exactly as for an unknown one), Gone
        (410) for a withdrawn one (non-curators), PreconditionRequired (428) without
        ``if_match``, PreconditionFailed (412) if it is not the ETag of the latest version
        ``user`` sees; Unprocessable if the record's case IRI is not ``case_iri``; otherwise as
        :meth:`submit`. The new version revises that latest visible version.
        """
        if if_match is None:
            raise PreconditionRequired("send If-Match with the case's current ETag")
        if publish:
            self._require_curator(user, "publish directly")
        target = case_iri_of(case_iri)
        self._visible(target, user)
        prepared = prepare(data, media_type, source_name, self.validation_context(),
                           self.confine)
        if prepared.case != target:
            raise Unprocessable(f"the record describes {prepared.case}, not {target}")
        with self.lock:
            found = self._versions(target)
            latest = self._visible(target, user, found)[-1]
            if not _same_etag(if_match, latest.etag):
                raise PreconditionFailed(f"the case changed since {if_match}: its current ETag "
                                         f"is {latest.etag}; fetch it and retry")
            self.recheck_minted(prepared.case, prepared.triples)
            info = self.new_version(prepared, user, found[-1].number + 1, publish,
                                    latest.number)
            previous = records.published(found) if publish else None
            request = updates.insert_versions([updates.NewVersion(info, prepared.triples,
                                                                  previous)])
            self.commit(request, user.name, "publish" if publish else "revise", info.graph)
        assert prepared.result is not None
        return SubmissionOutcome(info, prepared.result, created=False)

    def import_documents(self, documents: Sequence[Document], user: User,
                         publish: bool = False, progress: bool = False) -> ImportReport:
        """Validate every document, then import all of them in ONE update, or none.

        The report lists every failure (file -> reason) when any file fails; nothing is stored
        then. New cases become version 1, changed ones a new version, unchanged ones are skipped.
        """
        return import_documents(self, documents, user, publish=publish, progress=progress)

    def pending(self) -> list[VersionInfo]:
        """Every pending version, oldest first."""
        with self._read() as reader:
            if reader is None:
                return []
            return records.versions(reader, status=Status.PENDING)

    def diff(self, case_iri: str, number: int) -> Diff:
        """Version ``number`` compared with the current published version of the case.

        The entailments of both (what the load-time rules add to the ontology's own) are
        compared too, and listed apart, so a curator sees what accepting would imply.
        """
        found = self._versions(case_iri)
        target = next((v for v in found if v.number == number), None)
        if target is None:
            raise NotFound(f"no version {number} of {case_iri_of(case_iri)}")
        base = records.published(found)
        with self._read() as reader:
            assert reader is not None
            new = reader.graph_triples(target.graph)
            old = [] if base is None or base.number == number else reader.graph_triples(base.graph)
            view = self._ontology = confinement.ontology_view(reader, self._ontology)
        entailed: tuple[set[ox.Triple], set[ox.Triple]] = (set(), set())
        if view is not None:
            entailed = (confinement.entailments(view, new), confinement.entailments(view, old))
        return diff_versions(target.case, number, None if base is None else base.number, new, old,
                             *entailed)

    def accept(self, case_iri: str, number: int, curator: User) -> VersionInfo:
        """Publish a pending version (the previous published one becomes superseded).

        Forbidden unless curator; NotFound; Conflict if the version is not pending;
        OutsideCase if, in the store as it is now, it reaches beyond its case (say, another
        record published meanwhile describes an organisation it mints).
        """
        self._require_curator(curator, "accept submissions")
        with self.lock:
            target, found = self._pending_version(case_iri, number)
            with self._read() as reader:
                assert reader is not None
                stored = reader.graph_triples(target.graph)
            self.confine(target.case, stored)
            previous = records.published(found)
            when = now()
            self.commit(updates.accept(target, curator.name, when, previous), curator.name,
                         "accept", target.graph)
        return replace(target, status=Status.PUBLISHED, curator=curator.name, decided=when)

    def reject(self, case_iri: str, number: int, curator: User, reason: str) -> VersionInfo:
        """Reject a pending version with a reason the contributor can read (BadInput if empty)."""
        self._require_curator(curator, "reject submissions")
        if not reason or not reason.strip():
            raise BadInput("give a reason for the rejection; the contributor will read it")
        with self.lock:
            target, _ = self._pending_version(case_iri, number)
            when = now()
            self.commit(updates.reject(target, curator.name, when, reason.strip()),
                         curator.name, "reject", target.graph, reason.strip())
        return replace(target, status=Status.REJECTED, curator=curator.name, decided=when,
                       reason=reason.strip())

    def withdraw(self, case_iri: str, user: User, if_match: str | None,
                 reason: str | None = None) -> VersionInfo:
        """Take the case out of the public graph (curators only); its history stays, for
        curators. Anyone else gets 410 with a tombstone (title, when, ``reason``).

        Returns the withdrawn version. NotFound, PreconditionRequired/Failed as for
        :meth:`put`, Conflict if nothing is published.
        """
        reason = reason.strip() if reason and reason.strip() else None
        self._require_curator(user, "withdraw cases")
        if if_match is None:
            raise PreconditionRequired("send If-Match with the case's current ETag")
        with self.lock:
            found = self._versions(case_iri)
            if not found:
                raise NotFound(f"no case {case_iri_of(case_iri)}")
            if not _same_etag(if_match, found[-1].etag):
                raise PreconditionFailed(f"the case changed since {if_match}: its current ETag "
                                         f"is {found[-1].etag}; fetch it and retry")
            current = records.published(found)
            if current is None:
                raise Conflict(f"{case_iri_of(case_iri)} has no published version to withdraw")
            when = now()
            self.commit(updates.withdraw(current, user.name, when, reason), user.name,
                        "withdraw", current.graph, reason or "")
        return replace(current, status=Status.WITHDRAWN, curator=user.name, decided=when,
                       reason=reason)

    def history(self, case_iri: str, viewer: User | None) -> list[VersionInfo]:
        """Versions of the case, oldest first, that ``viewer`` may see
        (:func:`~coprod_kg.curation.visibility.visible`).

        NotFound if none is visible (the same answer as for an unknown case); Gone with the
        tombstone for a withdrawn case, except for curators.
        """
        return self._visible(case_iri_of(case_iri), viewer)

    def version(self, case_iri: str, number: int, viewer: User | None) -> bytes:
        """The triples of one version as N-Triples (NotFound if absent or not visible)."""
        info = self.version_info(case_iri, number, viewer)
        with self._read() as reader:
            assert reader is not None
            lines = updates.ntriples_lines(reader.graph_triples(info.graph))
        return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""

    def version_info(self, case_iri: str, number: int, viewer: User | None) -> VersionInfo:
        """The record of one version (NotFound if absent or not visible, Gone if withdrawn)."""
        target = case_iri_of(case_iri)
        found = self._versions(target)
        shown = [v for v in visible(found, viewer) if v.number == number]
        if not shown:
            raise self._refusal(target, found, viewer, number)
        return shown[0]

    def etag(self, case_iri: str, viewer: User | None = None, everything: bool = True) -> str:
        """The case's ETag: of its latest version (any status), or with ``everything=False``
        of the latest version ``viewer`` sees (NotFound/Gone as for :meth:`history`)."""
        if not everything:
            return self._visible(case_iri_of(case_iri), viewer)[-1].etag
        found = self._versions(case_iri)
        if not found:
            raise NotFound(f"no case {case_iri_of(case_iri)}")
        return found[-1].etag

    def tombstone(self, case_iri: str) -> Tombstone | None:
        """The tombstone of a withdrawn case (nothing published since), else None."""
        gone = withdrawn_now(self._versions(case_iri_of(case_iri)))
        if gone is None:
            return None
        with self._read() as reader:
            return tombstone(reader, gone)

    def _pending_version(self, case: str, number: int) -> tuple[VersionInfo, list[VersionInfo]]:
        found = self._versions(case)
        target = next((v for v in found if v.number == number), None)
        if target is None:
            raise NotFound(f"no version {number} of {case_iri_of(case)}")
        if target.status is not Status.PENDING:
            raise Conflict(f"version {number} of {target.case} is {target.status.value}, "
                           "not pending")
        return target, found
