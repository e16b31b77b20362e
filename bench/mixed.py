"""Mixed load (issue 6): queries and submissions from many clients against this server.

``python -m bench --mixed`` loads the bundled data plus a 10k-triple synthetic graph, creates a
curator account, starts ``coprod-kg serve`` on 127.0.0.1 and runs ``--mixed-clients`` threads
for ``--mixed-duration`` seconds. Each iteration draws from a seeded generator: 90 % a query of
``bench/queries/*.rq`` (``POST /sparql``), 10 % a valid case record with a unique slug
(``POST /submissions``). Afterwards every submission answered 201 must show its version in
``GET /cases/{slug}/history`` (otherwise it counts as a lost write). Target: no 5xx, no lost
write, p99 ≤ 10x p50. Figures go to ``OUT/mixed.json`` and ``OUT/mixed.md``.
"""

from __future__ import annotations

import json
import random
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import generate
from bench.loadgen import Query, accept_for, load_queries
from bench.servers import wait_ready
from bench.systems import Loaded, load_coprod, serve, tool

FIXTURE = Path(__file__).parent.parent / "tests" / "data" / "valid" / \
    "parent-cooperative-preschool.ttl"
FIXTURE_SLUG = "test-parent-cooperative-preschools"
SYNTHETIC_TRIPLES = 10_000
SUBMIT_SHARE = 0.1
MAX_REQUESTS = 200_000
RATIO_TARGET = 10.0
KINDS = ("query", "submission")


@dataclass
class Outcome:
    """What the clients saw: (kind, status or 0 for a transport error, seconds) per request."""

    samples: list[tuple[str, int, float]] = field(default_factory=list)
    created: list[tuple[str, int]] = field(default_factory=list)  # (slug, version number)
    errors: list[str] = field(default_factory=list)  # first few unexpected answers
    elapsed: float = 0.0


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def record(slug: str, template: str) -> bytes:
    """The fixture with its case slug replaced everywhere by ``slug``."""
    return template.replace(FIXTURE_SLUG, slug).encode("utf-8")


def create_curator(store: Path, work: Path) -> str:
    """``coprod-kg user --store DIR add bench --role curator``; the token is the last line."""
    done = subprocess.run([str(tool("coprod-kg")), "user", "--store", str(store), "add", "bench",
                           "--role", "curator"], capture_output=True, text=True,
                          timeout=120, check=False)
    (work / "logs").mkdir(parents=True, exist_ok=True)
    (work / "logs" / "user-add.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"coprod-kg user add failed ({done.returncode}): {done.stderr}")
    return lines[-1].strip()


def run_load(base: str, token: str, queries: list[Query], n_cases: int, clients: int,
             duration: float, seed: int, request_timeout: float = 60.0) -> Outcome:
    """``clients`` closed-loop threads for ``duration`` s (at most ``MAX_REQUESTS`` in all)."""
    out = Outcome()
    lock = threading.Lock()
    sent = [0]
    template = FIXTURE.read_text(encoding="utf-8")
    auth = {"Authorization": f"Bearer {token}"}
    deadline = time.perf_counter() + duration

    def worker(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        n = 0
        with httpx.Client(timeout=request_timeout) as client:
            while time.perf_counter() < deadline:
                with lock:
                    if sent[0] >= MAX_REQUESTS:
                        return
                    sent[0] += 1
                slug = ""
                start = time.perf_counter()
                try:
                    if rng.random() < SUBMIT_SHARE:
                        kind, slug = "submission", f"bench-{index}-{n}"
                        n += 1
                        response = client.post(
                            f"{base}/submissions", content=record(slug, template),
                            headers={**auth, "Content-Type": "text/turtle"})
                    else:
                        kind, query = "query", rng.choice(queries)
                        response = client.post(
                            f"{base}/sparql", data={"query": query.instance(rng, n_cases)},
                            headers={"Accept": accept_for(query)})
                    status, body = response.status_code, response.text
                except httpx.HTTPError as exc:
                    status, body = 0, f"{type(exc).__name__} {exc}"
                latency = time.perf_counter() - start
                with lock:
                    out.samples.append((kind, status, latency))
                    if kind == "submission" and status == 201:
                        out.created.append((slug, int(json.loads(body)["number"])))
                    expected = 201 if kind == "submission" else 200
                    if status != expected and len(out.errors) < 20:
                        out.errors.append(f"{kind} {slug}: HTTP {status} {body[:300]}")

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.perf_counter()) + request_timeout + 5)
    out.elapsed = time.perf_counter() - started
    return out


def lost_writes(base: str, token: str, created: list[tuple[str, int]]) -> list[str]:
    """Each 201 submission whose version is missing from its case history (with the reason)."""
    lost = []
    with httpx.Client(timeout=60.0, headers={"Authorization": f"Bearer {token}"}) as client:
        for slug, number in created:
            try:
                response = client.get(f"{base}/cases/{slug}/history")
            except httpx.HTTPError as exc:
                lost.append(f"{slug}: {type(exc).__name__} {exc}")
                continue
            if response.status_code != 200:
                lost.append(f"{slug}: history HTTP {response.status_code} {response.text[:200]}")
            elif number not in {v.get("number") for v in response.json()}:
                lost.append(f"{slug}: version {number} not in history")
    return lost


