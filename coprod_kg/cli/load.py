"""``coprod-kg load``: load the ontology, the case records and extra RDF files into the store."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from coprod_kg.config import Settings
from coprod_kg.loading import load_store
from coprod_kg.runtime import open_backend


def register(sub: Any) -> None:
    """Add the ``load`` verb."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "load", help="load the ontology, data/**/*.ttl and extra RDF files into the store",
        description="Load the ontology and every data/**/*.ttl file, each into its own named "
        "graph, then recompute the entailments. Unchanged sources are skipped.")
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE",
                        help="extra RDF files (Turtle, N-Triples, RDF/XML, JSON-LD...), each "
                        "loaded into its own named graph")
    parser.add_argument("--store", type=Path, metavar="DIR",
                        help="store directory (default: COPROD_STORE)")
    parser.add_argument("--graph", metavar="IRI",
                        help="name of the graph for the single extra FILE")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Load, print a one-line summary per kind of change, return 0."""
    settings = settings.with_overrides(store=args.store)
    with open_backend(settings) as backend:
        report = load_store(settings, args.files, args.graph, progress=sys.stderr.isatty(),
                            backend=backend)
    print(f"store {settings.store}: {len(report.loaded)} graph(s) loaded, "
          f"{len(report.skipped)} unchanged, {len(report.removed)} removed, "
          + ("entailments unchanged" if report.inferred is None
             else f"{report.inferred} entailed triple(s)"))
    for name in report.loaded:
        print(f"  loaded  {name}")
    for name in report.removed:
        print(f"  removed {name}")
    return 0
