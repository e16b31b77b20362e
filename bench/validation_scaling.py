"""Validation time of one submitted record as the knowledge graph grows (not a test).

The submission is validated in a bounded context (record + class hierarchy + types and labels of
the nodes it references, looked up in the KG), so its cost should not depend on the KG size.
The KG here is ``data/`` (1x) and 100 renamed copies of it (100x); ``--full`` also times the
naive alternative, validating the whole KG, to show what the bounded context avoids.

    python -m bench.validation_scaling [--runs 30] [--full]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.term import Node

from coprod_kg.config import load_settings
from coprod_kg.rdf.namespaces import BASE
from coprod_kg.rdf.sources import load_files, turtle_files
from coprod_kg.validation.shacl import (
    ENGINES,
    ValidationContext,
    graph_lookup,
    validate,
    validate_graph,
)

RECORD = (Path(__file__).parent.parent / "tests" / "data" / "valid"
          / "parent-cooperative-preschool.ttl")


def scaled(kg: Graph, copies: int) -> Graph:
    """``copies`` versions of ``kg``: copy 0 as is, the others with renamed case/org/source IRIs."""
    out = Graph()
    out += kg
    renamed = tuple(BASE + part for part in ("case/", "organisation/", "source/"))
    for number in range(1, copies):
        for s, p, o in kg:
            out.add((_rename(s, renamed, number), p, _rename(o, renamed, number)))
    return out


def _rename(term: Node, prefixes: tuple[str, ...], number: int) -> Node:
    if isinstance(term, URIRef):
        for prefix in prefixes:
            if str(term).startswith(prefix):
                return URIRef(f"{prefix}copy{number}-{str(term)[len(prefix):]}")
    return term


def time_record(context: ValidationContext, runs: int) -> tuple[float, float]:
    """(p50, p95) milliseconds to validate the test record."""
    data = RECORD.read_bytes()
    validate(data, "text/turtle", context=context)  # warm the query cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        validate(data, "text/turtle", context=context)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="validations per KG size")
    parser.add_argument("--full", action="store_true",
                        help="also time validating the whole KG (slow at 100x)")
    args = parser.parse_args()
    settings = load_settings()
    base = ValidationContext.load(settings)
    kg = load_files(turtle_files(settings.data_dir))
    print(f"record: {RECORD.name}; {args.runs} runs per size")
    print(f"{'engine':>14} {'KG':>5} {'triples':>9} {'p50 ms':>8} {'p95 ms':>8} {'whole-KG s':>11}")
    for copies in (1, 100):
        big = scaled(kg, copies)
        for engine in ENGINES:
            context = base.with_lookup(graph_lookup(big)).with_engine(engine)
            p50, p95 = time_record(context, args.runs)
            whole = "-"
            if args.full or copies == 1:
                start = time.perf_counter()
                validate_graph(big, context=base.with_engine(engine))
                whole = f"{time.perf_counter() - start:.2f}"
            print(f"{engine:>14} {copies:>4}x {len(big):>9} {p50:>8.1f} {p95:>8.1f} {whole:>11}")


if __name__ == "__main__":
    main()