def summarise(out: Outcome, lost: list[str], clients: int, duration: float) -> dict[str, Any]:
    """Counts, 5xx, lost writes and p50/p99 (ms, over the 2xx answers) per kind and overall."""
    figures: dict[str, Any] = {"clients": clients, "duration_s": duration,
                               "elapsed_s": out.elapsed, "kinds": {}}
    for kind in (*KINDS, "overall"):
        mine = [s for s in out.samples if kind in ("overall", s[0])]
        ok = [lat for _, status, lat in mine if 200 <= status < 300]
        p50, p99 = percentile(ok, 50), percentile(ok, 99)
        statuses: dict[str, int] = {}
        for _, status, _ in mine:
            statuses[str(status)] = statuses.get(str(status), 0) + 1
        figures["kinds"][kind] = {
            "requests": len(mine), "ok": len(ok), "statuses": statuses,
            "5xx": sum(1 for _, status, _ in mine if status >= 500),
            "transport_errors": statuses.get("0", 0),
            "throughput": len(mine) / out.elapsed if out.elapsed else 0.0,
            "p50_ms": None if p50 is None else p50 * 1000,
            "p99_ms": None if p99 is None else p99 * 1000,
            "p99_p50": None if not p50 or p99 is None else p99 / p50}
    total = figures["kinds"]["overall"]
    figures["submissions_201"] = len(out.created)
    figures["lost_writes"] = len(lost)
    figures["lost_detail"] = lost[:20]
    figures["first_errors"] = out.errors
    ratio = total["p99_p50"]
    figures["targets"] = {"no_5xx": total["5xx"] == 0 and total["transport_errors"] == 0,
                          "no_lost_write": bool(out.created) and not lost,
                          "p99_within_10x_p50": ratio is not None and ratio <= RATIO_TARGET}
    return figures


def _mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}x"


def markdown(figures: dict[str, Any]) -> str:
    """The ``mixed.md`` section."""
    t = figures["targets"]
    lines = [
        "### Mixed load (issue 6)", "",
        f"{figures['clients']} clients for {figures['duration_s']:g} s "
        f"({figures['elapsed_s']:.1f} s wall), {int(SUBMIT_SHARE * 100)} % submissions, "
        "bundled data + 10k synthetic triples. Target: no 5xx, no lost write, p99 ≤ 10x p50.",
        "", "| kind | requests | req/s | statuses | 5xx | p50 ms | p99 ms | p99/p50 |",
        "|---|---|---|---|---|---|---|---|"]
    for kind, k in figures["kinds"].items():
        statuses = ", ".join(f"{s}: {c}" for s, c in sorted(k["statuses"].items()))
        ratio = _ratio(k["p99_p50"])
        lines.append(f"| {kind} | {k['requests']} | {k['throughput']:.1f} | {statuses} | "
                     f"{k['5xx']} | {_ms(k['p50_ms'])} | {_ms(k['p99_ms'])} | {ratio} |")
    total = figures["kinds"]["overall"]
    lines += ["",
              f"- no 5xx (nor transport error): {total['5xx']} 5xx, "
              f"{total['transport_errors']} transport errors {_mark(t['no_5xx'])}",
              f"- no lost write: {figures['lost_writes']} of {figures['submissions_201']} "
              f"accepted (201) submissions missing from their history "
              f"{_mark(t['no_lost_write'])}"
              + ("" if figures["submissions_201"] else " (no submission was accepted)"),
              f"- p99 ≤ 10x p50 (overall): {_ms(total['p99_ms'])} / {_ms(total['p50_ms'])} ms "
              f"= {_ratio(total['p99_p50'])} "
              f"{_mark(t['p99_within_10x_p50'])}"]
    lines += [f"- first unexpected answer: {e}" for e in figures["first_errors"][:3]]
    lines += [f"- lost: {e}" for e in figures["lost_detail"][:3]]
    return "\n".join(lines) + "\n"


def run(out_dir: Path, work: Path, clients: int, duration: float, seed: int,
        log: Any = print) -> dict[str, Any]:
    """Load, create the curator, serve, run the mix, check writes, write the two files."""
    if clients < 1 or duration <= 0:
        raise ValueError("--mixed-clients must be ≥ 1 and --mixed-duration > 0")
    work.mkdir(parents=True, exist_ok=True)
    graph_file = work / f"kg-{SYNTHETIC_TRIPLES}.nt"
    generate.write(SYNTHETIC_TRIPLES, graph_file, seed)
    log("mixed: loading the bundled data + 10k synthetic triples")
    loaded = load_coprod(graph_file, work, 1800.0)
    token = create_curator(loaded.location, work)
    server = serve(Loaded("coprod-kg", loaded.location, loaded.seconds), work)
    try:
        wait_ready(server, 600.0)
        base = server.endpoint.removesuffix("/sparql")
        log(f"mixed: {clients} clients for {duration:g} s against {base}")
        n_cases = max(1, SYNTHETIC_TRIPLES // generate.TRIPLES_PER_CASE)
        outcome = run_load(base, token, load_queries(), n_cases, clients, duration, seed)
        log(f"mixed: checking {len(outcome.created)} accepted submissions")
        lost = lost_writes(base, token, outcome.created)
    finally:
        server.stop()
    figures = summarise(outcome, lost, clients, duration)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in (("mixed.json", json.dumps(figures, indent=2) + "\n"),
                       ("mixed.md", markdown(figures))):
        tmp = out_dir / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out_dir / name)
    return figures
