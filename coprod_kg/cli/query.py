"""``coprod-kg query``: run one SPARQL query on the store and print the answer."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from coprod_kg.config import Settings
from coprod_kg.rdf.formats import FORMATS_BY_NAME
from coprod_kg.runtime import open_backend
from coprod_kg.storage.store import prepare


def register(sub: Any) -> None:
    """Add the ``query`` verb."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "query", help="run a SPARQL query on the store",
        description="Run a SPARQL query over the union of the public graphs and print the "
        "answer as the engine serialises it.")
    parser.add_argument("query", metavar="SPARQL",
                        help="the query text, or @FILE to read it from a file, or - for stdin")
    parser.add_argument("--format", choices=sorted(FORMATS_BY_NAME), metavar="FORMAT",
                        help="json, xml, csv or tsv for SELECT/ASK; turtle, ntriples, jsonld or "
                        "rdfxml for CONSTRUCT/DESCRIBE (default: json / turtle)")
    parser.add_argument("--store", type=Path, metavar="DIR",
                        help="store directory (default: COPROD_STORE)")
    parser.set_defaults(func=run)


def _read_query(text: str) -> str:
    if text == "-":
        return sys.stdin.read()
    if text.startswith("@"):
        return Path(text[1:]).read_text(encoding="utf-8")
    return text


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Print the answer to stdout; errors go through the dispatcher (exit 2)."""
    settings = settings.with_overrides(store=args.store)
    request = prepare(_read_query(args.query), format_param=args.format)
    with open_backend(settings) as backend:
        store = backend.store(pooled=False)
        try:
            result = store.query(request)
        finally:
            store.close()
    sys.stdout.buffer.write(result.body)
    if not result.body.endswith(b"\n"):
        sys.stdout.buffer.write(b"\n")
    sys.stdout.flush()
    return 0
