"""``python -m bench --native``: throughput with wrk, the fixed cost, and the real graph.

All servers hold the same quads (coprod-kg's store; the peers load its N-Quads dump) and run at
the same time on 127.0.0.1; the runs alternate between them, so a change in the machine's load
falls on each in turn. Scenarios (issue 14):

(a) ``mix``: a repeated-query mix, Zipf-skewed over the bench's queries and the competency
    questions (the same list for every run, warmed up first);
(b) ``uncached``: light lookups of a different resource each (each run of each server gets its
    own slice of the list, so no answer is ever asked for twice);
(c) ``heavy``: aggregations and joins, each request distinct (see ``bench/workloads.py``);
(d) the fixed cost: median latency of a trivial lookup, one request at a time from one Python
    client, coprod-kg minus Oxigraph's server (the client's own cost cancels out);

then the competency questions over the real knowledge graph (``bench/realgraph.py``).

Each scenario runs ``repeats`` times per server with ``-t2 -c8`` and once with ``-t1 -c8``: if
halving wrk's threads leaves the throughput where it was, and wrk used little CPU, the client
was not the limit. Every wait is bounded; the servers are stopped in a ``finally``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench import generate, native_report, realgraph, workloads
from bench import wrk as wrk_tool
from bench.loadgen import load_queries
from bench.servers import Server, wait_ready
from bench.systems import (
    NO_CLIENT_LIMITS,
    Loaded,
    dump_coprod,
    load_coprod,
    load_oxigraph,
    serve,
    tool,
)
from coprod_kg.quality.competency import list_questions

Log = Callable[[str], None]
RDFLIB_MAX = 100_000
MAIN = (2, 8)  # wrk threads, connections
#: The scenarios whose every request must be new to the server: past the end of its list, a
#: request's query ends with a comment naming its pass (``bench/lua/requests.lua``).
DISTINCT = frozenset({"uncached", "heavy"})
CHECK = (1, 8)


def _git_commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, check=False, cwd=Path(__file__).parent)
    return done.stdout.strip() or "unknown"


def _wrk_version() -> str:
    binary = wrk_tool.wrk_path()
    if binary is None:
        return "missing"
    done = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).splitlines()[0].strip() if (done.stdout or done.stderr) \
        else "unknown"


def _start(loaded: list[Loaded], work: Path, args: argparse.Namespace,
           log: Log) -> dict[str, Server]:
    servers: dict[str, Server] = {}
    for system in loaded:
        if system.system == "coprod-kg":
            servers[system.system] = serve(system, work, NO_CLIENT_LIMITS, args.coprod_workers)
        else:
            servers[system.system] = serve(system, work)
    for name, server in servers.items():
        seconds = wait_ready(server, args.ready_timeout)
        log(f"  {name} ready in {seconds:.1f} s at {server.endpoint}")
    return servers


def _slices(items: list[str], count: int) -> list[list[str]]:
    size = len(items) // count
    return [items[i * size:(i + 1) * size] for i in range(count)]


def _scenario(name: str, lists: list[list[str]], servers: dict[str, Server], work: Path,
              args: argparse.Namespace, log: Log) -> dict[str, Any]:
    """Warm-up, ``repeats`` main runs and one client check per server; ``lists`` per run."""
    if name == "heavy" and "rdflib-endpoint" in servers:
        # One heavy query takes rdflib-endpoint longer than a whole run: it would complete
        # nothing, and keep computing abandoned requests into the next server's run.
        servers = {k: v for k, v in servers.items() if k != "rdflib-endpoint"}
    runs: dict[str, dict[str, Any]] = {s: {"main": []} for s in servers}
    files: dict[int, tuple[Path, int]] = {}

    def list_file(index: int) -> tuple[Path, int]:
        if index not in files:
            path = work / "lists" / f"{name}-{index}.txt"
            files[index] = (path, wrk_tool.write_list(path, lists[index % len(lists)]))
        return files[index]

    def once(system: str, index: int, threads: int, connections: int,
             duration: float) -> wrk_tool.WrkRun:
        server = servers[system]
        path, size = list_file(index)
        result = wrk_tool.run(server.endpoint, path, size, threads=threads,
                              connections=connections, duration=duration,
                              server_pid=server.process.pid, timeout=args.wrk_timeout,
                              distinct=name in DISTINCT)
        wrk_tool.wait_idle(server.process.pid)  # the next run starts on an idle server
        log(f"  {name} {system} -t{threads} -c{connections}: {result.throughput:.1f} req/s, "
            f"p50 {result.p50_ms:.2f} ms, wrk CPU {result.client_cpu_share:.0%}, "
            f"{result.errors} errors, load {result.loadavg_after:.1f}")
        return result

    for system in servers:
        once(system, 0, *MAIN, args.warmup)
    for repeat in range(args.repeats):
        for system in servers:
            runs[system]["main"].append(once(system, 1 + repeat, *MAIN, args.wrk_duration)
                                        .as_dict())
    for system in servers:
        runs[system]["check"] = once(system, 1 + args.repeats, *CHECK, args.wrk_duration) \
            .as_dict()
    for data in runs.values():
        throughputs = [r["throughput"] for r in data["main"]]
        data["throughput"] = statistics.median(throughputs)
        data["spread"] = [min(throughputs), max(throughputs)]
        data["client_ratio"] = (data["throughput"] / data["check"]["throughput"]
                                if data["check"]["throughput"] else None)
        data["client_cpu_share"] = max(float(r["client_cpu_share"]) for r in data["main"])
        data["server_cpu_cores"] = statistics.median(
            float(r["server_cpu_s"]) / float(r["duration_s"]) for r in data["main"])
        # Requests per CPU-second of the server's process tree: on a shared machine the share
        # of the CPU each server gets varies from run to run; the work per request does not.
        data["per_cpu_s"] = statistics.median(
            (int(r["requests"]) - int(r["errors"])) / float(r["server_cpu_s"])
            if float(r["server_cpu_s"]) > 0 else 0.0 for r in data["main"])
        data["errors"] = sum(int(r["errors"]) for r in data["main"]) + data["check"]["errors"]
        data["repeats"] = sum(int(r["repeats"]) for r in data["main"]) + data["check"]["repeats"]
        data["client_limit"] = client_limit(data["client_cpu_share"], data["client_ratio"])
    return {"lists": [len(x) for x in lists], "servers": runs}


def client_limit(cpu_share: float, ratio: float | None) -> str:
    """Whether wrk, not the server, may have set the pace: "yes", "possibly" or "no".

    wrk is event-driven: while it uses a small part of a core it is waiting on the server,
    whatever a second thread changes (on a shared machine the -t2/-t1 ratio moves with the
    load). Past half a core it may be the limit; in between, the ratio decides.
    """
    if cpu_share > 0.5:
        return "yes"
    if cpu_share >= 0.2 and ratio is not None and ratio > 1.15:
        return "possibly"
    return "no"


def _fixed_cost(servers: dict[str, Server], iris: list[str], requests: int,
                log: Log) -> dict[str, Any]:
    """Sequential median latency of a trivial lookup per server: distinct, then repeated."""
    distinct = workloads.trivial(iris[:requests])
    repeated = [workloads.TRIVIAL_FORM.format(iri=iris[0])] * requests
    latencies: dict[str, dict[str, list[float]]] = {
        s: {"distinct": [], "repeated": []} for s in servers}
    with httpx.Client(timeout=30.0) as client:
        for half in (0, 1):  # two rounds, servers alternating, so both see the same load
            for system, server in servers.items():
                for kind, texts in (("distinct", distinct), ("repeated", repeated)):
                    part = texts[half::2]
                    for text in part:
                        start = time.perf_counter()
                        response = client.get(server.endpoint, params={"query": text},
                                              headers={"Accept": wrk_tool.accept_for(text)})
                        _ = response.content
                        elapsed = (time.perf_counter() - start) * 1000
                        if response.status_code == 200:
                            latencies[system][kind].append(elapsed)
    out: dict[str, Any] = {"requests": requests,
                           "query": workloads.TRIVIAL_FORM.format(iri="IRI")}
    for system, kinds in latencies.items():
        out[system] = {kind: {"p50_ms": statistics.median(v) if v else None,
                              "ok": len(v)} for kind, v in kinds.items()}
    for kind in ("distinct", "repeated"):
        ours = out.get("coprod-kg", {}).get(kind, {}).get("p50_ms")
        theirs = out.get("oxigraph", {}).get(kind, {}).get("p50_ms")
        out[f"{kind}_ms"] = None if ours is None or theirs is None else ours - theirs
    log(f"  fixed cost: distinct {out['distinct_ms']}, repeated {out['repeated_ms']} ms")
    return out


def _stop(servers: dict[str, Server]) -> None:
    for server in servers.values():
        server.stop()


def _load(graph_file: Path | None, peers: list[str], work: Path, args: argparse.Namespace,
          log: Log) -> tuple[list[Loaded], Path]:
    """coprod-kg's store (ontology, ``data/`` and ``graph_file`` if any), its N-Quads dump and
    the peers' stores of that dump."""
    store = work / "coprod-store"
    log(f"loading coprod-kg ({graph_file.name if graph_file else 'ontology and data/ only'})")
    if graph_file is not None:
        ours = load_coprod(graph_file, work, args.load_timeout)
    else:
        shutil.rmtree(store, ignore_errors=True)
        cli = tool("coprod-kg")
        assert cli is not None, "coprod-kg is not installed in this environment"
        (work / "logs").mkdir(parents=True, exist_ok=True)
        with (work / "logs" / "coprod-load.log").open("ab") as sink:
            subprocess.run([str(cli), "load", "--store", str(store)], stdout=sink,
                           stderr=subprocess.STDOUT, check=True, timeout=args.load_timeout)
        ours = Loaded("coprod-kg", store, None)
    quads = dump_coprod(ours.location, work, args.load_timeout)
    loaded = [ours]
    if "oxigraph" in peers:
        loaded.append(load_oxigraph(quads, work, args.load_timeout))
    return loaded, quads


