"""Instructions per light lookup, counted by callgrind: a repeatable measure of the fixed cost.

On a shared machine the time of one request varies by 15-30 % from run to run, more than most
changes to the hot path move it. The number of instructions a process executes for the same
requests does not (within 0.1 %), so this tool compares builds by it:

    python -m bench.instructions --store STORE [--requests 300] [--baseline DIR] [--mode server]

``--mode server`` (default) runs ``coprod-kg serve --workers 1`` under ``valgrind
--tool=callgrind`` with instrumentation off, warms it up, switches instrumentation on
(``callgrind_control -i on``), sends ``--requests`` sequential GETs of distinct light lookups
(the bench's four lookup forms in turn over subjects of the store drawn at random, each
once) from this process, and divides the server's instructions by the requests: uvicorn, the
app, the engine and the serialisation, not the kernel. ``--mode app --role
single|reader|writer`` counts the ASGI app alone in one process (no sockets), configured as
``serve --workers 1``, or as a reader or the writer of ``serve --workers N``. ``--baseline
DIR`` measures the checkout ``DIR`` (e.g. a ``git worktree`` of an older commit) first, on the
same store and requests, and prints the ratio. Needs valgrind (``scripts/bench-deps.sh``
installs it); about 40 s per measurement.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from bench.servers import free_port
from bench.systems import NO_CLIENT_LIMITS
from bench.workloads import LOOKUP_FORMS
from bench.wrk import accept_for
from coprod_kg.errors import CoprodError

WARMUP = 50
SEED = 20151101
READY_SECONDS = 600.0


def lookups(store: Path, count: int, seed: int = SEED) -> list[tuple[str, str]]:
    """``(accept, path)`` of ``count`` distinct light lookups: the four lookup forms in turn,
    over subjects of ``store`` drawn at random (seeded), as the bench's first-time lookups."""
    import pyoxigraph as ox

    from coprod_kg.storage.embedded.oxigraph_store import open_read_only

    snapshot = open_read_only(store)
    subjects = sorted({quad.subject.value for quad in snapshot.quads_for_pattern(None, None, None)
                       if isinstance(quad.subject, ox.NamedNode)})
    drawn = random.Random(seed).sample(subjects, min(len(subjects), count + WARMUP))
    queries = [LOOKUP_FORMS[i % len(LOOKUP_FORMS)].format(iri=iri)
               for i, iri in enumerate(drawn)]
    return [(accept_for(q), "/sparql?query=" + quote(q, safe="")) for q in queries]


def _environment(store: Path, port: int, role: str, code: Path | None) -> dict[str, str]:
    env = {**os.environ, **NO_CLIENT_LIMITS, "COPROD_STORE": str(store),
           "COPROD_PUBLIC_URL": f"http://127.0.0.1:{port}", "COPROD_QUERY_WORKERS": "1"}
    if role in ("reader", "writer"):
        env["COPROD_READER_TOKEN"] = "t" * 32
    if role == "reader":
        env["COPROD_WRITER_SOCKET"] = str(Path(tempfile.gettempdir()) / "no-writer.sock")
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code), env.get("PYTHONPATH")]))
    return env


def _total(out_dir: Path) -> int:
    """The instructions counted in ``out_dir``: the largest total among the parts callgrind
    wrote (the one dumped after the measured requests; the one at exit counts nothing)."""
    totals = [int(line.split()[1])
              for part in out_dir.glob("callgrind.out*")
              for line in part.read_text(encoding="utf-8", errors="replace").splitlines()
              if line.startswith(("summary:", "totals:"))]
    if not totals:
        raise RuntimeError(f"callgrind wrote no totals in {out_dir}")
    return max(totals)


def _send(port: int, requests: list[tuple[str, str]]) -> dict[int, int]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    codes: dict[int, int] = {}
    for accept, path in requests:
        connection.request("GET", path, headers={"Accept": accept})
        answer = connection.getresponse()
        answer.read()
        codes[answer.status] = codes.get(answer.status, 0) + 1
    connection.close()
    return codes


