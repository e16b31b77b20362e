"""Back up and restore a whole store: every graph (public and private), accounts, audit log.

The archive is a ``.tar.gz`` holding ``graphs.nq.gz`` (N-Quads, gzip), ``accounts.sqlite3``
(copied with SQLite's online backup), ``audit.log.jsonl`` and the manifest. It is written to a
temporary file and renamed into place, so a crash never leaves half an archive. A restore
builds the new store in a temporary sibling folder and renames it into place, then re-derives
the manifest's curated records from the restored curation graph.
"""

from __future__ import annotations

import gzip
import io
import shutil
import sqlite3
import tarfile
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox

from coprod_kg.atomic import atomic_write
from coprod_kg.curation.accounts import ACCOUNTS_FILE
from coprod_kg.curation.audit import AUDIT_FILE
from coprod_kg.curation.visibility import derive_manifest
from coprod_kg.errors import BadInput
from coprod_kg.storage.embedded.manifests import FileManifestStore
from coprod_kg.storage.embedded.public_view import sync_view
from coprod_kg.storage.embedded.writer import OxigraphReader, open_writer
from coprod_kg.storage.manifest import MANIFEST_NAME, read_manifest

GRAPHS_MEMBER = "graphs.nq.gz"
MEMBERS = (GRAPHS_MEMBER, ACCOUNTS_FILE, AUDIT_FILE, MANIFEST_NAME)


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def _accounts_bytes(store_dir: Path) -> bytes | None:
    source = store_dir / ACCOUNTS_FILE
    if not source.exists():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / ACCOUNTS_FILE
        src, dst = sqlite3.connect(source), sqlite3.connect(copy)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
        return copy.read_bytes()


def backup(store_dir: Path, archive: Path, store: ox.Store | None = None) -> int:
    """Write ``archive``; returns the number of quads saved. ``store``: an open handle to use."""
    manifest = read_manifest(store_dir)
    if manifest is None:
        raise BadInput(f"{store_dir} is not a loaded store")
    marked = manifest.unsettled_graphs()
    if marked:  # the main store's copies are not the published ones: a restore could not tell
        raise BadInput(f"a load that stopped left {', '.join(marked)} part-written in "
                       f"{store_dir}; run `coprod-kg load` with their sources first")
    handle = store if store is not None else OxigraphReader.read_only(store_dir).store
    quads = handle.dump(format=ox.RdfFormat.N_QUADS, from_graph=None) or b""
    count = quads.count(b"\n")
    with atomic_write(archive, mode=0o600) as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
        _add(tar, GRAPHS_MEMBER, gzip.compress(quads))
        accounts = _accounts_bytes(store_dir)
        if accounts is not None:
            _add(tar, ACCOUNTS_FILE, accounts)
        for name in (AUDIT_FILE, MANIFEST_NAME):
            path = store_dir / name
            if path.exists():
                _add(tar, name, path.read_bytes())
    return count


def _members(archive: Path) -> dict[str, bytes]:
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            out: dict[str, bytes] = {}
            for member in tar.getmembers():
                if member.name not in MEMBERS or not member.isfile():
                    raise BadInput(f"{archive}: unexpected member {member.name!r}")
                extracted = tar.extractfile(member)
                assert extracted is not None
                out[member.name] = extracted.read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BadInput(f"{archive}: not a coprod-kg backup ({exc})") from exc
    if GRAPHS_MEMBER not in out:
        raise BadInput(f"{archive}: not a coprod-kg backup (no {GRAPHS_MEMBER})")
    return out


def restore(archive: Path, store_dir: Path, force: bool = False) -> Path | None:
    """Restore ``archive`` into ``store_dir`` (empty or absent unless ``force``).

    With ``force`` an existing store is moved aside (its new name is returned), never deleted.
    """
    members = _members(archive)
    if store_dir.exists() and any(store_dir.iterdir()) and not force:
        raise BadInput(f"{store_dir} is not empty; restore into a new folder or use --force")
    store_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=store_dir.parent, prefix=f".{store_dir.name}-restore-"))
    restored = False
    try:
        with open_writer(staging) as writer:
            writer.store.bulk_load(gzip.decompress(members[GRAPHS_MEMBER]),
                                   format=ox.RdfFormat.N_QUADS)
            writer.flush()
            for name in (ACCOUNTS_FILE, AUDIT_FILE, MANIFEST_NAME):
                if name in members:
                    (staging / name).write_bytes(members[name])
            manifest = derive_manifest(FileManifestStore(staging, master=lambda: writer.store),
                                       writer)
            sync_view(writer.store, staging, manifest)  # the readers' snapshot of this state
        restored = True
    finally:
        if not restored:
            shutil.rmtree(staging, ignore_errors=True)
    aside = None
    if store_dir.exists() and any(store_dir.iterdir()):
        aside = store_dir.with_name(f"{store_dir.name}.replaced-{int(time.time())}")
        store_dir.rename(aside)
    elif store_dir.exists():
        store_dir.rmdir()
    staging.rename(store_dir)
    return aside
