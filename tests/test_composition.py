"""One composition root: a load publishes once, a submission reads through the one writer,
and the back end owns and releases the store.

On the embedded back end (and, with ``COPROD_TEST_BACKEND=remote``, on a SPARQL server).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from backends import settings_of
from http_helpers import TURTLE, Users, bearer, client_for, record, writable_store

from coprod_kg.config import PROJECT_ROOT
from coprod_kg.loading import load_store
from coprod_kg.runtime import open_backend
from coprod_kg.storage.embedded.manifests import FileManifestStore
from coprod_kg.storage.embedded.writer import OxigraphReader, OxigraphWriter
from coprod_kg.storage.remote.manifests import RemoteManifestStore


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every write of a manifest (file or remote graph), in order."""
    seen: list[str] = []
    for cls in (FileManifestStore, RemoteManifestStore):
        for name in ("write", "write_if"):
            original = getattr(cls, name)

            def counted(self: object, *args: object, _original: object = original,
                        _name: str = f"{cls.__name__}.{name}") -> object:
                seen.append(_name)
                return _original(self, *args)  # type: ignore[operator]
            monkeypatch.setattr(cls, name, counted)
    return seen


def test_a_fresh_load_publishes_once(tmp_path: Path, writes: list[str]) -> None:
    settings = settings_of(tmp_path / "store").with_overrides(
        ontology_dir=PROJECT_ROOT / "ontology", data_dir=PROJECT_ROOT / "data")
    report = load_store(settings)
    assert report.loaded
    assert len(writes) == 1, writes
    writes.clear()
    load_store(settings)  # nothing changed: the manifest is written again, once
    assert len(writes) == 1, writes


def test_a_submission_never_opens_the_main_store_beside_the_writer(
        real_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = writable_store(real_store, tmp_path / "store")
    users = Users.make(store)
    opened: list[str] = []
    original_init = OxigraphWriter.__init__

    def counting_init(self: OxigraphWriter, *args: object, **kwargs: object) -> None:
        opened.append("read-write")
        original_init(self, *args, **kwargs)  # type: ignore[arg-type]

    def refuse(cls: object, store_dir: Path, attempts: int = 5) -> OxigraphReader:
        opened.append("read-only")
        raise AssertionError(f"the main store {store_dir} was opened read-only")

    monkeypatch.setattr(OxigraphWriter, "__init__", counting_init)
    monkeypatch.setattr(OxigraphReader, "read_only", classmethod(refuse))
    with client_for(settings_of(store)) as client:
        started = list(opened)
        for slug in ("composition-one", "composition-two"):
            response = client.post("/submissions", content=record(slug),
                                   headers=bearer(users.alice, **TURTLE))
            assert response.status_code == 201, response.text
        listing = client.get("/submissions", headers=bearer(users.curator))
        assert listing.status_code == 200
    assert "read-only" not in opened
    assert opened == started  # no store was opened after start-up
    assert len([o for o in opened if o == "read-write"]) <= 1


def test_closing_the_backend_releases_the_store(tmp_path: Path) -> None:
    settings = settings_of(tmp_path / "store").with_overrides(
        ontology_dir=PROJECT_ROOT / "ontology", data_dir=PROJECT_ROOT / "data")
    with open_backend(settings) as backend:
        load_store(settings, backend=backend)
        assert backend.writer_if_open() is not None
    if settings.backend != "embedded":
        return
    # another process can now open it read-write (no del, no gc.collect)
    code = ("import sys, pyoxigraph; pyoxigraph.Store(sys.argv[1]); print('opened')")
    out = subprocess.run([sys.executable, "-c", code, str(settings.store)],
                         capture_output=True, text=True, check=False)
    assert out.stdout.strip() == "opened", out.stderr
