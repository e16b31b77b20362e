"""Start, probe, measure and stop the SPARQL servers under test (127.0.0.1 only).

Each server runs in its own process group, so stopping it also stops its children (this
project's query workers). Every wait is bounded in time.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """One running server: its name, process, SPARQL endpoint and readiness probe."""

    name: str
    process: subprocess.Popen[bytes]
    endpoint: str
    probe: str
    log: Path
    peak_rss: int = 0
    _sampler: threading.Thread | None = field(default=None, repr=False)
    _stop_sampling: threading.Event = field(default_factory=threading.Event, repr=False)

    def tree_rss(self) -> int:
        """Resident memory of the server process and all its descendants, in bytes."""
        try:
            root = psutil.Process(self.process.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for proc in procs:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue
        return total

    def start_sampling(self, interval: float = 0.1) -> None:
        """Sample the tree's RSS in a background thread; the maximum goes to ``peak_rss``."""
        def loop() -> None:
            while not self._stop_sampling.wait(interval):
                self.peak_rss = max(self.peak_rss, self.tree_rss())
        self.peak_rss = max(self.peak_rss, self.tree_rss())
        self._sampler = threading.Thread(target=loop, name=f"rss-{self.name}", daemon=True)
        self._sampler.start()

    def stop(self) -> None:
        """Stop sampling, then SIGTERM the process group, SIGKILL after 10 s."""
        self._stop_sampling.set()
        if self._sampler is not None:
            self._sampler.join(2)
        stop_group(self.process)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """Terminate a process started with ``start_new_session`` and its whole group."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        process.wait(10)


def spawn(name: str, argv: list[str], endpoint: str, probe: str, log: Path,
          env: dict[str, str] | None = None) -> Server:
    """Start ``argv`` in a new session, output to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True, env={**os.environ, **(env or {})})
    return Server(name, process, endpoint, probe, log)


def wait_ready(server: Server, timeout: float) -> float:
    """Seconds until ``server.probe`` answers 200 (polling every 20 ms); raises on timeout."""
    start = time.perf_counter()
    deadline = start + timeout
    with httpx.Client(timeout=5.0) as client:
        while time.perf_counter() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n"
                                   f"{tail(server.log)}")
            try:
                if client.get(server.probe).status_code == 200:
                    return time.perf_counter() - start
            except httpx.TransportError:
                pass
            time.sleep(0.02)
    raise TimeoutError(f"{server.name} not ready after {timeout:g} s; see {server.log}")


def tail(log: Path, lines: int = 15) -> str:
    """The last lines of a log file (for error messages)."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {log})"


FIRST_QUERY = "SELECT * WHERE { ?s ?p ?o } LIMIT 1"


def probe_url(endpoint: str) -> str:
    """A GET that answers 200 only once the engine can run a query."""
    return str(httpx.URL(endpoint, params={"query": FIRST_QUERY}))
