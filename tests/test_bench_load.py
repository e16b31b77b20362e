"""``python -m bench.load`` writes its figures as a Markdown table with the ratios and targets."""

from __future__ import annotations

from bench.load import markdown


def test_the_table_shows_the_ratios_against_their_targets() -> None:
    result = {"triples_target": 1000, "triples": 1002, "file_bytes": 150_000,
              "oxigraph_load_s": 2.0, "oxigraph_load_cpu_s": 1.5, "coprod_load_s": 5.0,
              "coprod_load_cpu_s": 4.0, "load_ratio": 0.4, "load_cpu_ratio": 0.375,
              "restart_s": [2.0, 2.5, 4.0], "restart_median_s": 2.5, "cpus": 2,
              "machine": "test", "load_average_before": [1.0, 1.0, 1.0],
              "load_average_after": [2.0, 2.0, 2.0], "oxigraph_graph_load_s": 3.0,
              "oxigraph_graph_load_cpu_s": 2.5, "graph_load_ratio": 0.6}
    text = markdown(result)
    assert "| 2.00 (1.50) | 5.00 (4.00) | 0.40x ✗ | 0.38x | 2.50 ✓ | 2.00 / 2.50 / 4.00 |" in text
    assert "1,002 triples" in text and "1.00, 1.00, 1.00 before" in text
    assert "(not the target): `oxigraph load --graph IRI`" in text
    assert "3.00 s (2.50 CPU s); oxigraph's time over ours 0.60x." in text
