"""Shared helpers of the curation tests: accounts, case records, a writable store copy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from backends import remote_overrides

from coprod_kg.config import PROJECT_ROOT, Settings, load_settings
from coprod_kg.curation.accounts import Role, User
from coprod_kg.errors import BadInput
from coprod_kg.runtime import open_backend
from coprod_kg.storage.store import prepare

TEMPLATE = PROJECT_ROOT / "data" / "cases" / "fixmystreet.ttl"
ALICE = User("alice", Role.CONTRIBUTOR, "2026-01-01")
CAROL = User("carol", Role.CONTRIBUTOR, "2026-01-01")
BOB = User("bob", Role.CURATOR, "2026-01-01")


def record(slug: str, title: str | None = None) -> bytes:
    """A conforming case record for ``case:{slug}`` (a copy of a bundled case)."""
    text = TEMPLATE.read_text(encoding="utf-8").replace("case/fixmystreet", f"case/{slug}")
    text = text.replace("case:fixmystreet", f"case:{slug}")
    if title is not None:
        text = text.replace('"FixMyStreet"@en', f'"{title}"@en', 1)
    assert f"case/{slug}" in text
    return text.encode("utf-8")


def writable_copy(real_store: Path, tmp_path: Path) -> Settings:
    """Settings over a private copy of the loaded real store."""
    target = tmp_path / "store"
    shutil.copytree(real_store, target)
    return load_settings({}).with_overrides(store=target, **remote_overrides(target))


def ask(settings: Settings, pattern: str) -> bool:
    """ASK over the public dataset, as /sparql would answer."""
    for attempt in range(5):  # a writer may compact files away while the view opens
        store = open_backend(settings).store(pooled=False)
        try:
            body = store.query(prepare(f"ASK {{ {pattern} }}")).body
            break
        except BadInput as exc:  # the gate refuses a graph that is not public: not visible
            if "not public" not in str(exc):
                raise
            return False
        except RuntimeError:
            if attempt == 4:
                raise
        finally:
            store.close()
    answer: bool = json.loads(body)["boolean"]
    return answer
