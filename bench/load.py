"""``python -m bench.load``: loading and restart, coprod-kg beside ``oxigraph load``.

    python -m bench.load --triples 1000000          # writes bench/results/load.md and .json
    python -m bench.load --triples 100000 --out /tmp/load

On ONE generated N-Triples file (:mod:`bench.generate`): the seconds of ``oxigraph load
--location DIR --file FILE`` and of ``coprod-kg load --store DIR FILE`` (which also loads the
ontology and ``data/``, publishes the bundled cases, computes the entailments and makes the
public view and its snapshot), their ratio (oxigraph's time / ours: the target is at least
0.5), then restart-to-ready: ``coprod-kg serve`` started on the loaded store until a first
``SELECT * WHERE { ?s ?p ?o } LIMIT 1`` answers 200 (target: at most 3 s at 1M triples), the
median of ``--restarts`` starts. The machine's load average is recorded before and after,
since the figures are wall-clock times on a shared machine. Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import generate
from bench.servers import wait_ready
from bench.systems import available, load_coprod, load_oxigraph, serve

RESULTS = Path(__file__).parent / "results"
LOAD_TARGET = 0.5  # oxigraph's time / ours
RESTART_TARGET_S = 3.0  # at 1M triples
#: The named graph of the reference load (``oxigraph load --graph``): where ``coprod-kg load``
#: puts a file's triples, which the engine indexes twice as many ways as the default graph's.
NAMED_GRAPH = "https://w3id.org/coprod/graph/file/bench"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--triples", type=int, default=1_000_000,
                        help="target triple count of the generated file (default: 1M)")
    parser.add_argument("--seed", type=int, default=20151101, help="random seed")
    parser.add_argument("--restarts", type=int, default=3,
                        help="server starts on the loaded store (default: 3; the median counts)")
    parser.add_argument("--load-timeout", type=float, default=1800.0,
                        help="seconds a load may take")
    parser.add_argument("--ready-timeout", type=float, default=120.0,
                        help="seconds a start may take to answer its first query")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where load.md/.json go")
    parser.add_argument("--work", type=Path, default=None,
                        help="scratch directory (kept when given; default: a temporary one)")
    return parser.parse_args(argv)


def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Generate the file, load it into both systems, restart coprod-kg; every raw figure."""
    out: dict[str, Any] = {"triples_target": args.triples, "seed": args.seed,
                           "cpus": os.cpu_count(), "machine": platform.platform(),
                           "load_average_before": list(os.getloadavg())}
    graph_file = work / f"kg-{args.triples}.nt"
    out["triples"] = generate.write(args.triples, graph_file, args.seed)
    out["file_bytes"] = graph_file.stat().st_size
    if available("oxigraph"):
        before = _children_cpu()
        out["oxigraph_load_s"] = load_oxigraph(graph_file, work, args.load_timeout).seconds
        out["oxigraph_load_cpu_s"] = _children_cpu() - before
        before = _children_cpu()
        out["oxigraph_graph_load_s"] = load_oxigraph(graph_file, work, args.load_timeout,
                                                     graph=NAMED_GRAPH).seconds
        out["oxigraph_graph_load_cpu_s"] = _children_cpu() - before
    before = _children_cpu()
    loaded = load_coprod(graph_file, work, args.load_timeout)
    out["coprod_load_cpu_s"] = _children_cpu() - before
    out["coprod_load_s"] = loaded.seconds
    if out.get("oxigraph_load_s") and loaded.seconds:
        out["load_ratio"] = out["oxigraph_load_s"] / loaded.seconds
        out["load_cpu_ratio"] = out["oxigraph_load_cpu_s"] / out["coprod_load_cpu_s"]
        out["graph_load_ratio"] = out["oxigraph_graph_load_s"] / loaded.seconds
    starts: list[float] = []
    for _ in range(args.restarts):
        server = serve(loaded, work)
        try:
            starts.append(wait_ready(server, args.ready_timeout))
        finally:
            server.stop()
    out["restart_s"] = starts
    out["restart_median_s"] = statistics.median(starts) if starts else None
    out["load_average_after"] = list(os.getloadavg())
    return out


def _children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def markdown(result: dict[str, Any]) -> str:
    """The results as a short Markdown page."""
    ratio = result.get("load_ratio")
    restart = result.get("restart_median_s")
    load_ok = "" if ratio is None else (" ✓" if ratio >= LOAD_TARGET else " ✗")
    restart_ok = "" if restart is None else (" ✓" if restart <= RESTART_TARGET_S else " ✗")
    before = ", ".join(f"{x:.2f}" for x in result["load_average_before"])
    after = ", ".join(f"{x:.2f}" for x in result["load_average_after"])
    return "\n".join([
        "# Loading and restart",
        "",
        f"`python -m bench.load --triples {result['triples_target']}`: one generated file of "
        f"{result['triples']:,} triples ({result['file_bytes'] / 1e6:.0f} MB of N-Triples), "
        "loaded by `oxigraph load --location DIR --file FILE` and by "
        "`coprod-kg load --store DIR FILE` (ontology, `data/`, bundled cases through curation, "
        "entailments, public view and snapshot included).",
        "",
        "| oxigraph load s (CPU s) | coprod-kg load s (CPU s) "
        "| load speed ratio (target ≥ 0.5x) | CPU-time ratio "
        "| restart-to-ready s, median (target ≤ 3 s at 1M) | restarts s |",
        "|---|---|---|---|---|---|",
        f"| {_fmt(result.get('oxigraph_load_s'))} ({_fmt(result.get('oxigraph_load_cpu_s'))}) "
        f"| {_fmt(result.get('coprod_load_s'))} ({_fmt(result.get('coprod_load_cpu_s'))}) "
        f"| {_fmt(ratio)}x{load_ok} | {_fmt(result.get('load_cpu_ratio'))}x "
        f"| {_fmt(restart)}{restart_ok} "
        f"| {' / '.join(_fmt(s) for s in result['restart_s'])} |",
        "",
        "The speed ratio is oxigraph's wall-clock time over ours; the CPU-time ratio compares the "
        "CPU seconds the two loads used (oxigraph's loader runs several threads), which a busy "
        "machine disturbs less.",
        "",
        "For reference (not the target): `oxigraph load --graph IRI` of the same file, its "
        "triples in a named graph as `coprod-kg load` stores them (the engine then writes six "
        "indexes instead of three): "
        f"{_fmt(result.get('oxigraph_graph_load_s'))} s "
        f"({_fmt(result.get('oxigraph_graph_load_cpu_s'))} CPU s); oxigraph's time over ours "
        f"{_fmt(result.get('graph_load_ratio'))}x.",
        "",
        f"Machine: {result['cpus']} CPUs, {result['machine']}; load average (1, 5, 15 min) "
        f"{before} before and {after} after: wall-clock figures on a shared machine move "
        "with its load, so compare the two loads of one run.",
        "",
    ])


def main(argv: list[str] | None = None) -> None:
    """Measure and write ``load.md`` and ``load.json`` into ``--out``."""
    args = parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="coprod-bench-load-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        result = measure(args, work)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "load.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (args.out / "load.md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))
    print(f"written {args.out / 'load.md'} ({time.strftime('%Y-%m-%d %H:%M')})")


if __name__ == "__main__":
    main()
