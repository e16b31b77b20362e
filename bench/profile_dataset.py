"""Time each query of the mix in-process on a loaded store: union default graph vs graph list.

This server evaluates every query with ``default_graph=[every public graph]``; Oxigraph's own
server uses ``use_default_graph_as_union``. Same store, same answers, different cost:

    python -m bench.profile_dataset STORE_DIR
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import pyoxigraph as ox

from bench.loadgen import load_queries


def _timed(store: ox.Store, text: str, graphs: list[ox.NamedNode] | None) -> tuple[float, int]:
    """Milliseconds and rows; ``graphs`` None means the union default graph."""
    start = time.perf_counter()
    if graphs is None:
        result = store.query(text, use_default_graph_as_union=True)
    else:
        result = store.query(text, default_graph=list(graphs))
    assert isinstance(result, ox.QuerySolutions)
    rows = sum(1 for _ in result)
    return (time.perf_counter() - start) * 1000, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path, help="a store loaded by `coprod-kg load`")
    parser.add_argument("--cases", type=int, default=200, help="case numbers to draw from")
    args = parser.parse_args()
    store = ox.Store.read_only(str(args.store))
    graphs = [g for g in store.named_graphs() if isinstance(g, ox.NamedNode)]
    print(f"{len(graphs)} named graphs")
    for query in load_queries():
        if query.is_graph:
            continue
        text = query.instance(random.Random(1), args.cases)
        union, rows = min(_timed(store, text, None) for _ in range(3))
        listed, rows_listed = _timed(store, text, graphs)
        print(f"{query.name:28} union {union:9.2f} ms ({rows})   list of {len(graphs)} graphs "
              f"{listed:9.2f} ms ({rows_listed})   {listed / union:6.1f}x")


if __name__ == "__main__":
    main()
