"""Fairness under abuse (issue 9): ``python -m bench --fairness``.

Both scenarios run against ``coprod-kg serve`` over the real ontology and ``data/`` (loaded
once with ``coprod-kg load``), a fresh server for each, on 127.0.0.1, with
``COPROD_TRUSTED_PROXIES=127.0.0.1`` so that each simulated client is named by its
``X-Forwarded-For`` (any other ``COPROD_*`` variable of the caller's environment reaches the
server, e.g. ``COPROD_CLIENT_QUERY_SECONDS=0`` for a run without the budget).

(a) **heavy**: one client (``198.51.100.1``) runs 16 threads, each sending the three-way
    cartesian ``COUNT`` over the store again and again (after a 429 it pauses 0.5 s: it
    ignores ``Retry-After`` but does not flood). Meanwhile, open loop, one request per second
    each: the case page (``/case/{slug}``, ``Accept: text/html``), its linked-data document
    (``Accept: text/turtle``), and a light SPARQL query from another client
    (``198.51.100.2``). Reported: p50/p95 of each probe, over the whole run and before/after
    the heavy client's first budget 429, and the heavy client's answers by status and reason.
    Target: page and document p50 ≤ 1 s; the heavy client gets 429 once its budget is spent.
(b) **validate**: a light SPARQL query in a closed loop, idle for ``--fairness-idle`` seconds,
    then while two ``POST /validate`` of ``--validate-records`` minimal records each run at
    once. Target: light-query p50 during ≤ 2x idle.

Figures go to ``OUT/fairness.json`` and ``OUT/fairness.md`` (``--fairness-scenarios heavy``
reruns one scenario and keeps the other's figures). Nothing is asserted.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.fairness_report import markdown
from bench.servers import Server, wait_ready
from bench.systems import Loaded, serve, tool

HEAVY_CLIENT = "198.51.100.1"
LIGHT_CLIENT = "198.51.100.2"
HEAVY_THREADS = 16
HEAVY_QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
LIGHT_QUERY = ("PREFIX cp: <https://w3id.org/coprod/ontology/> "
               "PREFIX dcterms: <http://purl.org/dc/terms/> "
               "SELECT ?case ?title WHERE { ?case a cp:CoProductionCase ; dcterms:title ?title }"
               " ORDER BY ?case LIMIT 10")
FIRST_CASE = ("PREFIX cp: <https://w3id.org/coprod/ontology/> "
              "SELECT ?case WHERE { ?case a cp:CoProductionCase } ORDER BY ?case LIMIT 1")
CASE_BASE = "https://w3id.org/coprod/case/"
JSON = "application/sparql-results+json"
PROBES = {"case page (text/html)": "text/html", "case document (text/turtle)": "text/turtle",
          "light SPARQL, other client": JSON}
PAGE_TARGET_S = 1.0
VALIDATE_RATIO_TARGET = 2.0
REQUEST_TIMEOUT = 120.0

Log = Callable[[str], None]


@dataclass
class Sample:
    """One answer: when it was sent (s since the scenario's start), status (0: transport error),
    seconds it took, and for a 429 whether the budget or the concurrency cap refused it."""

    sent: float
    status: int
    seconds: float
    reason: str = ""


@dataclass
class Samples:
    items: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.items.append(sample)


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def stats(samples: list[Sample]) -> dict[str, Any]:
    """Count, statuses and p50/p95 (seconds, over every answer, errors included: a page that
    answers 503 after 30 s was as slow for its reader)."""
    latencies = [s.seconds for s in samples]
    statuses: dict[str, int] = {}
    for s in samples:
        key = f"{s.status} ({s.reason})" if s.reason else str(s.status)
        statuses[key] = statuses.get(key, 0) + 1
    return {"requests": len(samples), "statuses": statuses,
            "p50_s": percentile(latencies, 50), "p95_s": percentile(latencies, 95),
            "max_s": max(latencies, default=None)}


def _reason(response: httpx.Response) -> str:
    if response.status_code != 429:
        return ""
    return "concurrency" if "concurrent" in response.text else "budget"


def load_real(work: Path, log: Log) -> Path:
    """``coprod-kg load --store DIR``: the ontology and ``data/``, nothing synthetic."""
    store = work / "coprod-store"
    if (store / "manifest.json").exists():
        log(f"fairness: reusing the loaded store {store}")
        return store
    shutil.rmtree(store, ignore_errors=True)
    cli = tool("coprod-kg")
    assert cli is not None, "coprod-kg is not installed in this environment"
    (work / "logs").mkdir(parents=True, exist_ok=True)
    log("fairness: loading the ontology and data/ (coprod-kg load)")
    with (work / "logs" / "coprod-load.log").open("ab") as out:
        subprocess.run([str(cli), "load", "--store", str(store)], stdout=out,
                       stderr=subprocess.STDOUT, check=True, timeout=1800)
    return store


def start(store: Path, work: Path) -> tuple[Server, str]:
    """A fresh server over ``store`` that trusts 127.0.0.1 as its proxy; (server, base URL)."""
    env = {"COPROD_TRUSTED_PROXIES": os.environ.get("COPROD_TRUSTED_PROXIES", "127.0.0.1")}
    server = serve(Loaded("coprod-kg", store, None), work, env)
    wait_ready(server, 600.0)
    return server, server.endpoint.removesuffix("/sparql")


def case_path(base: str) -> str:
    """The server path of the first case (``/case/{slug}``)."""
    answer = httpx.post(f"{base}/sparql", data={"query": FIRST_CASE},
                        headers={"Accept": JSON, "X-Forwarded-For": "198.51.100.9"},
                        timeout=60)
    answer.raise_for_status()
    iri = answer.json()["results"]["bindings"][0]["case"]["value"]
    return "/case/" + iri.removeprefix(CASE_BASE)


def _heavy(base: str, deadline: float, started: float, out: Samples) -> None:
    headers = {"Accept": JSON, "X-Forwarded-For": HEAVY_CLIENT}
    with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            try:
                response = client.post(f"{base}/sparql", data={"query": HEAVY_QUERY},
                                       headers=headers)
                status, reason = response.status_code, _reason(response)
            except httpx.HTTPError:
                status, reason = 0, ""
            out.add(Sample(sent - started, status, time.perf_counter() - sent, reason))
            if status == 429:
                time.sleep(max(0.0, min(0.5, deadline - time.perf_counter())))


def _probe(base: str, path: str, accept: str, started: float, out: Samples) -> None:
    headers = {"Accept": accept, "X-Forwarded-For": LIGHT_CLIENT}
    sent = time.perf_counter()
    try:
        if accept == JSON:
            response = httpx.post(f"{base}/sparql", data={"query": LIGHT_QUERY},
                                  headers=headers, timeout=REQUEST_TIMEOUT)
        else:
            response = httpx.get(f"{base}{path}", headers=headers, timeout=REQUEST_TIMEOUT)
        status, reason = response.status_code, _reason(response)
    except httpx.HTTPError:
        status, reason = 0, ""
    out.add(Sample(sent - started, status, time.perf_counter() - sent, reason))


def heavy_scenario(store: Path, work: Path, duration: float, log: Log) -> dict[str, Any]:
    """Scenario (a); see the module."""
    server, base = start(store, work)
    heavy = Samples()
    probes = {name: Samples() for name in PROBES}
    try:
        path = case_path(base)
        log(f"fairness (a): {HEAVY_THREADS} heavy threads for {duration:g} s; probing {path}")
        started = time.perf_counter()
        deadline = started + duration
        threads = [threading.Thread(target=_heavy, args=(base, deadline, started, heavy),
                                    daemon=True) for _ in range(HEAVY_THREADS)]
        for thread in threads:
            thread.start()
        futures: list[Future[None]] = []
        with ThreadPoolExecutor(max_workers=64) as pool:
            tick = 0
            while started + tick < deadline:
                time.sleep(max(0.0, started + tick - time.perf_counter()))
                futures += [pool.submit(_probe, base, path, accept, started, probes[name])
                            for name, accept in PROBES.items()]
                tick += 1
            for future in futures:
                future.result(REQUEST_TIMEOUT + 10)
        for thread in threads:
            thread.join(REQUEST_TIMEOUT + 10)
    finally:
        server.stop()
    first_budget = min((s.sent + s.seconds for s in heavy.items if s.reason == "budget"),
                       default=None)
    heavy_statuses: dict[str, int] = {}
    for s in heavy.items:
        key = f"{s.status} ({s.reason})" if s.reason else str(s.status)
        heavy_statuses[key] = heavy_statuses.get(key, 0) + 1
    out: dict[str, Any] = {
        "duration_s": duration, "case_path": path, "heavy_threads": HEAVY_THREADS,
        "heavy": {"requests": len(heavy.items), "statuses": heavy_statuses,
                  "first_budget_429_s": first_budget,
                  "query_seconds_before_first_budget_429": sum(
                      s.seconds for s in heavy.items if s.status != 429
                      and first_budget is not None and s.sent + s.seconds <= first_budget)},
        "probes": {}}
    for name, samples in probes.items():
        items = samples.items
        entry = {"all": stats(items)}
        if first_budget is not None:
            entry["before_first_budget_429"] = stats([s for s in items if s.sent < first_budget])
            entry["after_first_budget_429"] = stats([s for s in items if s.sent >= first_budget])
        out["probes"][name] = entry
    pages = [out["probes"][n]["all"]["p50_s"] for n in list(PROBES)[:2]]
    out["targets"] = {
        "page_and_document_p50_within_1s": all(p is not None and p <= PAGE_TARGET_S
                                               for p in pages),
        "heavy_client_gets_budget_429": first_budget is not None}
    return out


def minimal_records(count: int) -> bytes:
    """``count`` minimal case records in one Turtle document (about 118 bytes each)."""
    lines = ["@prefix cp: <https://w3id.org/coprod/ontology/> .",
             "@prefix dcterms: <http://purl.org/dc/terms/> .", ""]
    lines += [f'<{CASE_BASE}bench-validate-{n:06d}> a cp:CoProductionCase ; '
              f'dcterms:title "Bench record number {n}"@en .' for n in range(count)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _light_loop(base: str, until: Callable[[], bool], out: Samples, started: float) -> None:
    headers = {"Accept": JSON, "X-Forwarded-For": LIGHT_CLIENT}
    with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
        while not until():
            sent = time.perf_counter()
            try:
                status = client.post(f"{base}/sparql", data={"query": LIGHT_QUERY},
                                     headers=headers).status_code
            except httpx.HTTPError:
                status = 0
            out.add(Sample(sent - started, status, time.perf_counter() - sent))
            time.sleep(0.05)  # a reader, not a load generator


def _validate(base: str, body: bytes, timeout: float, started: float, out: Samples) -> None:
    sent = time.perf_counter()
    try:
        status = httpx.post(f"{base}/validate", content=body,
                            headers={"Content-Type": "text/turtle", "Accept": "application/json",
                                     "X-Forwarded-For": "198.51.100.3"},
                            timeout=timeout).status_code
    except httpx.HTTPError:
        status = 0
    out.add(Sample(sent - started, status, time.perf_counter() - sent))


def validate_scenario(store: Path, work: Path, records: int, idle: float, timeout: float,
                      log: Log) -> dict[str, Any]:
    """Scenario (b); see the module."""
    server, base = start(store, work)
    body = minimal_records(records)
    idle_samples, during, validations = Samples(), Samples(), Samples()
    try:
        server.start_sampling()
        log(f"fairness (b): light query idle for {idle:g} s")
        started = time.perf_counter()
        _light_loop(base, lambda: time.perf_counter() > started + idle, idle_samples, started)
        idle_rss = server.tree_rss()
        log(f"fairness (b): two POST /validate of {records} records ({len(body)} bytes) each")
        senders = [threading.Thread(target=_validate, args=(base, body, timeout, started,
                                                            validations), daemon=True)
                   for _ in range(2)]
        for sender in senders:
            sender.start()
        _light_loop(base, lambda: not any(s.is_alive() for s in senders), during, started)
        for sender in senders:
            sender.join(10)
    finally:
        server.stop()
    idle_p50 = stats(idle_samples.items)["p50_s"]
    during_p50 = stats(during.items)["p50_s"]
    ratio = None if not idle_p50 or during_p50 is None else during_p50 / idle_p50
    return {"records": records, "body_bytes": len(body), "idle_s": idle,
            "validations": [{"status": s.status, "seconds": s.seconds}
                            for s in validations.items],
            "light_idle": stats(idle_samples.items), "light_during": stats(during.items),
            "ratio": ratio, "idle_rss_mb": idle_rss / 2**20,
            "peak_rss_mb": server.peak_rss / 2**20,
            "targets": {"light_p50_within_2x_idle": ratio is not None
                        and ratio <= VALIDATE_RATIO_TARGET}}


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, check=False, cwd=Path(__file__).parent)
    return done.stdout.strip() or "unknown"


def _meta() -> dict[str, str]:
    return {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "commit": _commit(),
            "machine": f"{os.cpu_count()} CPUs",
            "loadavg": " ".join(f"{x:.1f}" for x in os.getloadavg()),
            "server_env": " ".join(f"{k}={v}" for k, v in sorted(os.environ.items())
                                   if k.startswith("COPROD_"))}


def run(out_dir: Path, work: Path, scenarios: list[str], duration: float, records: int,
        idle: float, validate_timeout: float, log: Log = print) -> dict[str, Any]:
    """Load, run the chosen scenarios (``heavy``, ``validate``), write the two files (a
    scenario not run keeps its figures from the previous ``fairness.json`` in ``out_dir``)."""
    work.mkdir(parents=True, exist_ok=True)
    store = load_real(work, log)
    previous = out_dir / "fairness.json"
    figures: dict[str, Any] = (json.loads(previous.read_text(encoding="utf-8"))
                               if previous.exists() else {})
    if "heavy" in scenarios:
        meta = _meta()
        figures["heavy"] = {"meta": meta, **heavy_scenario(store, work, duration, log)}
    if "validate" in scenarios:
        meta = _meta()
        figures["validate"] = {"meta": meta, **validate_scenario(
            store, work, records, idle, validate_timeout, log)}
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in (("fairness.json", json.dumps(figures, indent=2) + "\n"),
                       ("fairness.md", markdown(figures))):
        tmp = out_dir / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out_dir / name)
    return figures
