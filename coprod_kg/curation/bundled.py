"""Import the bundled case files (``data/cases/**/*.ttl``) through the curation workflow.

``coprod-kg load`` reads them first (:func:`read_bundled`: a broken file stops the load before
it replaces a published graph), then calls :func:`import_bundled` with the writer it already
holds open (embedded store or remote server), so every bundled case has versions, provenance
and an ETag like a submitted one (see :mod:`coprod_kg.curation.bulk` for what is skipped,
versioned or withdrawn).
"""

from __future__ import annotations

from pathlib import Path

from coprod_kg.config import Settings
from coprod_kg.curation.bulk import (
    BUNDLED_PREFIX,
    EDITORS_USER,
    Document,
    check_documents,
    store_prepared,
)
from coprod_kg.curation.model import (
    CASE_GRAPH_BASE,
    CURATION_GRAPH,
    PROVENANCE_GRAPH,
    ImportReport,
)
from coprod_kg.curation.prepare import Prepared
from coprod_kg.curation.records import versions
from coprod_kg.curation.service import Curation
from coprod_kg.curation.visibility import count_triples, curated_records
from coprod_kg.errors import BadInput
from coprod_kg.rdf.sources import turtle_files
from coprod_kg.storage.backend import Backend
from coprod_kg.storage.manifest import ManifestStore
from coprod_kg.storage.store import GraphReader, GraphRecord

CASES_DIR = "cases"


def is_curated(graph: str) -> bool:
    """Whether ``graph`` is managed by the curation workflow (not by the file loader)."""
    return graph.startswith(CASE_GRAPH_BASE) or graph in (CURATION_GRAPH, PROVENANCE_GRAPH)


def case_files(data_dir: Path) -> list[Path]:
    """The bundled case files, sorted."""
    folder = data_dir / CASES_DIR
    return turtle_files(folder) if folder.is_dir() else []


def read_bundled(settings: Settings, progress: bool = False) -> list[Prepared]:
    """Parse and check every bundled case file (no store needed: they are not validated
    against the shapes here, the shapes tests cover them); :class:`BadInput` naming every
    refused file. ``coprod-kg load`` reads them before it replaces any published graph."""
    data_dir = settings.data_dir
    documents = [Document(BUNDLED_PREFIX + path.relative_to(data_dir).as_posix(),
                          path.read_bytes(), "text/turtle") for path in case_files(data_dir)]
    prepared, failures = check_documents(documents, None, None, progress)
    if failures:
        raise BadInput("bundled case files refused:\n" + "\n".join(
            f"{name}: {reason}" for name, reason in sorted(failures.items())))
    return prepared


def import_bundled(settings: Settings, backend: Backend, manifests: ManifestStore,
                   prepared: list[Prepared]) -> ImportReport:
    """Publish new or changed bundled cases (``prepared``: :func:`read_bundled`), withdraw
    vanished ones: ONE update, or nothing.

    The manifest the curation step derives goes to ``manifests`` (the load stages it, and
    publishes the whole state once, after every graph is written).
    """
    cur = Curation(settings, backend, manifests=manifests)
    cur.recover()
    return store_prepared(cur, prepared, EDITORS_USER, publish=True, withdraw_missing=True)


def curated_graph_records(reader: GraphReader) -> dict[str, GraphRecord]:
    """Manifest records (with public flags) of every curated graph ``reader`` sees."""
    return curated_records(versions(reader), count_triples(reader, PROVENANCE_GRAPH),
                           count_triples(reader, CURATION_GRAPH))
