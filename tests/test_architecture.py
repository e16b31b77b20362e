"""docs/architecture.md stays true: every file, folder and module it names exists, and every
package of coprod_kg and api has its place on the page."""

from __future__ import annotations

import importlib
import re

import pytest

from coprod_kg.config import PROJECT_ROOT

PAGE = (PROJECT_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
PATHS = sorted(set(re.findall(
    r"(?<![\w/.])((?:coprod_kg|api|tests|ontology|shapes|docs|data)/[\w./-]*)", PAGE)))
MODULES = sorted(set(re.findall(r"`(coprod_kg(?:\.\w+)+)", PAGE)))


def test_the_page_names_files_and_modules() -> None:
    assert len(PATHS) > 30 and len(MODULES) >= 3


@pytest.mark.parametrize("path", PATHS)
def test_every_path_exists(path: str) -> None:
    assert (PROJECT_ROOT / path.rstrip(".")).exists(), f"docs/architecture.md names {path}"


@pytest.mark.parametrize("dotted", MODULES)
def test_every_module_or_name_exists(dotted: str) -> None:
    module, _, name = dotted, "", ""
    while module:
        try:
            found = importlib.import_module(module)
            break
        except ModuleNotFoundError:
            module, _, tail = module.rpartition(".")
            name = f"{tail}.{name}".strip(".")
    else:
        raise AssertionError(f"docs/architecture.md names {dotted}")
    for part in filter(None, name.split(".")):
        assert hasattr(found, part), f"docs/architecture.md names {dotted}"
        found = getattr(found, part)


def test_every_package_has_its_place() -> None:
    packages = {p.parent.relative_to(PROJECT_ROOT).as_posix() for root in ("coprod_kg", "api")
                for p in (PROJECT_ROOT / root).rglob("__init__.py")}
    missing = [p for p in sorted(packages) if f"{p}/" not in PAGE and p not in ("coprod_kg", "api")]
    assert not missing, f"not on docs/architecture.md: {missing}"
