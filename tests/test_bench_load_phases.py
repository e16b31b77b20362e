"""``python -m bench.load_phases`` times the load's own functions and prints their timeline."""

from __future__ import annotations

import threading

import pytest

from bench.load_phases import PHASES, Span, Timeline, _resolve, missing_phases, report


def test_every_phase_is_a_function_the_load_has() -> None:
    assert missing_phases() == []


def test_a_renamed_function_is_reported_missing() -> None:
    assert _resolve("coprod_kg.loading.load", "no_such_phase") is None
    assert _resolve("coprod_kg.loading.inference", "NoSuchClass.run") is None
    assert len(PHASES) == len({(module, path) for module, path, _ in PHASES})


def test_a_wrapped_call_is_timed_in_its_thread_and_keeps_its_result_and_errors() -> None:
    timeline = Timeline()

    def double(value: int) -> int:
        return 2 * value

    def fail() -> None:
        raise ValueError("stop")

    assert timeline.wrap(double, "double")(21) == 42
    with pytest.raises(ValueError, match="stop"):
        timeline.wrap(fail, "fail")()
    worker = threading.Thread(target=timeline.wrap(double, "in a thread"), args=(1,),
                              name="worker")
    worker.start()
    worker.join()
    assert [(s.label, s.thread) for s in timeline.spans] == [
        ("double", "MainThread"), ("fail", "MainThread"), ("in a thread", "worker")]
    assert all(0 <= s.start <= s.end and s.thread_cpu >= 0 for s in timeline.spans)


def test_the_report_lists_phases_by_start_and_sums_short_graph_writes() -> None:
    timeline = Timeline()
    write = "write one source's graph"
    timeline.spans = [Span("rules", "entailments", 2.0, 9.0, 6.0),
                      Span("parse", "MainThread", 0.0, 3.5, 3.4),
                      Span(write, "storing_0", 1.0, 12.0, 2.5),
                      Span(write, "storing_0", 12.0, 12.01, 0.01),
                      Span(write, "storing_0", 12.01, 12.03, 0.02)]
    text = report(timeline, 20.0, 36.0)
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[1:] == [
        "| parse | MainThread | 0.00 | 3.50 | 3.50 | 3.40 |",
        f"| {write} | storing_0 | 1.00 | 12.00 | 11.00 | 2.50 |",
        "| rules | entailments | 2.00 | 9.00 | 7.00 | 6.00 |",
        "| 2 shorter graph writes | storing_0 | 12.00 | 12.03 | 0.03 | 0.03 |"]
    assert "Wall clock 20.00 s; the process used 36.00 CPU-s (1.80 cores on average)" in text
