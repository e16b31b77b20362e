"""The fixed cost per request of several running SPARQL endpoints, side by side.

``python -m bench.fixed_cost --graph FILE NAME=URL [NAME=URL ...]``: sequential GETs from one
client (httpx, keep-alive) of ``SELECT ?p ?o WHERE { <r> ?p ?o } LIMIT 1``, a different
subject ``r`` of the N-Triples ``FILE`` each time, then one such query repeated; ``--rounds``
rounds of ``--requests`` requests per endpoint, the endpoints in turn within each round (so a
change in the machine's load falls on each). Prints each endpoint's median latency, for the
distinct and the repeated queries. Two builds of coprod-kg on copies of one store, beside
Oxigraph server on its dump, give the cost a change removed (``--skip`` moves past the
subjects an earlier run asked, which a cache would otherwise answer).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

import httpx

from bench.workloads import TRIVIAL_FORM

ACCEPT = "application/sparql-results+json"


def subjects(graph: Path, seed: int = 7) -> list[str]:
    """The distinct IRI subjects of an N-Triples file, shuffled."""
    found: dict[str, None] = {}
    with graph.open(encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("<"):
                found[line[1:line.index(">")]] = None
    shuffled = list(found)
    random.Random(seed).shuffle(shuffled)
    return shuffled


def _median_ms(client: httpx.Client, url: str, queries: list[str]) -> float:
    times = []
    for query in queries:
        started = time.perf_counter()
        answer = client.get(url, params={"query": query}, headers={"Accept": ACCEPT})
        times.append(time.perf_counter() - started)
        answer.raise_for_status()
    return statistics.median(times) * 1000


def measure(endpoints: dict[str, str], iris: list[str], rounds: int, requests: int
            ) -> dict[str, tuple[float, float]]:
    """``{name: (median ms of distinct queries, median ms of one repeated query)}``."""
    distinct: dict[str, list[float]] = {name: [] for name in endpoints}
    repeated: dict[str, list[float]] = {name: [] for name in endpoints}
    needed = rounds * requests * len(endpoints)
    if len(iris) < needed:
        raise SystemExit(f"the graph has {len(iris)} subjects left, {needed} are needed")
    position = 0
    same = TRIVIAL_FORM.format(iri=iris[-1])
    with httpx.Client(timeout=30) as client:
        for _ in range(rounds):
            for name, url in endpoints.items():
                batch = [TRIVIAL_FORM.format(iri=iri)
                         for iri in iris[position:position + requests]]
                position += requests
                distinct[name].append(_median_ms(client, url, batch))
                repeated[name].append(_median_ms(client, url, [same] * requests))
    return {name: (statistics.median(distinct[name]), statistics.median(repeated[name]))
            for name in endpoints}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graph", type=Path, required=True, help="the N-Triples file served")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--skip", type=int, default=0, help="subjects to skip first")
    parser.add_argument("endpoints", nargs="+", metavar="NAME=URL")
    args = parser.parse_args(argv)
    endpoints = dict(item.split("=", 1) for item in args.endpoints)
    iris = subjects(args.graph)[args.skip:]
    for name, (fresh, again) in measure(endpoints, iris, args.rounds, args.requests).items():
        print(f"{name:12s} distinct p50 {fresh:6.3f} ms   repeated p50 {again:6.3f} ms")


if __name__ == "__main__":
    main()
