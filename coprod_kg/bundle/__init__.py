"""The files coprod-kg ships with: ontology, shapes, bundled cases, JSON-LD context, examples.

In a checkout the entries of this folder are links to the sources of truth at the top level
(``ontology/``, ``shapes/``, ``data/``, ``docs/context.jsonld``, ``tests/competency/``); the
wheel holds copies of them, so an installed coprod-kg finds the same files through
:mod:`importlib.resources` and never reads ``tests/`` or ``docs/``.

>>> (path("ontology") / "coprod.ttl").is_file()
True
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

#: What the bundle holds.
NAMES = ("ontology", "shapes", "data", "context.jsonld", "competency")


def path(name: str) -> Path:
    """The file or folder ``name`` of the bundle, on disk (installed from a wheel or a checkout)."""
    if name not in NAMES:
        raise KeyError(f"no bundled file {name!r}; one of {', '.join(NAMES)}")
    # wheels install as plain folders, so the resource is a real path (no extraction needed)
    return Path(str(files(__name__).joinpath(name)))
