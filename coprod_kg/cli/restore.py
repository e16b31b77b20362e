"""``coprod-kg restore FILE --store DIR``: rebuild a store from a backup archive."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from coprod_kg.config import Settings
from coprod_kg.curation.backup import restore


def register(sub: Any) -> None:
    """Add the ``restore`` verb."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "restore", help="rebuild a store from a `coprod-kg backup` archive",
        description="Restore every graph, the accounts and the audit log into DIR, which must "
        "be empty or absent (with --force an existing store is moved aside, not deleted), "
        "then re-derive which graphs are public.")
    parser.add_argument("file", type=Path, metavar="FILE", help="archive written by backup")
    parser.add_argument("--store", type=Path, metavar="DIR", required=True,
                        help="store directory to create")
    parser.add_argument("--force", action="store_true",
                        help="replace a non-empty DIR (the old one is renamed, not deleted)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Restore; print where."""
    aside = restore(args.file, args.store, force=args.force)
    print(f"restored {args.file} into {args.store}")
    if aside is not None:
        print(f"the previous store was moved to {aside}")
    return 0
