"""Plumbing of the curation service: the back end's writer, reads, commits, shared checks.

:class:`~coprod_kg.curation.service.Curation` builds on this; see its module for the workflow.

Every write goes through :meth:`CurationBase.commit`, whose steps are journaled
(:mod:`coprod_kg.curation.journal`): when the writer opens (server start, or the first write of
a command), it finishes or abandons what a crash interrupted before doing anything else.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import pyoxigraph as ox
from rdflib import Graph, URIRef

from coprod_kg.config import Settings
from coprod_kg.curation import confinement, journal, records
from coprod_kg.curation.accounts import Role, User
from coprod_kg.curation.audit import AuditLog
from coprod_kg.curation.identity import foreign_subjects
from coprod_kg.curation.inference import published_graphs, sync_inferred
from coprod_kg.curation.lookup import described_elsewhere, types_and_labels
from coprod_kg.curation.model import Status, VersionInfo, case_iri, now
from coprod_kg.curation.prepare import Prepared
from coprod_kg.curation.visibility import curated_flags, derive_manifest, refusal, visible
from coprod_kg.errors import (
    Conflict,
    Forbidden,
    Gone,
    LoadUnfinished,
    NotFound,
    Unprocessable,
)
from coprod_kg.rdf.namespaces import ONTOLOGY_GRAPH
from coprod_kg.rdf.sources import turtle_files
from coprod_kg.storage.backend import Backend
from coprod_kg.storage.manifest import ManifestStore, sha256_files
from coprod_kg.storage.staged_update import StagedUpdate
from coprod_kg.storage.store import GraphReader, GraphWriter
from coprod_kg.validation.shacl import ValidationContext

#: Tests only: called with the name of each step of a write and of its recovery (to kill the
#: process there and check what start-up makes of it).
STEP_HOOK: Callable[[str], None] | None = None


def _step(name: str) -> None:
    if STEP_HOOK is not None:
        STEP_HOOK(name)


class CurationBase:
    """State and plumbing shared by every curation operation. Writes hold ``self.lock``."""

    _ontology: confinement.OntologyView | None = None  #: cached view of the stored ontology

    def __init__(self, settings: Settings, backend: Backend | None = None,
                 manifests: ManifestStore | None = None) -> None:
        """Curation over ``backend`` (opened by the composition root, which closes it); without
        one, the service opens its own and :meth:`close` releases it. ``manifests``: where the
        derived manifest goes instead of the back end's (a load stages it, and publishes once).
        """
        self.settings = settings
        self.store_dir = settings.store
        self.lock = threading.RLock()
        self._owned = backend is None
        self.backend = backend if backend is not None else Backend(
            settings, manifest_view=curated_flags)
        self._staged = manifests
        self._recovered = False
        self._context: ValidationContext | None = None
        self._shapes_version: str | None = None
        self.audit = AuditLog(settings.store)  # a local file for both back ends
        self.journal = journal.Journal(settings.store)  # local too, next to the audit log
        self._done_markers: list[str] = []  # markers of this process's finished writes

    # --- plumbing ---------------------------------------------------------------------------

    def manifests(self) -> ManifestStore:
        """Where the derived manifest goes: the back end's (file or remote graph), or the one
        a load stages."""
        return self._staged if self._staged is not None else self.backend.manifests()

    def writer(self) -> GraphWriter:
        """The back end's writer; the first call recovers from a crash before anything else
        (refused while a stopped load left the ontology part-written: :meth:`_settled`)."""
        with self.lock:
            if not self._recovered:
                self._settled()
            writer = self.backend.writer()
            if not self._recovered:
                self._recover(writer)
                self._recovered = True
            return writer

    def _settled(self) -> None:
        """Refuse (:class:`LoadUnfinished`, 503) while the stored manifest marks the ontology
        unsettled: a load that was replacing it stopped, so the main store's ontology is not
        the published one, and the entailments of a case version (recovered or new) would be
        derived from it and published with the version. A load's own curation (its staged
        manifest) goes ahead: it publishes that ontology, and recomputes every entailment."""
        if self._staged is not None:
            return
        manifest = self.backend.manifests().read()
        if manifest is not None and str(ONTOLOGY_GRAPH) in manifest.unsettled_graphs():
            raise LoadUnfinished(
                "a load stopped part-way while replacing the ontology: curation waits until "
                "`coprod-kg load` finishes (what is published is unchanged)")

    def recover(self) -> None:
        """Open the writer now (server start), which repairs what a crash left half done."""
        self.writer()

    def _published(self) -> GraphReader | None:
        """The published state (public graphs only; None before the first load): lookups and
        confinement read it, so a process that is not the writer can still validate."""
        return self.backend.published_reader()

    @contextmanager
    def _read(self) -> Iterator[GraphReader | None]:
        """The writer (None if the store is empty). Curation never opens the main store
        read-only beside it: one handle per process, which is also the one that writes."""
        if self.backend.writer_if_open() is None and self.manifests().read() is None:
            yield None
            return
        yield self.writer()

    def _public(self) -> list[str]:
        manifest = self.manifests().read()
        return manifest.public_graphs() if manifest else []

    def _versions(self, case: str) -> list[VersionInfo]:
        with self._read() as reader:
            return [] if reader is None else records.versions(reader, case_iri(case))

    def _refusal(self, case: str, found: list[VersionInfo], viewer: User | None,
                 number: int | None = None) -> Gone | NotFound:
        """The 404 (as for an unknown case) or 410 (withdrawn) for what ``viewer`` cannot see."""
        with self._read() as reader:
            return refusal(case, found, viewer, reader, number)

    def _visible(self, case: str, viewer: User | None,
                 found: list[VersionInfo] | None = None) -> list[VersionInfo]:
        """The case's versions ``viewer`` sees, oldest first; raises the refusal if none."""
        found = self._versions(case) if found is None else found
        shown = visible(found, viewer)
        if not shown:
            raise self._refusal(case, found, viewer)
        return shown

    def new_case_number(self, case: str, user: User) -> int:
        """The number of a NEW case's first version submitted by ``user``.

        1 for an unknown case; Conflict if ``user`` sees the case (send a new version with
        PUT); Gone for a withdrawn one. A case ``user`` cannot see (someone else's unpublished
        submission) is answered as if it did not exist: the proposal is stored beside it, with
        the next number.
        """
        found = self._versions(case)
        if not found:
            return 1
        if visible(found, user):
            raise Conflict(f"the case {case} already exists; send a new version with PUT "
                           "(and If-Match)")
        problem = self._refusal(case, found, user)
        if isinstance(problem, Gone):
            raise problem
        return found[-1].number + 1

    def shapes_version(self) -> str:
        """SHA-256 over the ontology and shapes files (what validated a version)."""
        if self._shapes_version is None:
            files = turtle_files(self.settings.ontology_dir) + turtle_files(
                self.settings.shapes_dir)
            self._shapes_version = "sha256:" + sha256_files(files)
        return self._shapes_version

    def validation_context(self) -> ValidationContext:
        """The validation context (loaded once), whose lookup reads the public graphs."""
        if self._context is None:
            self._context = ValidationContext.load(self.settings, lookup=self._lookup)
        return self._context

    def confine(self, case: str, triples: Sequence[ox.Triple]) -> set[str]:
        """Refuse a record that reaches beyond its case (OutsideCase, 422); the IRIs it mints.

        See :mod:`coprod_kg.curation.confinement` for the rules.
        """
        reader = self._published()
        if reader is None:
            confinement.check_record(triples, case)
            return set()
        self._ontology = confinement.ontology_view(reader, self._ontology)
        return confinement.confine(reader, self._public(), self._ontology, triples, case)

    def commit(self, request: str, user: str, action: str, target: str,
                detail: str = "") -> None:
        """Apply ONE update, make it durable, update entailments and the manifest, log it.

        Journaled: an intent record is written first and deleted last; the update inserts the
        write's marker in the same transaction (see :mod:`coprod_kg.curation.journal`).
        """
        self._settled()  # a remote server's load may have stopped since this process began
        writer = self.writer()
        for leftover in self.journal.unfinished():  # a write of this process that failed
            self._finish(writer, leftover)
        before = published_graphs(records.versions(writer))
        held = self.journal.begin(user, action, target, detail)
        try:
            _step("intent")
            writer.update(self._with_markers(request, held.intent.id))
            _step("update")
            writer.flush()
            _step("flush")
            self._complete(writer, held.intent, before)
        except BaseException:
            held.release()  # the record stays: the next write or start-up finishes it
            raise
        self._done_markers = [held.intent.id]
        held.finish()
        _step("done")

    def _with_markers(self, request: str, write: str) -> str:
        """``request`` that also inserts the marker of ``write`` (and deletes those of this
        process's finished writes) in its one publishing operation, so that the marker is
        applied exactly when the change is, on any back end."""
        if isinstance(request, StagedUpdate):  # keep its parts for the remote writer
            done = tuple(journal.marker_quad(w) for w in self._done_markers)
            return StagedUpdate(request.graphs, (*request.delete, *done),
                                (*request.insert, journal.marker_quad(write)), request.then)
        parts = [request, journal.insert_marker(write)]
        if self._done_markers:
            parts.append(journal.delete_markers(self._done_markers))
        return " ;\n".join(parts)

    def _complete(self, writer: GraphWriter, intent: journal.Intent,
                  before: set[str] | None) -> None:
        """The steps after the update: entailments, manifest (and snapshot), audit line."""
        sync_inferred(writer, before)
        _step("entailments")
        writer.flush()
        _step("entailments-flushed")
        derive_manifest(self.manifests(), writer)
        _step("manifest")
        self.audit.record(intent.user, intent.action, intent.target, intent.detail, intent.id)
        _step("audit")

    def _finish(self, writer: GraphWriter, held: journal.Held) -> None:
        """Roll one unfinished write forward (its update was applied) or back (it was not)."""
        try:
            intent = held.intent
            applied = intent.id in self._markers(writer)
            if applied and not self.audit.has_write(intent.id):
                self._complete(writer, intent, None)
            held.finish()
        finally:
            held.release()

    @staticmethod
    def _markers(writer: GraphWriter) -> set[str]:
        return {row["w"].value for row in writer.select(journal.MARKERS_QUERY)}

    def _recover(self, writer: GraphWriter) -> None:
        """At the writer's start: finish interrupted writes, then check entailments and the
        manifest against the store (whatever a crash of any earlier version left)."""
        _step("recover")
        self.audit.repair_tail()
        for held in self.journal.unfinished():
            self._finish(writer, held)
        orphans = self._markers(writer) - self.journal.ids()
        if orphans:  # finished writes' markers (a live writer's record keeps its own)
            writer.update(journal.delete_markers(sorted(orphans)))
        sync_inferred(writer)
        writer.flush()
        derive_manifest(self.manifests(), writer)
        _step("recovered")

    def repair(self) -> None:
        """Re-derive the manifest's curated records (and missing entailments) from the store."""
        with self.lock, self._read() as reader:
            if reader is None:
                return
            sync_inferred(self.writer())
            self.writer().flush()
            derive_manifest(self.manifests(), reader)

    def _lookup(self, nodes: set[URIRef]) -> Graph:
        reader = self._published()
        if reader is None:
            return Graph()
        return types_and_labels(reader, self._public(), nodes)

    def check_foreign(self, prepared: Prepared) -> None:
        subjects = foreign_subjects(prepared.graph, prepared.case)
        reader = self._published()
        if reader is None or not subjects:
            return
        taken = described_elsewhere(reader, self._public(), subjects, prepared.case)
        if taken:
            listed = ", ".join(f"{s} (in {g})" for s, g in sorted(taken.items()))
            raise Unprocessable("the submission redefines resources that another record "
                                f"already describes: {listed}; refer to them without "
                                "describing them")

    def new_version(self, prepared: Prepared, user: User, number: int, publish: bool,
                     revision_of: int | None) -> VersionInfo:
        when = now()
        return VersionInfo(
            case=prepared.case, number=number,
            status=Status.PUBLISHED if publish else Status.PENDING, submitter=user.name,
            submitted=when, content_hash=prepared.content_hash, graph_digest=prepared.digest,
            triples=len(prepared.triples), validated_with=self.shapes_version(),
            revision_of=revision_of, curator=user.name if publish else None,
            decided=when if publish else None, source_name=prepared.source_name)

    @staticmethod
    def _require_curator(user: User, action: str) -> None:
        if user.role is not Role.CURATOR:
            raise Forbidden(f"only curators may {action}; {user.name} is a {user.role.value}")

    def close(self) -> None:
        """Flush the writer; release the back end if this service opened it."""
        with self.lock:
            writer = self.backend.writer_if_open()
            if writer is not None:
                writer.flush()
            if self._owned:
                self.backend.close()