def scenarios(servers: dict[str, Server], quads: Path, n_cases: int, work: Path,
              args: argparse.Namespace, log: Log) -> dict[str, Any]:
    """Scenarios (a)-(d) against running servers that hold the quads of ``quads``."""
    out: dict[str, Any] = {"quads": sum(1 for _ in quads.open("rb")), "notes": []}
    queries = load_queries()
    runs_per_server = args.repeats + 2  # warm-up, main runs, client check
    mix, shares = workloads.repeated_mix(queries, n_cases, args.seed, args.mix_length)
    iris = workloads.resources(quads)
    lookups = workloads.uncached_lookups(iris, args.seed)
    heavy = workloads.heavy(queries, n_cases, args.seed, runs_per_server * args.heavy_length)
    out["mix_shares"] = shares
    out["mix_distinct"] = len(set(mix))
    out["resources"] = len(iris)
    out["scenarios"] = {
        "mix": _scenario("mix", [mix], servers, work, args, log),
        "uncached": _scenario("uncached", _slices(lookups, runs_per_server), servers, work,
                              args, log),
        "heavy": _scenario("heavy", _slices(heavy, runs_per_server), servers, work, args, log),
    }
    if "rdflib-endpoint" in servers:
        out["notes"].append("rdflib-endpoint is not run on (c): one heavy query takes it longer "
                            "than a run, and it keeps computing abandoned requests.")
    pair = {k: v for k, v in servers.items() if k in ("coprod-kg", "oxigraph")}
    out["fixed_cost"] = _fixed_cost(pair, iris[::-1], args.fixed_requests, log)
    return out


