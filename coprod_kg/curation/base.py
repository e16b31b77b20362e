"""Plumbing of the curation service: the lazy writer, reads, commits, shared checks.

:class:`~coprod_kg.curation.service.Curation` builds on this; see its module for the workflow.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from rdflib import Graph, URIRef

from coprod_kg.accounts import Role, User
from coprod_kg.audit import AuditLog
from coprod_kg.config import Settings
from coprod_kg.curation import records
from coprod_kg.curation.identity import foreign_subjects
from coprod_kg.curation.inference import published_graphs, sync_inferred
from coprod_kg.curation.lookup import described_elsewhere, types_and_labels
from coprod_kg.curation.model import Status, VersionInfo, case_iri, now
from coprod_kg.curation.prepare import Prepared
from coprod_kg.curation.visibility import derive_manifest
from coprod_kg.curation.writer import CurationReader, CurationWriter, OxigraphReader
from coprod_kg.errors import Forbidden, Unprocessable
from coprod_kg.manifest import sha256_files
from coprod_kg.manifest_store import FileManifestStore, ManifestStore
from coprod_kg.sources import turtle_files
from coprod_kg.validation import ValidationContext


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
        self._manifests: ManifestStore | None = None

    # --- plumbing ---------------------------------------------------------------------------

    def attach(self, writer: CurationWriter) -> None:
        """Use ``writer`` (already open) instead of opening the store lazily."""
        self._writer = writer
        self._bind_master()

    def manifests(self) -> ManifestStore:
        """Where the manifest lives (file or remote graph), per ``settings.backend``."""
        if self._manifests is None:
            from coprod_kg.backend import open_manifests

            self._manifests = open_manifests(self.settings)
        self._bind_master()
        return self._manifests

    def writer(self) -> CurationWriter:
        if self._writer is None:
            from coprod_kg.backend import open_curation_writer

            self._writer = open_curation_writer(self.settings)
            self._bind_master()
        return self._writer

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

    def shapes_version(self) -> str:
        """SHA-256 over the ontology and shapes files (what validated a version)."""
        if self._shapes_version is None:
            files = turtle_files(self.settings.ontology_dir) + turtle_files(
                self.settings.shapes_dir)
            self._shapes_version = "sha256:" + sha256_files(files)
        return self._shapes_version

    def commit(self, request: str, user: str, action: str, target: str,
                detail: str = "") -> None:
        """Apply ONE update, make it durable, update entailments and the manifest, log it."""
        writer = self.writer()
        before = published_graphs(records.versions(writer))
        writer.update(request)
        writer.flush()
        sync_inferred(writer, before)
        writer.flush()
        derive_manifest(self.manifests(), writer)
        self.audit.record(user, action, target, detail)

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
