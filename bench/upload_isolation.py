"""What large uploads cost the API process and the other clients (not a test).

Starts ``coprod-kg serve`` on a free loopback port over ``COPROD_STORE`` (loaded), measures the
p50 of a light query (``ASK``) while idle, then sends ``--concurrent`` ``POST /validate`` of
``--records`` minimal case records at once while the light query keeps running, and prints the
status and time of each upload, the API process's resident memory (sampled, and its peak
``VmHWM``), the largest validation worker seen, and the light query's p50 during the uploads.
Extra ``COPROD_*=value`` arguments go to the server's environment (raise the limits with them).

    python -m bench.upload_isolation --records 2500 --concurrent 1
    python -m bench.upload_isolation --records 200 --concurrent 2
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

LIGHT = {"query": "ASK { ?s ?p ?o }"}


def minimal_records(count: int) -> bytes:
    """``count`` minimal case records (a type and a title each)."""
    head = ("@prefix cp: <https://w3id.org/coprod/ontology/> .\n"
            "@prefix dcterms: <http://purl.org/dc/terms/> .\n")
    body = "".join(f"<https://w3id.org/coprod/case/probe-record-{i:05d}> a cp:CoProductionCase"
                   f' ; dcterms:title "Probe record number {i:05d}"@en .\n' for i in range(count))
    return (head + body).encode("utf-8")


def _status_mib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) // 1024
    return 0


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            for child in Path(f"/proc/{pid}/task/{tid}/children").read_text().split():
                out.append(int(child))
                out += _children(int(child))
    except OSError:
        pass
    return out


def _light_p50(url: str, seconds: float) -> float:
    times = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        start = time.perf_counter()
        httpx.get(url + "/sparql", params=LIGHT, timeout=120)
        times.append(time.perf_counter() - start)
        time.sleep(0.2)
    return statistics.median(times)


def main() -> None:
    """Run the measurement and print it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=2500)
    parser.add_argument("--concurrent", type=int, default=1)
    parser.add_argument("env", nargs="*", help="COPROD_NAME=value for the server")
    args = parser.parse_args()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, COPROD_PORT=str(port), COPROD_HOST="127.0.0.1")
    env.update(item.split("=", 1) for item in args.env)
    server = subprocess.Popen([sys.executable, "-m", "coprod_kg", "serve"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                httpx.get(url + "/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        idle = _light_p50(url, 10)
        body = minimal_records(args.records)
        rss = [_status_mib(server.pid, "VmRSS")]
        workers = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                rss.append(_status_mib(server.pid, "VmRSS"))
                for child in _children(server.pid):
                    workers[0] = max(workers[0], _status_mib(child, "VmRSS"))
                time.sleep(0.2)

        results: list[str] = []

        def upload() -> None:
            start = time.perf_counter()
            response = httpx.post(url + "/validate", content=body, timeout=1800,
                                  headers={"Content-Type": "text/turtle"})
            results.append(f"{response.status_code} in {time.perf_counter() - start:.1f} s")

        light: list[float] = []

        def light_loop() -> None:
            while not done.is_set():
                start = time.perf_counter()
                httpx.get(url + "/sparql", params=LIGHT, timeout=600)
                light.append(time.perf_counter() - start)
                time.sleep(0.2)

        threads = [threading.Thread(target=upload) for _ in range(args.concurrent)]
        helpers = [threading.Thread(target=sample), threading.Thread(target=light_loop)]
        for thread in helpers + threads:
            thread.start()
        for thread in threads:
            thread.join()
        done.set()
        for thread in helpers:
            thread.join()
        print(f"{args.concurrent} x POST /validate of {args.records} records ({len(body)} bytes):"
              f" {', '.join(results)}")
        print(f"API process RSS: {rss[0]} MiB before, {max(rss)} MiB max sampled, peak VmHWM "
              f"{_status_mib(server.pid, 'VmHWM')} MiB; largest child process {workers[0]} MiB")
        during = statistics.median(light) if light else float("nan")
        print(f"light ASK p50: {idle * 1000:.0f} ms idle, {during * 1000:.0f} ms during "
              f"({len(light)} queries)")
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