def competency(servers: dict[str, Server], quads: Path, args: argparse.Namespace,
               log: Log) -> dict[str, Any]:
    """The competency questions, one at a time, on coprod-kg and Oxigraph server."""
    pair = {k: v.endpoint for k, v in servers.items() if k in ("coprod-kg", "oxigraph")}
    found = realgraph.compare(list_questions(workloads.COMPETENCY_DIR), pair, args.real_runs)
    found["quads"] = sum(1 for _ in quads.open("rb"))
    log(f"  real graph: {found['agree']}/{found['count']} answers agree; sums of medians "
        + ", ".join(f"{k} {v['sum_median_ms']:.1f} ms" for k, v in found["totals"].items()))
    return found


def run(args: argparse.Namespace, peers: list[str], log: Log) -> dict[str, Any]:
    """The whole native run; writes ``native.json`` and ``native.md`` in ``args.out``."""
    if wrk_tool.wrk_path() is None:
        raise RuntimeError("wrk is not installed: bash scripts/bench-deps.sh")
    work = args.work / "native"
    work.mkdir(parents=True, exist_ok=True)
    if "rdflib-endpoint" in peers and (args.quick or not args.native_size):
        peers = [p for p in peers if p != "rdflib-endpoint"]
    results: dict[str, Any] = {"meta": {
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "commit": _git_commit(),
        "machine": f"{platform.machine()}, Python {platform.python_version()}, "
                   f"{os.cpu_count()} CPUs",
        "cpus": os.cpu_count(), "wrk": _wrk_version(), "peers": peers,
        "coprod_workers": args.coprod_workers,
        "wrk_duration": args.wrk_duration, "warmup": args.warmup, "repeats": args.repeats,
        "main": list(MAIN), "check": list(CHECK), "seed": args.seed, "quick": args.quick,
        "loadavg_start": list(os.getloadavg()),
        "native_size": args.native_size}}
    real_work = work / "real"
    if args.native_size:
        # The throughput scenarios on a generated graph, then the real graph on its own.
        synth_work = work / "synthetic"
        graph_file = synth_work / f"kg-{args.native_size}.nt"
        synth_work.mkdir(parents=True, exist_ok=True)
        triples = generate.write(args.native_size, graph_file, args.seed)
        loaded, quads = _load(graph_file, peers, synth_work, args, log)
        notes = []
        if "rdflib-endpoint" in peers:
            if args.native_size > RDFLIB_MAX:
                notes.append(f"rdflib-endpoint not run above {RDFLIB_MAX:,} triples.")
            else:
                loaded.append(Loaded("rdflib-endpoint", quads, None))
        servers = _start(loaded, synth_work, args, log)
        try:
            n_cases = max(1, args.native_size // generate.TRIPLES_PER_CASE)
            results["synthetic"] = scenarios(servers, quads, n_cases, synth_work, args, log)
        finally:
            _stop(servers)
        results["synthetic"].update(target=args.native_size, triples=triples)
        results["synthetic"]["notes"] += notes
        native_report.write(results, args.out)
        loaded, quads = _load(None, peers, real_work, args, log)
        servers = _start(loaded, real_work, args, log)
        try:
            results["real_graph"] = competency(servers, quads, args, log)
        finally:
            _stop(servers)
    else:
        # --native-size 0 (the quick run): everything on the real graph, one load.
        loaded, quads = _load(None, peers, real_work, args, log)
        servers = _start(loaded, real_work, args, log)
        try:
            results["synthetic"] = scenarios(servers, quads, 1, real_work, args, log)
            results["synthetic"].update(target=0, triples=0)
            results["real_graph"] = competency(servers, quads, args, log)
        finally:
            _stop(servers)
    results["meta"]["loadavg_end"] = list(os.getloadavg())
    results["meta"]["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    return native_report.write(results, args.out)
