"""The query mix and a closed-loop load generator with a fixed number of client threads.

Queries live in ``bench/queries/*.rq``; the first line ``# class: NAME`` gives the query class.
Placeholders are filled per request from a seeded generator: ``{N}`` a case number, ``{ORG}``
an organisation number, ``{WORD}`` a title word, so lookups do not hit one cached answer.
"""

from __future__ import annotations

import random
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rdflib import Graph

from bench.generate import WORDS

QUERY_DIR = Path(__file__).parent / "queries"
CLASSES = ("lookup", "describe", "aggregation", "path", "text", "join")
_RDF_FORMATS = {"application/n-triples": "nt", "text/turtle": "turtle",
                "application/rdf+xml": "xml"}
_CLASS_LINE = re.compile(r"^#\s*class:\s*(\w+)\s*$")


@dataclass(frozen=True)
class Query:
    """One query template of the mix."""

    name: str
    klass: str
    template: str

    @property
    def is_graph(self) -> bool:
        return "\nDESCRIBE" in self.template

    def instance(self, rng: random.Random, n_cases: int) -> str:
        """The template with its placeholders filled from ``rng``."""
        return (self.template.replace("{N}", str(rng.randrange(n_cases)))
                .replace("{ORG}", str(rng.randrange(max(1, n_cases // 5))))
                .replace("{WORD}", rng.choice(WORDS)))


def load_queries(directory: Path = QUERY_DIR) -> list[Query]:
    """Every ``*.rq`` in ``directory``, sorted by name; raises if one lacks a known class."""
    queries = []
    for path in sorted(directory.glob("*.rq")):
        text = path.read_text(encoding="utf-8")
        match = _CLASS_LINE.match(text.splitlines()[0]) if text else None
        if match is None or match.group(1) not in CLASSES:
            raise ValueError(f"{path}: the first line must be '# class: ' one of {CLASSES}")
        queries.append(Query(path.stem, match.group(1), text))
    if not queries:
        raise ValueError(f"no queries in {directory}")
    return queries


def accept_for(query: Query) -> str:
    return "application/n-triples, text/turtle;q=0.9" if query.is_graph \
        else "application/sparql-results+json"


@dataclass
class ClassResult:
    """Latencies (seconds) of the successful requests of one class, errors and wall time."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0
    first_error: str = ""

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed > 0 else 0.0

    def percentile(self, p: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run_class(endpoint: str, queries: list[Query], n_cases: int, concurrency: int,
              duration: float, max_requests: int, seed: int,
              request_timeout: float = 60.0) -> ClassResult:
    """Send the class's queries round-robin from ``concurrency`` threads.

    Each thread stops when ``duration`` seconds have passed or the class has sent
    ``max_requests`` requests, whichever is first; a request in flight finishes (bounded by
    ``request_timeout``).
    """
    result = ClassResult()
    lock = threading.Lock()
    sent = [0]
    deadline = time.perf_counter() + duration

    def worker(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        with httpx.Client(timeout=request_timeout) as client:
            while time.perf_counter() < deadline:
                with lock:
                    if sent[0] >= max_requests:
                        return
                    number = sent[0]
                    sent[0] += 1
                query = queries[number % len(queries)]
                text = query.instance(rng, n_cases)
                start = time.perf_counter()
                try:
                    response = client.post(endpoint, data={"query": text},
                                           headers={"Accept": accept_for(query)})
                    ok = response.status_code == 200
                    detail = f"{query.name}: HTTP {response.status_code} {response.text[:200]}"
                except httpx.HTTPError as exc:
                    ok, detail = False, f"{query.name}: {type(exc).__name__} {exc}"
                latency = time.perf_counter() - start
                with lock:
                    if ok:
                        result.latencies.append(latency)
                    else:
                        result.errors += 1
                        result.first_error = result.first_error or detail

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration + request_timeout + 5)
    result.elapsed = time.perf_counter() - started
    return result


def row_count(endpoint: str, query: Query, timeout: float = 120.0) -> int | None:
    """Rows (SELECT) or lines (DESCRIBE, N-Triples) of the instance with fixed placeholders."""
    text = query.instance(random.Random(7), 1)  # case 0, organisation 0
    try:
        response = httpx.post(endpoint, data={"query": text},
                              headers={"Accept": accept_for(query)}, timeout=timeout)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    if query.is_graph:
        graph = Graph()
        media = response.headers.get("content-type", "").split(";")[0].strip()
        try:
            graph.parse(data=response.content, format=_RDF_FORMATS.get(media, "xml"))
        except (SyntaxError, ValueError):
            return None
        return len(graph)
    bindings = response.json().get("results", {}).get("bindings", [])
    return len(bindings)
