"""Does the store's layout cost the engine time? The heavy queries on coprod-kg's snapshot
against the same quads bulk-loaded once into a new store.

``python -m bench.store_layout --store DIR`` (a store made by ``coprod-kg load``, e.g. the
native bench's ``coprod-store``): dumps the current snapshot as N-Quads, bulk-loads the dump
into a scratch store, and runs the bench's heavy templates (aggregations and joins) on both,
opened read-only in this process, interleaved, ``--rounds`` times. Prints, per store, the sum
over the queries of each query's smallest CPU time (``time.process_time``; the smallest of
several runs is what a shared machine disturbs least) and the two stores' quad counts.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox

from bench import generate
from bench.loadgen import load_queries
from bench.workloads import heavy
from coprod_kg.storage.embedded.oxigraph_store import open_read_only


def _cpu(store: ox.Store, query: str) -> float:
    started = time.process_time()
    result = store.query(query, use_default_graph_as_union=True)
    if isinstance(result, ox.QuerySolutions):
        result.serialize(format=ox.QueryResultsFormat.JSON)
    return time.process_time() - started


def compare(store_dir: Path, rounds: int, count: int, triples: int
            ) -> dict[str, tuple[float, int]]:
    """``{name: (sum of the smallest CPU seconds per query, quads)}`` for both stores."""
    work = Path(tempfile.mkdtemp(prefix="coprod-layout-"))
    try:
        snapshot = open_read_only(store_dir)
        dump = work / "snapshot.nq"
        snapshot.dump(str(dump), format=ox.RdfFormat.N_QUADS)
        fresh = ox.Store(str(work / "fresh"))
        fresh.bulk_load(path=str(dump), format=ox.RdfFormat.N_QUADS)
        fresh.flush()
        stores = {"snapshot": snapshot, "bulk-loaded once": fresh}
        n_cases = max(1, triples // generate.TRIPLES_PER_CASE)
        queries = heavy(load_queries(), n_cases, 20151101, count)
        best = {name: [float("inf")] * len(queries) for name in stores}
        for _ in range(rounds):
            for index, query in enumerate(queries):
                for name, store in stores.items():
                    best[name][index] = min(best[name][index], _cpu(store, query))
        return {name: (sum(best[name]), len(store)) for name, store in stores.items()}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="a coprod-kg store directory")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--queries", type=int, default=12)
    parser.add_argument("--triples", type=int, default=100_000,
                        help="the generated graph's size (for the templates' case numbers)")
    args = parser.parse_args(argv)
    found = compare(args.store, args.rounds, args.queries, args.triples)
    for name, (seconds, quads) in found.items():
        print(f"{name:18s} {seconds * 1000:8.1f} ms CPU (sum of minima)  {quads:,} quads")


if __name__ == "__main__":
    main()
