"""Smoke test of the benchmark harness: ``python -m bench --quick --no-peers`` on a tiny graph.

Checks that the outputs exist and are well-formed; it asserts nothing about timings.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph, URIRef

from bench.generate import generate
from bench.loadgen import CLASSES, load_queries
from coprod_kg.config import load_settings
from coprod_kg.validation.shacl import ValidationContext, validate

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("psutil", reason="the bench extra is not installed")
pytest.importorskip("matplotlib", reason="the bench extra is not installed")


def test_query_mix_covers_every_class() -> None:
    queries = load_queries()
    assert queries
    assert {q.klass for q in queries} == set(CLASSES)


def test_synthetic_cases_follow_the_case_shapes() -> None:
    """Generated records obey the curation rules (quotes, who acts together), with no violation."""
    agents = Graph().parse(ROOT / "data" / "agents.ttl")  # the curator the records name

    def lookup(nodes: set[URIRef]) -> Graph:
        out = Graph()
        for node in nodes:
            for triple in agents.triples((node, None, None)):
                out.add(triple)
        return out

    data = "\n".join(generate(1500, seed=7)) + "\n"
    context = ValidationContext.load(load_settings()).with_lookup(lookup)
    result = validate(data, "application/n-triples", context=context)
    assert result.violations == [], [(f.field, f.message) for f in result.violations[:5]]


@pytest.mark.slow
def test_quick_run_writes_well_formed_outputs(tmp_path: Path) -> None:
    out, work = tmp_path / "out", tmp_path / "work"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--no-peers", "--out", str(out),
         "--work", str(work)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]

    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["meta"]["peers"] == []
    assert len(results["sizes"]) == 1
    size = results["sizes"][0]
    assert size["triples"] > 0 and size["quads"] >= size["triples"]
    assert size["load"]["coprod-kg"] > 0
    assert size["validation"]["p50_ms"] > 0
    assert size["validation"]["conforms"] == 1.0
    ours = size["systems"]["coprod-kg"]
    assert set(ours["classes"]) == set(CLASSES)
    for klass, numbers in ours["classes"].items():
        assert numbers["requests"] > 0, klass
        assert numbers["errors"] == 0, (klass, size["notes"])
        assert 0 < numbers["p50_ms"] <= numbers["p99_ms"], klass
    assert ours["ready_s"] > 0 and ours["restart_s"] > 0 and ours["peak_rss_mb"] > 0
    assert all(count is not None for count in ours["rows"].values()), ours["rows"]

    table = (out / "results.md").read_text(encoding="utf-8")
    assert "| class | coprod-kg req/s" in table
    for klass in CLASSES:
        assert f"| {klass} |" in table
    plot = out / "latency-vs-size.png"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
