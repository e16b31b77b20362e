"""The competency questions over the real knowledge graph, one request at a time.

The store is this repository's own graph (``coprod-kg load`` of the ontology and ``data/``);
Oxigraph's server loads ``coprod-kg dump`` of it, so both hold the same quads. Each question
is sent ``runs`` times to each server in turn (GET, SPARQL JSON results); the first request of
a question is reported apart from the median of all of them (a server that caches answers
serves the repeats from its cache). The answers of the two servers are compared row for row,
and with the question's expected file.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from typing import Any

import httpx

from bench.wrk import SELECT_ACCEPT
from coprod_kg.quality.competency import CompetencyQuestion, Result, read_expected

Rows = list[dict[str, str]]


def _plain(body: dict[str, Any]) -> Result:
    """A SPARQL JSON result as the competency module's plain rows (or the ASK boolean)."""
    if "boolean" in body:
        return bool(body["boolean"])
    rows: Rows = []
    for binding in body.get("results", {}).get("bindings", []):
        rows.append({name: term["value"] for name, term in binding.items()})
    return rows


def canonical(result: Result, ordered: bool) -> bool | list[str]:
    """Rows as comparable JSON strings; sorted unless the query fixes the order."""
    if isinstance(result, bool):
        return result
    rows = [json.dumps(row, sort_keys=True, ensure_ascii=False) for row in result]
    return rows if ordered else sorted(rows)


@dataclass
class Timing:
    """The latencies (ms) of one question on one server, and its last answer."""

    first_ms: float
    median_ms: float
    answer: bool | list[str] | None
    status: int


def time_question(client: httpx.Client, endpoint: str, question: CompetencyQuestion,
                  runs: int) -> Timing:
    """Send one question ``runs`` times, one after the other."""
    latencies: list[float] = []
    answer: bool | list[str] | None = None
    status = 0
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(endpoint, params={"query": question.query},
                              headers={"Accept": SELECT_ACCEPT})
        body = response.content
        latencies.append((time.perf_counter() - start) * 1000)
        status = response.status_code
        if status == 200 and answer is None:
            answer = canonical(_plain(json.loads(body)), question.ordered)
    return Timing(latencies[0], statistics.median(latencies), answer, status)


def compare(questions: list[CompetencyQuestion], endpoints: dict[str, str],
            runs: int) -> dict[str, Any]:
    """Time every question on every server (servers alternate per question); compare answers."""
    rows: list[dict[str, Any]] = []
    with httpx.Client(timeout=60.0) as client:
        for question in questions:
            expected = canonical(read_expected(question), question.ordered)
            row: dict[str, Any] = {"name": question.name}
            answers = {}
            for system, endpoint in endpoints.items():
                timing = time_question(client, endpoint, question, runs)
                row[system] = {"first_ms": timing.first_ms, "median_ms": timing.median_ms,
                               "status": timing.status,
                               "matches_expected": timing.answer == expected}
                answers[system] = timing.answer
                if isinstance(timing.answer, list):
                    row[system]["rows"] = len(timing.answer)
            distinct = {json.dumps(a) for a in answers.values()}
            row["agree"] = len(distinct) == 1 and None not in answers.values()
            rows.append(row)
    totals = {system: {"sum_median_ms": sum(r[system]["median_ms"] for r in rows),
                       "sum_first_ms": sum(r[system]["first_ms"] for r in rows),
                       "median_of_medians_ms": statistics.median(
                           r[system]["median_ms"] for r in rows)}
              for system in endpoints}
    return {"runs": runs, "questions": rows, "totals": totals,
            "agree": sum(1 for r in rows if r["agree"]), "count": len(rows)}