def measure_server(store: Path, requests: list[tuple[str, str]], code: Path | None,
                   work: Path) -> tuple[int, dict[int, int]]:
    """Instructions of a ``serve --workers 1`` process per request of ``requests``."""
    port = free_port()
    out_dir = Path(tempfile.mkdtemp(dir=work))
    cli = Path(sys.executable).with_name("coprod-kg")
    argv = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
            f"--callgrind-out-file={out_dir}/callgrind.out.%p", sys.executable, str(cli),
            "serve", "--store", str(store), "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1"]
    log = (out_dir / "serve.log").open("wb")
    server = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                              env=_environment(store, port, "single", code))
    try:
        deadline = time.monotonic() + READY_SECONDS
        while True:
            try:
                _send(port, requests[:1])
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(
                        f"the server did not start: see {out_dir}/serve.log") from None
                time.sleep(1)
        _send(port, requests[1:WARMUP])
        _control(["-i", "on"], server.pid)
        codes = _send(port, requests[WARMUP:])
        _control(["-i", "off"], server.pid)
        _control(["-d"], server.pid)
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    return _total(out_dir), codes


def measure_app(store: Path, requests: list[tuple[str, str]], role: str, code: Path | None,
                work: Path) -> tuple[int, dict[int, int]]:
    """Instructions of the ASGI app alone (configured for ``role``) per request."""
    out_dir = Path(tempfile.mkdtemp(dir=work))
    listing = out_dir / "requests.tsv"
    listing.write_text("".join(f"{a}\t{p}\n" for a, p in requests), encoding="utf-8")
    ready, go = out_dir / "ready", out_dir / "go"
    argv = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
            f"--callgrind-out-file={out_dir}/callgrind.out.%p", sys.executable,
            str(Path(__file__).with_name("instructions_app.py")), str(listing), str(ready),
            str(go)]
    env = _environment(store, 8000, role, code or Path(__file__).resolve().parent.parent)
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    while not ready.exists():
        if child.poll() is not None:
            raise RuntimeError(f"the app did not start:\n{child.stdout.read().decode()[-2000:]}"
                               if child.stdout else "the app did not start")
        time.sleep(0.2)
    _control(["-i", "on"], child.pid)
    go.touch()
    output = child.communicate()[0].decode()
    line = next((line for line in output.splitlines() if line.startswith("CODES ")), None)
    if line is None:
        raise RuntimeError(f"the app did not answer:\n{output[-2000:]}")
    codes = {int(k): int(v) for k, v in (item.split(":") for item in line.split()[1:])}
    return _total(out_dir), codes


def _control(options: list[str], pid: int) -> None:
    subprocess.run(["callgrind_control", *options, str(pid)], check=True,
                   capture_output=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="a loaded store")
    parser.add_argument("--requests", type=int, default=300,
                        help="measured requests, after 50 to warm up (default 300)")
    parser.add_argument("--mode", choices=("server", "app"), default="server",
                        help="the whole server process (default) or the app alone")
    parser.add_argument("--role", choices=("single", "reader", "writer"), default="single",
                        help="with --mode app: the process's role in `serve --workers N`")
    parser.add_argument("--baseline", type=Path,
                        help="another checkout (e.g. a git worktree), measured first")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        parser.error("valgrind is not installed (scripts/bench-deps.sh installs it)")
    try:
        requests = lookups(args.store, args.requests)
    except CoprodError as exc:
        parser.error(str(exc))
    measured = requests[WARMUP:]
    results: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as scratch:
        for label, code in ([("baseline", args.baseline)] if args.baseline else []) + [
                ("this checkout", None)]:
            if args.mode == "server":
                total, codes = measure_server(args.store, requests, code, Path(scratch))
            else:
                total, codes = measure_app(args.store, requests, args.role, code,
                                           Path(scratch))
            per = total / len(measured)
            results.append((label, per))
            print(f"{label}: {per:,.0f} instructions per request ({args.mode}"
                  f"{'' if args.mode == 'server' else ', ' + args.role}; "
                  f"{len(measured)} requests, status codes {codes})", flush=True)
    if len(results) == 2:
        print(f"this checkout / baseline: {results[1][1] / results[0][1]:.3f}")


if __name__ == "__main__":
    main()
