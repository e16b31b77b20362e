"""Drive a SPARQL server with wrk, the native HTTP load generator, and measure both ends.

A request list (:func:`write_list`) holds one GET a line: its ``Accept`` header and its query
string. ``bench/lua/requests.lua`` has every wrk thread replay its own share of the list, so a
list of distinct queries sends each one once until a thread wraps around (counted here as
``repeats``). :func:`run` times one wrk run and adds what wrk cannot see: the CPU wrk itself
used (its rusage, to tell whether the client was the limit), the CPU of the server's whole
process tree over the run, and the machine's load average before and after.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote

import psutil

LUA = Path(__file__).parent / "lua" / "requests.lua"
SELECT_ACCEPT = "application/sparql-results+json"
GRAPH_ACCEPT = "application/n-triples"
_FORM = re.compile(r"^\s*(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.IGNORECASE | re.MULTILINE)


def wrk_path() -> str | None:
    """The wrk binary on PATH, or None (``scripts/bench-deps.sh`` installs it)."""
    return shutil.which("wrk")


def accept_for(query: str) -> str:
    """The Accept header a client would send for this query's form."""
    match = _FORM.search(query)
    form = match.group(1).upper() if match else "SELECT"
    return GRAPH_ACCEPT if form in ("CONSTRUCT", "DESCRIBE") else SELECT_ACCEPT


def query_string(query: str) -> str:
    """``?query=...`` with the whole query URL-encoded."""
    return "?query=" + quote(query, safe="")


def write_list(path: Path, queries: Iterable[str]) -> int:
    """Write a request list for ``bench/lua/requests.lua``; returns its number of lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for query in queries:
            out.write(f"{accept_for(query)}\t{query_string(query)}\n")
            count += 1
    if count == 0:
        raise ValueError(f"empty request list {path}")
    return count


@dataclass
class WrkRun:
    """One wrk run against one server: what wrk saw, and the CPU each side used."""

    threads: int
    connections: int
    duration_s: float
    requests: int
    errors: int
    throughput: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    list_size: int
    repeats: int
    client_cpu_s: float
    server_cpu_s: float
    loadavg_before: float
    loadavg_after: float
    error_detail: str

    @property
    def client_cpu_share(self) -> float:
        """wrk's CPU time as a fraction of one core over the run."""
        return self.client_cpu_s / self.duration_s if self.duration_s else 0.0

    def as_dict(self) -> dict[str, float | int | str]:
        """Every field, plus the client's CPU share (for results.json)."""
        out: dict[str, float | int | str] = asdict(self)
        out["client_cpu_share"] = self.client_cpu_share
        return out


def tree_cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of a process and its live descendants (0 for None)."""
    if pid is None:
        return 0.0
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def wait_idle(pid: int | None, timeout: float = 30.0, step: float = 0.5) -> float:
    """Wait until the server's tree uses under a tenth of a core (a server that does not cancel
    abandoned requests still runs them after wrk has gone); returns the seconds waited."""
    start = time.monotonic()
    before = tree_cpu_seconds(pid)
    while pid is not None and time.monotonic() - start < timeout:
        time.sleep(step)
        now = tree_cpu_seconds(pid)
        if now - before < 0.1 * step:
            break
        before = now
    return time.monotonic() - start


def _parse(stdout: str) -> dict[str, float]:
    for line in stdout.splitlines():
        if line.startswith("WRKJSON "):
            data: dict[str, float] = json.loads(line[len("WRKJSON "):])
            return data
    raise RuntimeError(f"wrk printed no summary:\n{stdout[-2000:]}")


def run(url: str, request_list: Path, list_size: int, *, threads: int, connections: int,
        duration: float, server_pid: int | None, timeout: float = 60.0,
        distinct: bool = False) -> WrkRun:
    """One wrk run of ``duration`` seconds against ``url`` (its path is the SPARQL endpoint);
    ``server_pid``: the server process whose tree's CPU time is measured (None: not measured);
    ``distinct``: a request past the end of the list ends its query with a comment naming its
    pass, so that no answer cache can serve it (``bench/lua/requests.lua``)."""
    binary = wrk_path()
    if binary is None:
        raise RuntimeError("wrk is not installed (bash scripts/bench-deps.sh)")
    argv = [binary, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s",
            f"--timeout={max(1, round(timeout))}s", "-s", str(LUA), url, "--",
            str(request_list), str(threads), *(["distinct"] if distinct else [])]
    load_before = os.getloadavg()[0]
    server_before = tree_cpu_seconds(server_pid)
    log = request_list.with_suffix(".wrk.out")
    with log.open("w+", encoding="utf-8") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + duration + timeout + 30
        # wait4 rather than wait: it returns the child's rusage, i.e. wrk's own CPU time.
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.05)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        stdout = out.read()
    server_cpu = tree_cpu_seconds(server_pid) - server_before
    load_after = os.getloadavg()[0]
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}): {' '.join(argv)}\n"
                           f"{stdout[-2000:]}")
    data = _parse(stdout)
    elapsed = data["duration_us"] / 1e6
    requests = int(data["requests"])
    errors = int(data["status_errors"] + data["connect_errors"] + data["read_errors"]
                 + data["write_errors"] + data["timeouts"])
    detail = (f"status {int(data['status_errors'])}, connect {int(data['connect_errors'])}, "
              f"read {int(data['read_errors'])}, write {int(data['write_errors'])}, "
              f"timeout {int(data['timeouts'])}") if errors else ""
    return WrkRun(
        threads=threads, connections=connections, duration_s=elapsed, requests=requests,
        errors=errors, throughput=(requests - errors) / elapsed if elapsed else 0.0,
        p50_ms=data["p50_us"] / 1000, p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000, mean_ms=data["mean_us"] / 1000,
        list_size=list_size, repeats=max(0, requests - list_size),
        client_cpu_s=usage.ru_utime + usage.ru_stime, server_cpu_s=server_cpu,
        loadavg_before=load_before, loadavg_after=load_after, error_detail=detail)
