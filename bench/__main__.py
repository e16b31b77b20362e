"""``python -m bench``: run the benchmark and write ``bench/results/``.

    python -m bench                                  # 10k, 100k and 1M triples, all peers
    python -m bench --sizes 10000,100000 --duration 10
    python -m bench --quick --no-peers --out /tmp/b  # the smoke test's run
    python -m bench --mixed                          # 32 clients, queries + submissions, 60 s
    python -m bench --fairness                       # heavy queries / big validations vs. reads
    python -m bench --explorer                       # the case explorer at 10,000 cases
    python -m bench --native                         # wrk throughput, fixed cost, real graph
    python -m bench --native --quick                 # the same, smaller and shorter (~3 min)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import fairness, generate, mixed, report
from bench import wrk as wrk_tool
from bench.loadgen import CLASSES, Query, load_queries, row_count, run_class
from bench.servers import Server, wait_ready
from bench.systems import (
    NO_CLIENT_LIMITS,
    PEERS,
    Loaded,
    available,
    dump_coprod,
    load_coprod,
    load_oxigraph,
    serve,
)
from bench.validation_timing import time_validation

RESULTS = Path(__file__).parent / "results"
#: rdflib-endpoint is not run above this size (it would take far too long).
RDFLIB_MAX = 100_000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="comma-separated target triple counts (default: 10k,100k,1M)")
    parser.add_argument("--duration", type=float, default=10.0,
                        help="seconds of load per query class and server (default: 10)")
    parser.add_argument("--max-requests", type=int, default=20_000,
                        help="cap on requests per query class and server (default: 20000)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default: 8)")
    parser.add_argument("--seed", type=int, default=20151101, help="random seed")
    parser.add_argument("--validation-runs", type=int, default=30,
                        help="single-record validations per size (default: 30)")
    parser.add_argument("--load-timeout", type=float, default=1800.0,
                        help="seconds a bulk load may take before the size is skipped")
    parser.add_argument("--ready-timeout", type=float, default=600.0,
                        help="seconds a server may take to answer its first query")
    parser.add_argument("--no-peers", action="store_true", help="benchmark this server only")
    parser.add_argument("--quick", action="store_true",
                        help="a tiny graph, 1 s per class, 2 clients, 3 validations (smoke test)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="output directory")
    parser.add_argument("--from-json", type=Path, metavar="FILE",
                        help="only rewrite results.md and the plots in --out from a results.json")
    parser.add_argument("--work", type=Path, help="scratch directory (default: OUT/work)")
    parser.add_argument("--mixed", action="store_true",
                        help="only the mixed load (queries + submissions) against this server")
    parser.add_argument("--mixed-clients", type=int, default=32,
                        help="client threads of the mixed load (default: 32)")
    parser.add_argument("--mixed-duration", type=float, default=60.0,
                        help="seconds of the mixed load (default: 60)")
    parser.add_argument("--fairness", action="store_true",
                        help="only the fairness scenarios (issue 9) against this server over "
                        "the real data: 16 heavy queries vs. pages, big validations vs. queries")
    parser.add_argument("--fairness-scenarios", default="heavy,validate",
                        help="which fairness scenarios: heavy, validate or both (default)")
    parser.add_argument("--fairness-duration", type=float, default=90.0,
                        help="seconds of the heavy-query scenario (default: 90)")
    parser.add_argument("--fairness-idle", type=float, default=15.0,
                        help="seconds of the idle light-query baseline (default: 15)")
    parser.add_argument("--validate-records", type=int, default=2500,
                        help="minimal records in each of the two POST /validate (default: 2500)")
    parser.add_argument("--validate-timeout", type=float, default=400.0,
                        help="seconds each POST /validate may take (default: 400)")
    parser.add_argument("--explorer", action="store_true",
                        help="only the case explorer: two-facet filter and keyword search")
    parser.add_argument("--explorer-cases", type=int, default=10_000,
                        help="synthetic cases of the explorer run (default: 10000)")
    parser.add_argument("--explorer-runs", type=int, default=200,
                        help="timed runs per explorer query kind (default: 200)")
    native = parser.add_argument_group("--native: wrk throughput, fixed cost, real graph")
    native.add_argument("--native", action="store_true",
                        help="only the native run (issue 14): wrk against every server, the "
                        "fixed cost per request and the competency questions over the real "
                        "graph; writes native.md and native.json")
    native.add_argument("--native-size", type=int, default=None,
                        help="triples of the generated graph of the throughput scenarios "
                        "(default 100000; 0, the quick run's: the real graph only)")
    native.add_argument("--wrk-duration", type=float, default=None,
                        help="seconds per wrk run (default 8; quick 3)")
    native.add_argument("--warmup", type=float, default=None,
                        help="seconds of the warm-up run per scenario and server "
                        "(default 2; quick 1)")
    native.add_argument("--repeats", type=int, default=None,
                        help="-t2 -c8 runs per scenario and server (default 2; quick 1)")
    native.add_argument("--mix-length", type=int, default=20_000,
                        help="requests drawn for the repeated mix (default 20000)")
    native.add_argument("--heavy-length", type=int, default=3_000,
                        help="distinct heavy requests per run (default 3000)")
    native.add_argument("--fixed-requests", type=int, default=None,
                        help="sequential requests per fixed-cost probe and server "
                        "(default 400; quick 100)")
    native.add_argument("--real-runs", type=int, default=None,
                        help="times each competency question is sent per server "
                        "(default 15; quick 3)")
    native.add_argument("--wrk-timeout", type=float, default=60.0,
                        help="wrk's per-request timeout in seconds (default 60)")
    native.add_argument("--coprod-workers", type=int, default=None, metavar="N",
                        help="`coprod-kg serve --workers N` (default: the CPUs this process "
                        "may use, as Oxigraph's server uses them all; quick 1)")
    args = parser.parse_args(argv)
    _native_defaults(args)
    if args.quick:
        args.sizes, args.duration, args.concurrency = "2000", 1.0, 2
        args.validation_runs, args.max_requests = 3, 200
    try:
        args.size_list = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes must be integers separated by commas, not {args.sizes!r}")
    if not args.size_list or min(args.size_list) < 100:
        parser.error("--sizes needs at least one size of 100 triples or more")
    return args


def _native_defaults(args: argparse.Namespace) -> None:
    quick = {"native_size": 0, "wrk_duration": 3.0, "warmup": 1.0, "repeats": 1,
             "fixed_requests": 100, "real_runs": 3, "coprod_workers": 1}
    full = {"native_size": 100_000, "wrk_duration": 8.0, "warmup": 2.0, "repeats": 2,
            "fixed_requests": 400, "real_runs": 15,
            "coprod_workers": len(os.sched_getaffinity(0))}
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def measure_class(server: Server, system: str, klass: str, mix: list[Query], n_cases: int,
                  work: Path, args: argparse.Namespace, notes: list[str]) -> dict[str, Any]:
    """One query class on one server: throughput with wrk, latencies with the Python client.

    wrk (``--concurrency`` connections, two threads) gives the throughput and the latencies
    under that load; the Python client then sends the class one request at a time, for the
    latency of an unloaded server. Without wrk, the Python client's closed loop gives all
    three, as before, and the results say its throughput is the client's.
    """
    seed = args.seed
    figures: dict[str, Any]
    if wrk_tool.wrk_path() is not None:
        rng = random.Random(seed)
        texts = [mix[i % len(mix)].instance(rng, n_cases) for i in range(args.max_requests)]
        listing = work / "lists" / f"{system}-{klass}.txt"
        size = wrk_tool.write_list(listing, texts)
        for duration in (max(1.0, 0.2 * args.duration), args.duration):  # warm-up, then run
            run = wrk_tool.run(server.endpoint, listing, size, threads=2,
                               connections=args.concurrency, duration=duration,
                               server_pid=server.process.pid)
            wrk_tool.wait_idle(server.process.pid)  # abandoned requests finish first
        figures = {"client": "wrk", "requests": run.requests, "errors": run.errors,
                   "throughput": run.throughput, "elapsed_s": run.duration_s,
                   "p50_ms": run.p50_ms, "p99_ms": run.p99_ms,
                   "client_cpu_share": run.client_cpu_share,
                   "server_cpu_cores": run.server_cpu_s / run.duration_s}
        if run.errors:
            notes.append(f"{system}, {klass}: {run.errors} failed requests ({run.error_detail})")
        sequential = run_class(server.endpoint, mix, n_cases, 1, max(1.0, args.duration / 2),
                               max(len(mix), args.max_requests // 10), seed)
        p50, p99 = sequential.percentile(50), sequential.percentile(99)
        figures["sequential_p50_ms"] = None if p50 is None else p50 * 1000
        figures["sequential_p99_ms"] = None if p99 is None else p99 * 1000
    else:
        run_class(server.endpoint, mix, n_cases, args.concurrency, 0.2 * args.duration,
                  max(len(mix), args.max_requests // 10), seed)  # warm-up
        res = run_class(server.endpoint, mix, n_cases, args.concurrency, args.duration,
                        args.max_requests, seed)
        p50, p99 = res.percentile(50), res.percentile(99)
        figures = {"client": "python", "requests": len(res.latencies), "errors": res.errors,
                   "throughput": res.throughput, "elapsed_s": res.elapsed,
                   "p50_ms": None if p50 is None else p50 * 1000,
                   "p99_ms": None if p99 is None else p99 * 1000}
        if res.errors:
            notes.append(f"{system}, {klass}: {res.errors} failed requests, first: "
                         f"{res.first_error[:160]}")
    _log(f"  {system} {klass}: {figures['throughput']:.1f} req/s ({figures['client']}), "
         f"p50 {figures['p50_ms']} ms, {figures['errors']} errors")
    return figures


def bench_server(loaded: Loaded, work: Path, n_cases: int, args: argparse.Namespace,
                 notes: list[str]) -> dict[str, Any]:
    """Serve one system: readiness, row counts, each query class, then a restart."""
    queries = load_queries()
    out: dict[str, Any] = {"classes": {}, "rows": {}}
    server = serve(loaded, work, NO_CLIENT_LIMITS)
    restarted: Server | None = None
    try:
        server.start_sampling()
        out["ready_s"] = wait_ready(server, args.ready_timeout)
        for query in queries:
            out["rows"][query.name] = row_count(server.endpoint, query)
        for klass in CLASSES:
            mix = [q for q in queries if q.klass == klass]
            out["classes"][klass] = measure_class(server, loaded.system, klass, mix, n_cases,
                                                  work, args, notes)
        server.stop()
        out["peak_rss_mb"] = server.peak_rss / 2**20
        restarted = serve(loaded, work, NO_CLIENT_LIMITS)
        out["restart_s"] = wait_ready(restarted, args.ready_timeout)
    finally:
        server.stop()
        if restarted is not None:
            restarted.stop()
    return out


def bench_size(target: int, args: argparse.Namespace, peers: list[str]) -> dict[str, Any]:
    work = args.work / f"kg-{target}"
    work.mkdir(parents=True, exist_ok=True)
    graph_file = work / f"kg-{target}.nt"
    size: dict[str, Any] = {"target": target, "systems": {}, "load": {}, "notes": []}
    size["triples"] = generate.write(target, graph_file, args.seed)
    n_cases = max(1, target // generate.TRIPLES_PER_CASE)
    _log(f"{target}: {size['triples']} triples generated; loading coprod-kg")
    try:
        ours = load_coprod(graph_file, work, args.load_timeout)
    except subprocess.TimeoutExpired:
        size["load"]["coprod-kg"] = None
        size["notes"].append(f"coprod-kg load did not finish within {args.load_timeout:g} s; "
                             "nothing else was measured at this size.")
        _log(f"{target}: coprod-kg load timed out; size skipped")
        return size
    size["load"]["coprod-kg"] = ours.seconds
    quads = dump_coprod(ours.location, work, args.load_timeout)
    size["quads"] = sum(1 for _ in quads.open("rb"))
    _log(f"{target}: coprod-kg load {ours.seconds:.1f} s, {size['quads']} quads; validation")
    size["validation"] = time_validation(ours.location, args.validation_runs)
    loaded = [ours]
    if "oxigraph" in peers:
        oxi = load_oxigraph(quads, work, args.load_timeout)
        size["load"]["oxigraph"] = oxi.seconds
        loaded.append(oxi)
    if "rdflib-endpoint" in peers:
        if target > RDFLIB_MAX:
            size["notes"].append(f"rdflib-endpoint skipped above {RDFLIB_MAX:,} triples "
                                 "(parsing and querying would take far too long).")
        else:
            loaded.append(Loaded("rdflib-endpoint", quads, None))
    for system in loaded:
        _log(f"{target}: serving {system.system}")
        size["systems"][system.system] = bench_server(system, work, n_cases, args,
                                                      size["notes"])
    rows = {name: {s: r["rows"].get(name) for s, r in size["systems"].items()}
            for name in next(iter(size["systems"].values()))["rows"]}
    size["rows"] = rows
    for name, counts in rows.items():
        if len({c for c in counts.values() if c is not None}) > 1 or None in counts.values():
            size["notes"].append(f"{name}: result sizes differ between servers: {counts}")
    return size


def run_mixed(args: argparse.Namespace) -> int:
    """``--mixed``: write ``mixed.json`` and ``mixed.md`` in ``--out``."""
    work = args.work / "mixed"
    try:
        figures = mixed.run(args.out, work, args.mixed_clients, args.mixed_duration, args.seed,
                            _log)
    finally:
        if args.work == args.out / "work":
            shutil.rmtree(args.work, ignore_errors=True)
    _log(f"wrote {args.out / 'mixed.json'} and {args.out / 'mixed.md'}; "
         f"targets: {figures['targets']}")
    return 0


def run_fairness(args: argparse.Namespace) -> int:
    """``--fairness``: write ``fairness.json`` and ``fairness.md`` in ``--out``."""
    scenarios = [s.strip() for s in args.fairness_scenarios.split(",") if s.strip()]
    unknown = set(scenarios) - {"heavy", "validate"}
    if unknown or not scenarios:
        _log(f"--fairness-scenarios: unknown {sorted(unknown)}; use heavy, validate")
        return 2
    try:
        figures = fairness.run(args.out, args.work / "fairness", scenarios,
                               args.fairness_duration, args.validate_records,
                               args.fairness_idle, args.validate_timeout, _log)
    finally:
        if args.work == args.out / "work":
            shutil.rmtree(args.work, ignore_errors=True)
    targets = {k: v.get("targets") for k, v in figures.items()}
    _log(f"wrote {args.out / 'fairness.json'} and {args.out / 'fairness.md'}; "
         f"targets: {targets}")
    return 0


def run_native(args: argparse.Namespace) -> int:
    """``--native``: write ``native.json`` and ``native.md`` in ``--out``."""
    from bench import native, native_report

    peers = [] if args.no_peers else [p for p in PEERS if available(p)]
    for name in PEERS:
        if name not in peers and not args.no_peers:
            _log(f"{name} is not installed: skipped (pip install -e '.[bench]')")
    try:
        results = native.run(args, peers, _log)
    finally:
        if args.work == args.out / "work":
            shutil.rmtree(args.work, ignore_errors=True)
    figures = {s: native_report.ratio(results, s) for s in native_report.TARGETS}
    _log(f"wrote {args.out / 'native.md'} and {args.out / 'native.json'}; ratios {figures}, "
         f"fixed cost {results['synthetic'].get('fixed_cost', {}).get('distinct_ms')} ms")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.from_json:
        old: dict[str, Any] = json.loads(args.from_json.read_text(encoding="utf-8"))
        report.write_json(old, args.out)
        _log(f"wrote {report.write_markdown(old, args.out)} and the plots "
             f"{report.write_plots(old, args.out)}")
        return 0
    args.work = args.work or args.out / "work"
    if args.mixed:
        return run_mixed(args)
    if args.fairness:
        return run_fairness(args)
    if args.native:
        return run_native(args)
    if args.explorer:
        from bench import explorer

        found = explorer.bench_explorer(args.explorer_cases, args.explorer_runs, args.seed)
        _log(f"wrote {explorer.write(found, args.out)}")
        return 0
    peers = [] if args.no_peers else [p for p in PEERS if available(p)]
    missing = [] if args.no_peers else [p for p in PEERS if p not in peers]
    results: dict[str, Any] = {"meta": {
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": f"{platform.machine()}, {platform.python_version()}, "
                   f"{len(os.sched_getaffinity(0))} CPUs",
        "concurrency": args.concurrency, "duration": args.duration, "seed": args.seed,
        "max_requests": args.max_requests, "peers": peers, "missing_peers": missing,
        "sizes": args.size_list}, "sizes": []}
    for name in missing:
        _log(f"{name} is not installed: skipped (pip install -e '.[bench]')")
    try:
        for target in args.size_list:
            results["sizes"].append(bench_size(target, args, peers))
            report.write_json(results, args.out)  # keep what is done if a later size fails
    finally:
        if args.work == args.out / "work":
            shutil.rmtree(args.work, ignore_errors=True)
    report.write_json(results, args.out)
    md = report.write_markdown(results, args.out)
    plots = report.write_plots(results, args.out)
    _log(f"wrote {md}, {args.out / 'results.json'} and {', '.join(map(str, plots))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
