"""Write the native run's outputs: ``native.json`` (every number) and ``native.md`` (tables)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

#: Throughput of coprod-kg as a fraction of Oxigraph server's, per scenario (issue 14).
TARGETS = {"mix": 1.5, "uncached": 0.3, "heavy": 0.8}
FIXED_COST_TARGET_MS = 0.7
TITLES = {
    "mix": "(a) repeated-query mix (Zipf over the bench's queries and the competency questions)",
    "uncached": "(b) first-time light lookups (a different resource each request)",
    "heavy": "(c) heavy queries (aggregations and joins, each request distinct)",
}
SYSTEMS = ("coprod-kg", "oxigraph", "rdflib-endpoint")


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def ratio(results: dict[str, Any], scenario: str) -> float | None:
    """coprod-kg's median throughput over Oxigraph server's in one scenario."""
    runs = results["synthetic"].get("scenarios", {}).get(scenario, {}).get("servers", {})
    ours = runs.get("coprod-kg", {}).get("throughput")
    theirs = runs.get("oxigraph", {}).get("throughput")
    return ours / theirs if ours and theirs else None


def efficiency(results: dict[str, Any], scenario: str) -> float | None:
    """The same ratio, of requests per CPU-second of each server's processes."""
    runs = results["synthetic"].get("scenarios", {}).get(scenario, {}).get("servers", {})
    ours = runs.get("coprod-kg", {}).get("per_cpu_s")
    theirs = runs.get("oxigraph", {}).get("per_cpu_s")
    return ours / theirs if ours and theirs else None


def _verdict(value: float | None, target: float, at_least: bool = True) -> str:
    if value is None:
        return "-"
    met = value >= target if at_least else value <= target
    return "✓" if met else "✗"


def _loads(results: dict[str, Any]) -> list[float]:
    loads = [float(results["meta"]["loadavg_start"][0])]
    for scenario in results["synthetic"].get("scenarios", {}).values():
        for data in scenario["servers"].values():
            for run in [*data["main"], data["check"]]:
                loads += [float(run["loadavg_before"]), float(run["loadavg_after"])]
    if "loadavg_end" in results["meta"]:
        loads.append(float(results["meta"]["loadavg_end"][0]))
    return loads


def _summary(results: dict[str, Any]) -> list[str]:
    synthetic = results["synthetic"]
    fixed = synthetic.get("fixed_cost", {})
    lines = ["| figure | measured | target | per server CPU-second |", "|---|---|---|---|"]
    for scenario, target in TARGETS.items():
        value = ratio(results, scenario)
        lines.append(f"| {TITLES[scenario]}, coprod-kg ÷ Oxigraph server | "
                     f"{_num(value, 2)}x | ≥ {target:g}x {_verdict(value, target)} "
                     f"| {_num(efficiency(results, scenario), 2)}x |")
    cost = fixed.get("distinct_ms")
    lines.append(f"| (d) fixed cost per request (median, sequential, distinct trivial lookups), "
                 f"coprod-kg - Oxigraph server | {_num(cost, 2)} ms | ≤ "
                 f"{FIXED_COST_TARGET_MS:g} ms {_verdict(cost, FIXED_COST_TARGET_MS, False)} | |")
    lines.append(f"| (d, repeated) the same, one repeated trivial query | "
                 f"{_num(fixed.get('repeated_ms'), 2)} ms | (reported) | |")
    real = results.get("real_graph")
    if real:
        totals = real["totals"]
        ours = totals.get("coprod-kg", {})
        theirs = totals.get("oxigraph", {})
        lines.append(f"| competency questions over the real graph, sum of medians "
                     f"(coprod-kg / Oxigraph server) | {_num(ours.get('sum_median_ms'), 1)} / "
                     f"{_num(theirs.get('sum_median_ms'), 1)} ms | (reported) | |")
        lines.append(f"| the same, median question (coprod-kg / Oxigraph server) | "
                     f"{_num(ours.get('median_of_medians_ms'), 2)} / "
                     f"{_num(theirs.get('median_of_medians_ms'), 2)} ms | (reported) | |")
    return lines


