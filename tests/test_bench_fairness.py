"""The fairness scenarios' report and input (no server: the scenarios themselves are measured
by ``python -m bench --fairness``, never asserted)."""

from __future__ import annotations

import json
from pathlib import Path

from rdflib import RDF, Graph, Namespace

from bench.__main__ import parse_args
from bench.fairness import Sample, minimal_records, stats
from bench.fairness_report import markdown

CP = Namespace("https://w3id.org/coprod/ontology/")
RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results"


def test_minimal_records_parse_as_that_many_cases() -> None:
    body = minimal_records(2500)
    graph = Graph().parse(data=body, format="turtle")
    assert len(set(graph.subjects(RDF.type, CP.CoProductionCase))) == 2500
    assert 250_000 < len(body) < 350_000  # the issue's ~300 KB request


def test_stats_count_errors_as_slow_answers() -> None:
    samples = [Sample(0, 200, 0.01), Sample(1, 503, 30.0), Sample(2, 200, 0.02)]
    figures = stats(samples)
    assert figures["statuses"] == {"200": 2, "503": 1}
    assert figures["p50_s"] == 0.02 and figures["max_s"] == 30.0


def test_the_mode_and_its_options_parse() -> None:
    args = parse_args(["--fairness", "--fairness-scenarios", "heavy",
                       "--fairness-duration", "5"])
    assert args.fairness and args.fairness_scenarios == "heavy"
    assert args.fairness_duration == 5.0


def test_the_committed_results_render() -> None:
    """``bench/results/fairness.json`` (the last run) renders to its ``fairness.md``."""
    figures = json.loads((RESULTS / "fairness.json").read_text(encoding="utf-8"))
    assert markdown(figures) == (RESULTS / "fairness.md").read_text(encoding="utf-8")
