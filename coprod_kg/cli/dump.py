"""``coprod-kg dump``: write the public knowledge graph as N-Quads, Turtle or N-Triples."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

from coprod_kg import __version__
from coprod_kg.config import Settings
from coprod_kg.publishing.dump import (
    DUMP_FORMATS,
    dump_format,
    iter_dump,
    write_dump,
    write_release,
)
from coprod_kg.runtime import open_backend


def register(sub: Any) -> None:
    """Add the ``dump`` verb."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "dump", help="write the public graphs of the store as one RDF file",
        description="Write every public graph of the store (the ontology, the case records and "
        "the entailments; never pending submissions) as N-Quads, Turtle or N-Triples.")
    parser.add_argument("--format", choices=sorted(DUMP_FORMATS), default="nquads",
                        help="RDF format of the dump; only N-Quads keeps the graph names "
                        "(default: nquads)")
    parser.add_argument("--output", type=Path, metavar="FILE",
                        help="file to write (replaced atomically); default: standard output")
    parser.add_argument("--release", type=Path, metavar="DIR",
                        help="write the dated dumps of a release into DIR instead: "
                        "coprod-kg-VERSION-DATE.nq, .ttl and .nt, with SHA256SUMS")
    parser.add_argument("--store", type=Path, metavar="DIR",
                        help="store directory (default: COPROD_STORE)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Write the dump to ``--output`` or standard output; returns 0."""
    settings = settings.with_overrides(store=args.store)
    fmt = dump_format(args.format)
    with open_backend(settings) as backend:
        if args.release is not None:
            for path in write_release(backend, args.release, __version__,
                                      date.today().isoformat()):
                print(f"wrote {path}", file=sys.stderr)
            return 0
        if args.output is None:
            for chunk in iter_dump(backend, fmt):
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            return 0
        size = write_dump(backend, fmt, args.output)
    print(f"wrote {args.output} ({fmt.name}, {size} bytes)", file=sys.stderr)
    return 0
