"""Plumbing of the curation service: the lazy writer, reads, commits, shared checks.

:class:`~coprod_kg.curation.service.Curation` builds on this; see its module for the workflow.

Every write goes through :meth:`CurationBase.commit`, whose steps are journaled
(:mod:`coprod_kg.curation.journal`): when the writer opens (server start, or the first write of
a command), it finishes or abandons what a crash interrupted before doing anything else.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rdflib import Graph, URIRef

from coprod_kg.accounts import Role, User
from coprod_kg.audit import AuditLog
from coprod_kg.config import Settings
from coprod_kg.curation import journal, records
from coprod_kg.curation.identity import foreign_subjects
from coprod_kg.curation.inference import published_graphs, sync_inferred
from coprod_kg.curation.lookup import described_elsewhere, types_and_labels
from coprod_kg.curation.model import Status, VersionInfo, case_iri, now
from coprod_kg.curation.prepare import Prepared
from coprod_kg.curation.visibility import derive_manifest, refusal, visible
from coprod_kg.curation.writer import CurationReader, CurationWriter, OxigraphReader
from coprod_kg.errors import Conflict, Forbidden, Gone, NotFound, Unprocessable
from coprod_kg.manifest import sha256_files
from coprod_kg.manifest_store import FileManifestStore, ManifestStore
from coprod_kg.sources import turtle_files
from coprod_kg.staged_update import StagedUpdate
from coprod_kg.validation import ValidationContext

#: Tests only: called with the name of each step of a write and of its recovery (to kill the
#: process there and check what start-up makes of it).
STEP_HOOK: Callable[[str], None] | None = None


def _step(name: str) -> None:
    if STEP_HOOK is not None:
        STEP_HOOK(name)


class CurationBase:
    """State and plumbing shared by every curation operation. Writes hold ``self.lock``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store_dir = settings.store
        self.lock = threading.RLock()
        self._writer: CurationWriter | None = None
        self._context: ValidationContext | None = None
        self._shapes_version: str | None = None
        self.audit = AuditLog(settings.store)  # a local file for both back ends
        self.journal = journal.Journal(settings.store)  # local too, next to the audit log
        self._manifests: ManifestStore | None = None
        self._done_markers: list[str] = []  # markers of this process's finished writes

    # --- plumbing ---------------------------------------------------------------------------

    def attach(self, writer: CurationWriter) -> None:
        """Use ``writer`` (already open) instead of opening the store lazily; recovers first."""
        with self.lock:
            self._writer = writer
            self._bind_master()
            self._recover(writer)

    def manifests(self) -> ManifestStore:
        """Where the manifest lives (file or remote graph), per ``settings.backend``."""
        if self._manifests is None:
            from coprod_kg.backend import open_manifests

            self._manifests = open_manifests(self.settings)
        self._bind_master()
        return self._manifests

    def writer(self) -> CurationWriter:
        """The store's writer, opened at the first call, which first recovers from a crash."""
        with self.lock:
            if self._writer is None:
                from coprod_kg.backend import open_curation_writer

                writer = open_curation_writer(self.settings)
                self._writer = writer
                self._bind_master()
                try:
                    self._recover(writer)
                except BaseException:
                    self._writer = None
                    writer.close()
                    raise
            return self._writer

    def recover(self) -> None:
        """Open the writer now (server start), which repairs what a crash left half done."""
        self.writer()

    def _bind_master(self) -> None:
        """Let the manifest file sync the public view from the store this process holds."""
        if isinstance(self._manifests, FileManifestStore) and isinstance(self._writer,
                                                                         OxigraphReader):
            self._manifests.master = self._writer.store

    @contextmanager
    def _read(self) -> Iterator[CurationReader | None]:
        """The writer if open, else a fresh read-only view (None if the store is empty)."""
        if self._writer is not None:
            yield self._writer
            return
        if self.manifests().read() is None:
            yield None
            return
        from coprod_kg.backend import open_reader

        reader = open_reader(self.settings)
        try:
            yield reader
        finally:
            close = getattr(reader, "close", None)
            if close is not None:  # the remote reader's HTTP client
                close()
            del reader

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

    def commit(self, request: str, user: str, action: str, target: str,
                detail: str = "") -> None:
        """Apply ONE update, make it durable, update entailments and the manifest, log it.

        Journaled: an intent record is written first and deleted last; the update inserts the
        write's marker in the same transaction (see :mod:`coprod_kg.curation.journal`).
        """
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

    def _complete(self, writer: CurationWriter, intent: journal.Intent,
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

    def _finish(self, writer: CurationWriter, held: journal.Held) -> None:
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
    def _markers(writer: CurationWriter) -> set[str]:
        return {row["w"].value for row in writer.select(journal.MARKERS_QUERY)}

    def _recover(self, writer: CurationWriter) -> None:
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
        """Re-derive the manifest's curated records from the store (read-only if no writer)."""
        with self.lock, self._read() as reader:
            if reader is None:
                return
            if self._writer is not None:  # only a writer can add missing entailments
                sync_inferred(self._writer)
                self._writer.flush()
            derive_manifest(self.manifests(), reader)

    def _lookup(self, nodes: set[URIRef]) -> Graph:
        with self._read() as reader:
            if reader is None:
                return Graph()
            return types_and_labels(reader, self._public(), nodes)

    def check_foreign(self, prepared: Prepared) -> None:
        subjects = foreign_subjects(prepared.graph, prepared.case)
        with self._read() as reader:
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
        """Flush and release the writer (and the store lock)."""
        with self.lock:
            if self._manifests is not None:
                self._manifests.close()
                self._manifests = None
            if self._writer is not None:
                self._writer.close()
                self._writer = None
                gc.collect()  # pyoxigraph releases the store lock when the object goes
