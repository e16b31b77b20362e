"""The published ontology files (HTML and each RDF serialisation), built once per version.

The server answers ``/ontology`` from these files. They are built by
:mod:`coprod_kg.publishing.docs` when missing or when the ontology sources changed (a digest of the
sources is kept next to them), so a request never pays for a build unless the ontology changed since
the last one.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from coprod_kg import bundle
from coprod_kg.atomic import write_bytes
from coprod_kg.publishing import docs
from coprod_kg.rdf.sources import module_files
from coprod_kg.storage.manifest import sha256_files

STAMP = ".sources.sha256"
_lock = threading.Lock()


def output_dir(ontology_dir: Path) -> Path:
    """``build/ontology`` for the bundled ontology; a folder of its own for any other one."""
    if ontology_dir.resolve() == bundle.path("ontology").resolve():
        return docs.DEFAULT_OUTDIR
    key = hashlib.sha256(str(ontology_dir.resolve()).encode()).hexdigest()[:12]
    return docs.DEFAULT_OUTDIR.parent / f"ontology-{key}"


def ensure_built(ontology_dir: Path, outdir: Path | None = None) -> Path:
    """The folder holding the published files of ``ontology_dir``, (re)built if out of date."""
    target = outdir or output_dir(ontology_dir)
    digest = sha256_files(module_files(ontology_dir))
    stamp = target / STAMP

    def fresh() -> bool:
        return stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == digest

    if not fresh():
        with _lock:
            if not fresh():
                docs.build_artifacts(ontology_dir, target)
                write_bytes(stamp, (digest + "\n").encode())
    return target
