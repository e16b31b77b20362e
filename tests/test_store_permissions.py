"""The store directory is private: created 0700, its files 0600 (graphs, public view and
snapshots, manifest, accounts, audit log, intent records), whatever the caller's umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from coprod_kg.config import Settings
from coprod_kg.curation.accounts import Accounts, Role
from coprod_kg.curation.audit import AuditLog
from coprod_kg.curation.journal import Journal
from coprod_kg.loading import load_store
from coprod_kg.storage.embedded.writer import OxigraphWriter


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A permissive umask, as a shell's default would be, restored afterwards."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _modes(root: Path) -> dict[str, int]:
    out = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        out[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return out


def test_a_new_store_is_private(mini_settings: Settings, open_umask: None) -> None:
    store = mini_settings.store
    load_store(mini_settings)
    Accounts(store).add("alice", Role.CONTRIBUTOR)
    AuditLog(store).record("alice", "submit", "x")
    Journal(store).begin("alice", "submit", "x").release()  # an unfinished intent record
    modes = _modes(store)
    assert modes["."] == 0o700
    names = set(modes)
    assert {"accounts.sqlite3", "audit.log.jsonl", "coprod-manifest.json"} <= names
    assert any(n.startswith("snapshots/") for n in names)
    assert any(n.startswith("intents/") for n in names)
    assert any(n.startswith("public/") for n in names)
    wide = {name: oct(mode) for name, mode in modes.items() if mode & 0o077}
    assert wide == {}


def test_an_existing_open_store_is_tightened(tmp_path: Path, open_umask: None) -> None:
    store = tmp_path / "store"
    store.mkdir(mode=0o755)
    (store / "accounts.sqlite3").touch(mode=0o644)
    os.chmod(store, 0o755)
    os.chmod(store / "accounts.sqlite3", 0o644)
    Accounts(store)
    assert stat.S_IMODE((store / "accounts.sqlite3").stat().st_mode) == 0o600
    os.chmod(store, 0o755)
    writer = OxigraphWriter(store)
    writer.close()
    del writer
    assert stat.S_IMODE(store.stat().st_mode) == 0o700
