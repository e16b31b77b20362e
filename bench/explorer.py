"""The case explorer at scale: index build, two-facet filter and keyword search latency.

    python -m bench --explorer                       # 10,000 synthetic cases
    python -m bench --explorer --explorer-cases 2000 --explorer-runs 50

Synthetic cases (the shapes of :mod:`bench.generate`, plus a quoted passage on each coding) are
loaded into an in-memory Oxigraph store behind the :class:`~coprod_kg.storage.store.KnowledgeStore`
protocol; the explorer's index is built from it exactly as the server builds it. Each query is
timed twice: in the core (:func:`api.views.explorer.run`: rows, every facet's counts, highlights)
and as the whole HTML page through the app (facets, table, four charts), in process. The target
is a p50 of at most 50 ms for both at 10,000 cases.
"""

from __future__ import annotations

import hashlib
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from api.views.case_index import build_index
from api.views.explorer import Filter, run
from bench.generate import LEVELS, PHASES, WORDS, case_triples, shared_triples
from coprod_kg.rdf.namespaces import CASE, CP, CPC
from coprod_kg.storage.store import GraphRecord, QueryRequest, QueryResult

TARGET_MS = 50.0
QUOTES = ("the parents kept the books", "residents walked the streets at night",
          "patients learnt to manage their condition", "tenants trimmed the hedges")


class MemoryStore:
    """A :class:`~coprod_kg.storage.store.KnowledgeStore` over an in-memory Oxigraph store."""

    def __init__(self, lines: Iterator[str]) -> None:
        data = "\n".join(lines).encode("utf-8")
        self.store = ox.Store()
        self.store.bulk_load(data, format=ox.RdfFormat.N_TRIPLES)
        self.record = GraphRecord("urn:bench:explorer", "bench",
                                  hashlib.sha256(data).hexdigest(), len(self.store))

    def query(self, request: QueryRequest) -> QueryResult:
        """Run a SELECT and serialise it as SPARQL JSON (what the server's store returns)."""
        from coprod_kg.rdf.formats import QueryForm

        solutions = self.store.query(request.query, use_default_graph_as_union=True)
        body = solutions.serialize(format=ox.QueryResultsFormat.JSON)  # type: ignore[union-attr]
        assert body is not None
        return QueryResult(body, "application/sparql-results+json", QueryForm.SELECT)

    def graphs(self) -> list[GraphRecord]:
        """The one graph, with the digest of its content."""
        return [self.record]

    def ready(self) -> bool:
        """Always loaded."""
        return True

    def close(self) -> None:
        """Nothing to release."""


def synthetic(n_cases: int, seed: int) -> Iterator[str]:
    """N-Triples of ``n_cases`` synthetic cases, each coding with a quoted passage."""
    rng = random.Random(seed)
    n_orgs, n_sources = max(1, n_cases // 5), max(1, n_cases // 10)
    yield from shared_triples(n_orgs, n_sources)
    for n in range(n_cases):
        for line in case_triples(rng, n, n_orgs, n_sources):
            yield line
            if line.endswith(f"<{CP}Coding> ."):
                coding = line.split(" ", 1)[0]
                quote = rng.choice(QUOTES) + " " + rng.choice(WORDS)
                yield f'{coding} <{CP}quote> "{quote}"@en .'
    yield f"<{CASE}synthetic-0> <{CP}placeName> \"Uppsala\"@en ."


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered), 2),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
            "max_ms": round(ordered[-1], 2), "runs": len(ordered)}


def _time(action: Callable[[], Any], runs: int) -> dict[str, float]:
    action()  # warm
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return _percentiles(samples)


def bench_explorer(n_cases: int, runs: int, seed: int) -> dict[str, Any]:
    """Build the index over ``n_cases`` synthetic cases and time the explorer's queries."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from coprod_kg.config import load_settings

    started = time.perf_counter()
    store = MemoryStore(synthetic(n_cases, seed))
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    index = build_index(store)
    built = time.perf_counter() - started
    rng = random.Random(seed)
    pairs = [(str(CPC[rng.choice(LEVELS)]), str(CPC[rng.choice(PHASES)])) for _ in range(runs)]
    words = [rng.choice(WORDS) + " " + rng.choice(("parents", "hedges", "streets", "condition"))
             for _ in range(runs)]
    two = iter(pairs * 3)
    search = iter(words * 3)
    facets = _time(lambda: run(index, Filter((("level", next(two)[0]),
                                             ("phase", next(two)[1])))), runs)
    keywords = _time(lambda: run(index, Filter(words=next(search))), runs)
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings({}).with_overrides(store=Path(tmp) / "store")
        with TestClient(create_app(settings, store=store)) as client:
            client.get("/browse/cases")  # the first request builds the app's index
            pages = iter(pairs * 3)
            texts = iter(words * 3)

            def facet_page() -> None:
                level, phase = next(pages)
                assert client.get("/browse/cases", params={"level": level,
                                                           "phase": phase}).status_code == 200

            def search_page() -> None:
                assert client.get("/browse/cases",
                                  params={"q": next(texts)}).status_code == 200

            facet_http = _time(facet_page, runs)
            search_http = _time(search_page, runs)
    return {"cases": len(index), "triples": store.record.triples,
            "load_s": round(loaded, 2), "index_build_s": round(built, 2),
            "two_facet_filter": facets, "keyword_search": keywords,
            "two_facet_page": facet_http, "keyword_page": search_http,
            "target_p50_ms": TARGET_MS}


def write(result: dict[str, Any], out: Path) -> Path:
    """``explorer.json`` and ``explorer.md`` in ``out``; returns the Markdown file."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "explorer.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    lines = [f"# Case explorer at {result['cases']:,} synthetic cases",
             "", f"{result['triples']:,} triples; index built in {result['index_build_s']} s "
             f"(once per published state). Target: p50 ≤ {TARGET_MS:.0f} ms.", "",
             "| What | p50 (ms) | p95 (ms) | max (ms) | runs | within target |",
             "|---|---:|---:|---:|---:|---|"]
    for key, name in (("two_facet_filter", "two-facet filter (core)"),
                      ("keyword_search", "keyword search (core)"),
                      ("two_facet_page", "two-facet filter, whole page"),
                      ("keyword_page", "keyword search, whole page")):
        row = result[key]
        ok = "yes" if row["p50_ms"] <= TARGET_MS else "NO"
        lines.append(f"| {name} | {row['p50_ms']} | {row['p95_ms']} | {row['max_ms']} | "
                     f"{row['runs']} | {ok} |")
    path = out / "explorer.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
