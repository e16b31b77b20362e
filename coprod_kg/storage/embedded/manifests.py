"""The manifest of the embedded store: a file in its directory, written after the public view."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox

from coprod_kg.storage.embedded.public_view import sync_view
from coprod_kg.storage.manifest import Manifest, read_manifest, write_manifest


class FileManifestStore:
    """The manifest file in the embedded store's directory (:mod:`coprod_kg.storage.manifest`).

    Writing it first brings the public view and its snapshot up to date
    (:func:`coprod_kg.storage.embedded.public_view.sync_view`), so readers that see the new
    generation find its snapshot; that needs the main store, which ``master`` gives: the
    read-write store this process holds (the back end opens it once, see
    :class:`coprod_kg.storage.backend.Backend`).
    """

    def __init__(self, store_dir: Path, master: Callable[[], ox.Store]) -> None:
        self.store_dir = store_dir
        self.master = master

    def read(self) -> Manifest | None:
        return read_manifest(self.store_dir)

    def write(self, manifest: Manifest) -> None:
        sync_view(self.master(), self.store_dir, manifest)
        write_manifest(self.store_dir, manifest)

    def close(self) -> None:
        """Nothing to release."""

    def write_if(self, expected: Manifest | None, manifest: Manifest) -> bool:
        """Compare generations, then write (the embedded store has one writer process)."""
        if not self._unchanged(expected):
            return False
        self.write(manifest)
        return True

    def mark(self, expected: Manifest, manifest: Manifest) -> bool:
        """Compare generations, then write the file alone: the view already holds what
        ``manifest`` publishes."""
        if not self._unchanged(expected):
            return False
        write_manifest(self.store_dir, manifest)
        return True

    def _unchanged(self, expected: Manifest | None) -> bool:
        current = self.read()
        return (current and current.generation) == (expected and expected.generation)
