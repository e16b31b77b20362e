"""The explorer benchmark runs end to end on a small synthetic case base (no timing asserted)."""

from __future__ import annotations

from pathlib import Path

from bench.explorer import bench_explorer, write


def test_the_explorer_benchmark_runs(tmp_path: Path) -> None:
    result = bench_explorer(200, 3, seed=7)
    assert result["cases"] == 200
    for key in ("two_facet_filter", "keyword_search", "two_facet_page", "keyword_page"):
        assert result[key]["runs"] == 3 and result[key]["p50_ms"] > 0
    text = write(result, tmp_path).read_text(encoding="utf-8")
    assert "two-facet filter" in text and "keyword search" in text