def _scenario_table(results: dict[str, Any]) -> list[str]:
    scenarios = results["synthetic"].get("scenarios", {})
    present = [s for s in SYSTEMS if any(s in sc["servers"] for sc in scenarios.values())]
    head = "| scenario | " + " | ".join(
        f"{s} req/s (min-max) | p50 / p99 ms" for s in present) + " | coprod ÷ oxigraph | target |"
    lines = [head, "|---|" + "---|---|" * len(present) + "---|---|"]
    for name, scenario in scenarios.items():
        cells = []
        for system in present:
            data = scenario["servers"].get(system)
            if data is None:
                cells += ["-", "-"]
                continue
            main = data["main"]
            p50 = sorted(r["p50_ms"] for r in main)[len(main) // 2]
            p99 = sorted(r["p99_ms"] for r in main)[len(main) // 2]
            latency = f"{_num(p50, 2)} / {_num(p99, 1)}" if data["throughput"] else "-"
            cells += [f"{_num(data['throughput'])} ({_num(data['spread'][0])}-"
                      f"{_num(data['spread'][1])})", latency]
        value = ratio(results, name)
        target = TARGETS[name]
        lines.append(f"| {name} | " + " | ".join(cells) +
                     f" | {_num(value, 2)}x | ≥ {target:g}x {_verdict(value, target)} |")
    return lines


def _client_table(results: dict[str, Any]) -> tuple[list[str], list[str]]:
    lines = ["| scenario | server | wrk CPU (max, % of one core) | server CPU (cores) "
             "| requests per server CPU-s | req/s -t2 ÷ -t1 | errors | repeats past the list "
             "| client the limit? |",
             "|---|---|---|---|---|---|---|---|---|"]
    bound: list[str] = []
    for name, scenario in results["synthetic"].get("scenarios", {}).items():
        for system, data in scenario["servers"].items():
            verdict = data["client_limit"]
            if verdict != "no":
                bound.append(f"{name} on {system} ({verdict})")
            lines.append(f"| {name} | {system} | {data['client_cpu_share'] * 100:.0f} % "
                         f"| {data['server_cpu_cores']:.2f} | {_num(data.get('per_cpu_s'), 0)} "
                         f"| {_num(data['client_ratio'], 2)} "
                         f"| {data['errors']} | {data['repeats']} | {verdict} |")
    return lines, bound


def _fixed_table(results: dict[str, Any]) -> list[str]:
    fixed = results["synthetic"].get("fixed_cost")
    if not fixed:
        return []
    lines = ["| probe | coprod-kg p50 ms | oxigraph p50 ms | difference ms |",
             "|---|---|---|---|"]
    for kind, label in (("distinct", "a different resource each request"),
                        ("repeated", "one query repeated")):
        ours = fixed.get("coprod-kg", {}).get(kind, {}).get("p50_ms")
        theirs = fixed.get("oxigraph", {}).get(kind, {}).get("p50_ms")
        lines.append(f"| {label} | {_num(ours, 3)} | {_num(theirs, 3)} "
                     f"| {_num(fixed.get(f'{kind}_ms'), 3)} |")
    return lines


def _real_table(real: dict[str, Any]) -> list[str]:
    systems = [s for s in SYSTEMS if s in real["totals"]]
    lines = ["| question | " + " | ".join(f"{s} median ms | first ms" for s in systems)
             + " | rows | answers agree | as expected |",
             "|---|" + "---|---|" * len(systems) + "---|---|---|"]
    for row in real["questions"]:
        cells = []
        for system in systems:
            cells += [_num(row[system]["median_ms"], 2), _num(row[system]["first_ms"], 2)]
        rows = row[systems[0]].get("rows", "ask")
        expected = "/".join("✓" if row[s]["matches_expected"] else "✗" for s in systems)
        lines.append(f"| {row['name']} | " + " | ".join(cells) +
                     f" | {rows} | {'✓' if row['agree'] else '✗'} | {expected} |")
    sums = []
    for system in systems:
        sums += [_num(real["totals"][system]["sum_median_ms"], 1),
                 _num(real["totals"][system]["sum_first_ms"], 1)]
    lines.append("| **sum** | " + " | ".join(f"**{c}**" for c in sums) + " | | "
                 f"{real['agree']}/{real['count']} | |")
    return lines


def _processes(workers: int) -> str:
    """How coprod-kg was served, beside Oxigraph's server (one process, a thread per core)."""
    if workers == 1:
        return "coprod-kg runs as one server process (`coprod-kg serve`)."
    return (f"coprod-kg runs as `coprod-kg serve --workers {workers}`: one writer process and "
            f"{workers - 1} reader(s) on one port, as Oxigraph's server uses every core with "
            "its threads (`--coprod-workers 1`: one process).")


def markdown(results: dict[str, Any]) -> str:
    """The tables of ``native.md``."""
    meta, synthetic = results["meta"], results["synthetic"]
    loads = _loads(results)
    cpus = meta.get("cpus") or 1
    shared = max(loads) > 0.75 * cpus
    lines = [
        "# Native benchmark: wrk throughput, fixed cost, real-graph latency", "",
        f"Run {meta['started']} (commit {meta['commit']}) on {meta['machine']}; {meta['wrk']}. "
        f"Throughput: `wrk -t{meta['main'][0]} -c{meta['main'][1]}`, {meta['wrk_duration']:g} s "
        f"per run after a {meta['warmup']:g} s warm-up, {meta['repeats']} run(s) per server "
        "and scenario, servers alternating; the median run is reported. Client check: one more "
        f"run with `-t{meta['check'][0]} -c{meta['check'][1]}`. coprod-kg runs without its "
        "per-client limits and its access log (`COPROD_CLIENT_CONCURRENCY=0`, "
        "`COPROD_CLIENT_QUERY_SECONDS=0`, `COPROD_ACCESS_LOG=0`): the peers have neither. "
        + _processes(meta.get("coprod_workers") or 1), "",
        f"Machine load (1-minute load average, the bench's own servers and wrk included) during "
        f"the run: {min(loads):.1f}-{max(loads):.1f} on {cpus} CPUs."
        + (" **Above 0.75 per CPU, other jobs may have shared the machine: read every figure "
           "as ±30 %, and the ratios (servers alternating) as more stable than the absolute "
           "rates.**" if shared else ""), "",
        "## Done-when figures (issue 14)", "",
        "The last column divides each server's requests by the CPU time its processes used "
        "(server and workers): on a shared machine the CPU a server gets varies, its work per "
        "request much less.", ""]
    lines += _summary(results)
    graph = (f"{synthetic['target']:,} triples (generated {synthetic.get('triples', 0):,}; "
             if synthetic.get("target") else "the real graph (")
    lines += ["", f"## Throughput at {graph}{synthetic.get('quads', 0):,} quads served; "
              f"{synthetic.get('resources', 0):,} resources)", ""]
    lines += _scenario_table(results)
    shares = ", ".join(f"{k} {v:.0%}" for k, v in synthetic.get("mix_shares", {}).items())
    lists = {k: v["lists"] for k, v in synthetic.get("scenarios", {}).items()}
    lines += ["", f"The mix: {synthetic.get('mix_distinct', 0)} distinct queries; share of "
              f"requests by class: {shares}. Request lists per run: {lists} (a run that sends "
              "more requests than its list starts the list again: 'repeats' below. In the "
              "uncached and heavy runs a repeat's query ends with a comment naming its pass, "
              "so its text is new and no cache of answers can serve it; the mix repeats its "
              "queries as they are).", "",
              "### Is the client the limit?", ""]
    table, bound = _client_table(results)
    lines += table
    lines += ["", "wrk is event-driven: while it uses a small part of one core it spends its "
              "time waiting for the server. The client is counted as the limit when wrk used "
              "more than half a core, and as possibly the limit when it used at least a fifth "
              "and a second wrk thread raised the throughput by more than 15 %; below a fifth "
              "of a core, a -t2/-t1 ratio away from 1 is the machine's noise. "
              + (f"**The client may have been the limit in: {', '.join(bound)}.**" if bound
                 else "The client was not the limit in any scenario."), ""]
    for note in synthetic.get("notes", []):
        lines.append(f"- {note}")
    fixed = _fixed_table(results)
    if fixed:
        lines += ["", "## (d) Fixed cost per request", "",
                  f"{synthetic['fixed_cost']['requests']} sequential GETs per probe and server "
                  "from one Python client (httpx, keep-alive), two rounds alternating between "
                  f"the servers; query `{synthetic['fixed_cost']['query']}` with a different "
                  "resource each time, or always the same one.", ""]
        lines += fixed
    real = results.get("real_graph")
    if real:
        lines += ["", "## Competency questions over the real knowledge graph", "",
                  f"`coprod-kg load` of the ontology and `data/`, `coprod-kg dump` for Oxigraph "
                  f"server ({real['quads']:,} quads, union default graph); each question "
                  f"{real['runs']} times in a row per server, one request at a time; 'first' is "
                  "the first of those requests.", ""]
        lines += _real_table(real)
        unexpected = [row["name"] for row in real["questions"]
                      if not all(row[s]["matches_expected"] for s in SYSTEMS if s in row)]
        if unexpected:
            lines += ["", f"Not as in the expected file: {', '.join(unexpected)}. The expected "
                      "files are computed over the ontology and `data/` as written "
                      "(tests/test_competency.py); the served store also holds what "
                      "`coprod-kg load` entails (e.g. inferred types), which both servers "
                      "then count alike."]
    return "\n".join(lines) + "\n"


def write(results: dict[str, Any], out: Path) -> dict[str, Any]:
    """Write ``native.json`` and ``native.md`` in ``out``; returns ``results``."""
    out.mkdir(parents=True, exist_ok=True)
    _atomic_write(out / "native.json", json.dumps(results, indent=2, sort_keys=True) + "\n")
    _atomic_write(out / "native.md", markdown(results))
    return results
