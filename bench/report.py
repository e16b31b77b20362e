"""Write the benchmark's outputs: ``results.json`` (raw numbers), ``results.md`` and plots."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from bench.loadgen import CLASSES

#: Throughput targets of this server, as a fraction of the peer's, per query class.
OXIGRAPH_TARGETS = {"aggregation": 0.8, "path": 0.8, "lookup": 0.5}
RDFLIB_TARGET = 10.0  # at 100k triples
VALIDATION_P50_MS = 50.0
LOAD_TARGET = 0.5  # this project's load speed as a fraction of `oxigraph load`'s
RESTART_TARGET_S = 3.0

Results = dict[str, Any]


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_json(results: Results, out: Path) -> Path:
    path = out / "results.json"
    _atomic_write(path, json.dumps(results, indent=2, sort_keys=True) + "\n")
    return path


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ratio(ours: float | None, theirs: float | None) -> float | None:
    if not ours or not theirs:
        return None
    return ours / theirs


def _mark(ratio: float | None, target: float | None) -> str:
    if ratio is None:
        return "-"
    if target is None:
        return f"{ratio:.2f}x"
    return f"{ratio:.2f}x {'✓' if ratio >= target else '✗'} (≥{target:g}x)"


def _query_table(size: Results) -> list[str]:
    systems = size["systems"]
    ours = systems.get("coprod-kg", {}).get("classes", {})
    oxi = systems.get("oxigraph", {}).get("classes", {})
    rdf = systems.get("rdflib-endpoint", {}).get("classes", {})
    lines = ["| class | coprod-kg req/s | p50 ms | p99 ms | oxigraph req/s | p50 ms | p99 ms "
             "| ratio to oxigraph | rdflib-endpoint req/s | p50 ms | ratio to rdflib | errors "
             "| sequential p50 ms (coprod / oxigraph / rdflib) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    rdf_target = RDFLIB_TARGET if size["target"] == 100_000 else None
    for klass in CLASSES:
        mine, their, slow = ours.get(klass, {}), oxi.get(klass, {}), rdf.get(klass, {})
        errors = "/".join(str(s.get("classes", {}).get(klass, {}).get("errors", "-"))
                          for s in systems.values())
        sequential = " / ".join(
            _num(s.get("classes", {}).get(klass, {}).get("sequential_p50_ms"), 2)
            for s in (systems.get(n, {}) for n in ("coprod-kg", "oxigraph", "rdflib-endpoint")))
        versus_oxigraph = _mark(_ratio(mine.get("throughput"), their.get("throughput")),
                                OXIGRAPH_TARGETS.get(klass))
        lines.append(
            f"| {klass} | {_num(mine.get('throughput'))} | {_num(mine.get('p50_ms'), 2)} "
            f"| {_num(mine.get('p99_ms'), 2)} | {_num(their.get('throughput'))} "
            f"| {_num(their.get('p50_ms'), 2)} | {_num(their.get('p99_ms'), 2)} "
            f"| {versus_oxigraph} "
            f"| {_num(slow.get('throughput'))} | {_num(slow.get('p50_ms'), 1)} "
            f"| {_mark(_ratio(mine.get('throughput'), slow.get('throughput')), rdf_target)} "
            f"| {errors} | {sequential} |")
    return lines


def _ops_table(sizes: list[Results]) -> list[str]:
    lines = ["| size (quads) | coprod-kg load s | oxigraph load s | load speed ratio "
             "| restart-to-ready s (coprod / oxigraph / rdflib) | peak RSS MB (coprod / oxigraph / "
             "rdflib) | validation p50 / p95 ms |",
             "|---|---|---|---|---|---|---|"]
    for size in sizes:
        load = size.get("load", {})
        ratio = _ratio(load.get("oxigraph"), load.get("coprod-kg"))
        systems = size["systems"]
        restart = " / ".join(_num(systems.get(s, {}).get("restart_s"), 2)
                             for s in ("coprod-kg", "oxigraph", "rdflib-endpoint"))
        restart_ok = systems.get("coprod-kg", {}).get("restart_s")
        if restart_ok is not None:
            restart += f" {'✓' if restart_ok <= RESTART_TARGET_S else '✗'}"
        rss = " / ".join(_num(systems.get(s, {}).get("peak_rss_mb"), 0)
                         for s in ("coprod-kg", "oxigraph", "rdflib-endpoint"))
        val = size.get("validation", {})
        val_text = f"{_num(val.get('p50_ms'))} / {_num(val.get('p95_ms'))}" if val else "-"
        lines.append(f"| {size['target']:,} ({size.get('quads', 0):,}) "
                     f"| {_num(load.get('coprod-kg'), 2)} | {_num(load.get('oxigraph'), 2)} "
                     f"| {_mark(ratio, LOAD_TARGET)} | {restart} | {rss} | {val_text} |")
    return lines


def _client_line(results: Results) -> str:
    """Which client measured the throughput of each size: wrk, or the Python client."""
    by_client: dict[str, list[str]] = {}
    for size in results["sizes"]:
        clients = {c.get("client", "python") for system in size["systems"].values()
                   for c in system["classes"].values()}
        for client in clients:
            by_client.setdefault(client, []).append(f"{size['target']:,}")
    parts = []
    if "wrk" in by_client:
        parts.append(f"Throughput, p50 and p99 at {', '.join(by_client['wrk'])} triples: wrk "
                     "(2 threads, one connection per client; `bench/wrk.py`); sequential p50: "
                     "the Python client, one request at a time.")
    if "python" in by_client:
        parts.append(f"At {', '.join(by_client['python'])} triples: the Python client (closed "
                     "loop). It tops out near 1,300 requests/s on this machine, so the light "
                     "classes of the faster servers measure the client, not them.")
    note = results["meta"].get("note")
    return " ".join(parts + ([note] if note else []))


def write_markdown(results: Results, out: Path) -> Path:
    meta = results["meta"]
    lines = ["# Benchmark results", "",
             f"Run {meta['started']} on {meta['machine']}; concurrency {meta['concurrency']}, "
             f"{meta['duration']:g} s per query class and server, seed {meta['seed']}. "
             "Ratios are this server's throughput divided by the peer's (✓ meets the target).",
             "",
             _client_line(results), ""]
    for size in results["sizes"]:
        lines += [f"## {size['target']:,} triples (generated {size.get('triples', 0):,}; "
                  f"{size.get('quads', 0):,} quads served)", ""]
        lines += _query_table(size)
        lines.append("")
        for note in size.get("notes", []):
            lines.append(f"- {note}")
        if size.get("notes"):
            lines.append("")
    lines += ["## Load, restart, memory and validation", ""]
    lines += _ops_table(results["sizes"])
    lines += ["", f"Targets: load speed ≥ {LOAD_TARGET:g}x `oxigraph load`; restart-to-ready ≤ "
              f"{RESTART_TARGET_S:g} s at 1M; validation p50 ≤ {VALIDATION_P50_MS:g} ms and flat "
              "within 2x from the smallest to the largest size.", ""]
    vals = [s["validation"]["p50_ms"] for s in results["sizes"] if s.get("validation")]
    if len(vals) >= 2:
        lines.append(f"Validation p50 largest/smallest: {vals[-1] / vals[0]:.2f}x.")
    path = out / "results.md"
    _atomic_write(path, "\n".join(lines) + "\n")
    return path


def write_plots(results: Results, out: Path) -> list[Path]:
    """p50 latency against size, one panel per query class, one line per system."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = results["sizes"]
    systems = sorted({name for size in sizes for name in size["systems"]})
    fig, axes = plt.subplots(2, 3, figsize=(13, 7), squeeze=False)
    for ax, klass in zip(axes.flat, CLASSES, strict=True):
        for system in systems:
            xs, ys = [], []
            for size in sizes:
                classes = size["systems"].get(system, {}).get("classes", {})
                p50 = classes.get(klass, {}).get("p50_ms")
                if p50:
                    xs.append(size.get("quads") or size["target"])
                    ys.append(p50)
            if xs:
                ax.plot(xs, ys, marker="o", label=system)
        ax.set_title(klass)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("quads in the store")
        ax.set_ylabel("p50 latency (ms)")
        ax.grid(True, which="both", alpha=0.3)
    axes.flat[0].legend()
    fig.tight_layout()
    path = out / "latency-vs-size.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return [path]
