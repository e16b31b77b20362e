"""``coprod-kg import DIR``: import many case records at once, all or nothing."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from coprod_kg.cli._curation import acting_user, add_identity_options, open_service, settings_of
from coprod_kg.config import Settings
from coprod_kg.curation.bulk import Document
from coprod_kg.errors import BadInput
from coprod_kg.rdf.parsing import SUFFIXES, media_type_for


def register(sub: Any) -> None:
    """Add the ``import`` verb."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "import", help="validate and import every case record of a directory, all or nothing",
        description="Validate every RDF file under DIR first and report every failure; if "
        "all conform, import them in one atomic update (new cases as version 1, changed ones "
        "as a new version, unchanged ones skipped); otherwise import nothing.")
    parser.add_argument("directory", type=Path, metavar="DIR", help="folder of case records")
    parser.add_argument("--publish", action="store_true",
                        help="publish at once (curators only); otherwise pending")
    add_identity_options(parser)
    parser.set_defaults(func=run)


def documents(directory: Path) -> list[Document]:
    """Every RDF file under ``directory`` (by suffix), sorted."""
    if not directory.is_dir():
        raise BadInput(f"no such directory: {directory}")
    paths = sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    if not paths:
        raise BadInput(f"{directory} holds no RDF file ({', '.join(sorted(SUFFIXES))})")
    return [Document(str(p), p.read_bytes(), media_type_for(p)) for p in paths]


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Import; 1 (nothing stored) if any file fails."""
    settings = settings_of(args, settings)
    docs = documents(args.directory)
    user = acting_user(args, settings)
    service = open_service(settings)
    try:
        report = service.import_documents(docs, user, publish=args.publish,
                                          progress=sys.stderr.isatty())
    finally:
        service.close()
    if report.failures:
        for name, reason in sorted(report.failures.items()):
            print(f"{name}: {reason}", file=sys.stderr)
        print(f"coprod-kg import: {len(report.failures)} of {len(docs)} file(s) refused; "
              "nothing was imported", file=sys.stderr)
        return 1
    print(f"imported {len(report.imported)} version(s), {len(report.skipped)} unchanged")
    for info in report.imported:
        print(f"  {info.case} v{info.number} {info.status.value}")
    return 0
