"""``coprod-kg check``: placeholder until its issue lands (exits 2)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from coprod_kg.config import Settings


def register(sub: Any) -> None:
    """Add the ``check`` verb."""
    parser: argparse.ArgumentParser = sub.add_parser("check", help="(not available yet)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Not implemented yet."""
    print("coprod-kg check: not available yet", file=sys.stderr)
    return 2
