"""``coprod-kg backup FILE``: save every graph, the accounts and the audit log in one archive."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from coprod_kg.config import Settings
from coprod_kg.curation.backup import backup


def register(sub: Any) -> None:
    """Add the ``backup`` verb."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "backup", help="write the whole store (all graphs, accounts, audit log) to a .tar.gz",
        description="Write every named graph (public and private, history included) as "
        "gzipped N-Quads, plus the accounts and the audit log, into one .tar.gz archive, "
        "atomically. Works while a server is running (it reads a snapshot).")
    parser.add_argument("file", type=Path, metavar="FILE", help="archive to write (.tar.gz)")
    parser.add_argument("--store", type=Path, metavar="DIR",
                        help="store directory (default: COPROD_STORE)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Back up; print what was saved."""
    store = args.store or settings.store
    count = backup(store, args.file)
    print(f"{args.file}: {count} quad(s) from {store}, with accounts and audit log")
    return 0
