"""``coprod-kg validate FILE|DIR...``: check case records against the SHACL shapes.

Exit codes: 0 the records conform (warnings are shown), 1 at least one rule is broken,
2 a file cannot be read or parsed (the message names the file and line).
All files given (and all RDF files in the directories given) are validated together as one
dataset, so a case may cite a source described in another file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from coprod_kg.config import Settings
from coprod_kg.errors import BadInput, CoprodError
from coprod_kg.rdf.parsing import SUFFIXES, media_type_for, parse_rdf
from coprod_kg.rdf.source_lines import SourceText
from coprod_kg.rdf.sources import new_graph, turtle_files
from coprod_kg.validation.report import FORMATS, render
from coprod_kg.validation.shacl import ENGINES, load_context_for, validate_graph


def register(sub: Any) -> None:
    """Add the ``validate`` verb."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "validate", help="check case records against the SHACL shapes",
        description="Validate RDF files (Turtle, JSON-LD, RDF/XML, N-Triples) against the case "
        "record shapes. Exit 0: conforms; 1: rules broken; 2: unreadable input.")
    parser.add_argument("paths", nargs="+", type=Path, metavar="FILE|DIR",
                        help="record files, or directories whose RDF files are validated together")
    parser.add_argument("--format", choices=FORMATS, default="text",
                        help="report format: text for people, json for programs, turtle or "
                        "jsonld for the W3C SHACL report (default: text)")
    parser.add_argument("--engine", choices=ENGINES, default="pyshacl",
                        help="SHACL engine (pyshacl-turbo is faster and gives the same results; "
                        "default: pyshacl)")
    parser.add_argument("--no-kg", action="store_true",
                        help="do not resolve references against the curated data directory")
    parser.set_defaults(func=run)


def collect(paths: list[Path]) -> list[Path]:
    """The files named, plus every RDF file (by suffix) under the directories named."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*")
                           if p.is_file() and p.suffix.lower() in SUFFIXES)
            if not found:
                raise BadInput(f"{path}: no RDF files ({', '.join(sorted(SUFFIXES))})")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise BadInput(f"{path}: no such file or directory")
    return files


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Parse every file (reporting each unparsable one), then validate them together."""
    files = collect(args.paths)
    graph = new_graph()
    texts: list[SourceText] = []
    failed = False
    for path in files:
        try:
            raw = path.read_bytes()
            parse_rdf(raw, media_type_for(path), str(path), into=graph)
        except (CoprodError, OSError) as exc:
            print(f"coprod-kg validate: {exc}", file=sys.stderr)
            failed = True
            continue
        texts.append(SourceText(str(path), raw.decode("utf-8", errors="replace")))
    if not texts:
        return 2
    chosen = {p.resolve() for p in files}
    kg_files = [] if args.no_kg or not settings.data_dir.is_dir() else \
        [p for p in turtle_files(settings.data_dir) if p.resolve() not in chosen]
    context = load_context_for(settings, kg_files).with_engine(args.engine)
    result = validate_graph(graph, context=context, texts=texts)
    sys.stdout.write(render(result, args.format))
    if failed:
        return 2
    return 0 if result.conforms else 1
