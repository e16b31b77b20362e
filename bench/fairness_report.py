"""The ``fairness.md`` section of ``python -m bench --fairness`` (:mod:`bench.fairness`), rendered
from its figures (``fairness.json``) alone, so a committed result can be checked against its
figures (``tests/test_bench_fairness.py``)."""

from __future__ import annotations

from typing import Any


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}"


def _statuses(entry: dict[str, Any]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(entry["statuses"].items()))


def _run_line(meta: dict[str, str]) -> str:
    return (f"Run {meta['started']} at commit {meta['commit']}, {meta['machine']}, load "
            f"average at start {meta['loadavg']}; server settings from the environment: "
            f"{meta['server_env'] or 'defaults'}.")


def _mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def markdown(figures: dict[str, Any]) -> str:
    """The ``fairness.md`` section."""
    lines = ["### Fairness under abuse (issue 9)", ""]
    a = figures.get("heavy")
    if a:
        h = a["heavy"]
        first = h["first_budget_429_s"]
        heavy = ", ".join(f"{k}: {v}" for k, v in sorted(h["statuses"].items()))
        lines += [
            f"**(a) {a['heavy_threads']} heavy queries from one client for {a['duration_s']:g} s** "
            f"(the three-way cartesian `COUNT`), probing `{a['case_path']}` and a light query "
            "from another client once a second each. Heavy client: "
            f"{h['requests']} answers ({heavy}); "
            + (f"first budget 429 after {first:.1f} s." if first is not None
               else "no budget 429."), "", _run_line(a["meta"]), "",
            "| probe | phase | requests | statuses | p50 ms | p95 ms | max ms |",
            "|---|---|---|---|---|---|---|"]
        for name, entry in a["probes"].items():
            for phase, s in entry.items():
                lines.append(f"| {name} | {phase.replace('_', ' ')} | {s['requests']} | "
                             f"{_statuses(s)} | {_ms(s['p50_s'])} | {_ms(s['p95_s'])} | "
                             f"{_ms(s['max_s'])} |")
        t = a["targets"]
        lines += ["", f"- case page and document p50 ≤ 1 s (whole run): "
                  f"{_mark(t['page_and_document_p50_within_1s'])}",
                  f"- the heavy client gets 429 once its budget is spent: "
                  f"{_mark(t['heavy_client_gets_budget_429'])}", ""]
    b = figures.get("validate")
    if b:
        vals = ", ".join(f"{v['status'] or 'no answer'} in {v['seconds']:.1f} s"
                         for v in b["validations"])
        ratio = "-" if b["ratio"] is None else f"{b['ratio']:.1f}x"
        lines += [
            f"**(b) two `POST /validate` of {b['records']} minimal records "
            f"({b['body_bytes']:,} bytes) each, at once**: {vals}; server memory "
            f"{b['idle_rss_mb']:.0f} MB idle, {b['peak_rss_mb']:.0f} MB peak.", "",
            _run_line(b["meta"]), "",
            "| light query | requests | statuses | p50 ms | p95 ms | max ms |",
            "|---|---|---|---|---|---|"]
        for phase in ("light_idle", "light_during"):
            s = b[phase]
            lines.append(f"| {phase.removeprefix('light_')} | {s['requests']} | {_statuses(s)} "
                         f"| {_ms(s['p50_s'])} | {_ms(s['p95_s'])} | {_ms(s['max_s'])} |")
        lines += ["", f"- light-query p50 during ≤ 2x idle: {ratio} "
                  f"{_mark(b['targets']['light_p50_within_2x_idle'])}", ""]
    return "\n".join(lines)
