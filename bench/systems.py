"""The three systems under test: how each one loads a graph and how it is served.

* ``coprod-kg``: ``coprod-kg load --store DIR FILE`` (ontology + ``data/`` + FILE +
  entailments), then ``coprod-kg serve``; its default graph is the union of the public graphs.
* ``oxigraph``: ``oxigraph load`` of this project's own N-Quads dump of that store (so the
  same quads), then ``oxigraph serve-read-only --union-default-graph``.
* ``rdflib-endpoint``: ``rdflib-endpoint serve`` of the same N-Quads (an rdflib ``Dataset``
  with ``default_union=True``); it parses the file at start-up, so its load is its start.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.servers import HOST, Server, free_port, probe_url, spawn, tail

BIN = Path(sys.executable).parent
PEERS = ("oxigraph", "rdflib-endpoint")
#: coprod-kg's per-client limits (issue 9) would turn most of a throughput run's requests (all
#: from one address) into 429; the peers have no such limits, so throughput runs switch them off.
#: Nor do they log each request (Oxigraph server writes no access log), so neither does
#: coprod-kg in the bench (``COPROD_ACCESS_LOG=0``; with it, about 0.1 ms more per request).
NO_CLIENT_LIMITS = {"COPROD_CLIENT_CONCURRENCY": "0", "COPROD_CLIENT_QUERY_SECONDS": "0",
                    "COPROD_ACCESS_LOG": "0"}


def tool(name: str) -> Path | None:
    """The console script ``name`` next to this interpreter, else on PATH, else None."""
    local = BIN / name
    if local.exists():
        return local
    found = shutil.which(name)
    return Path(found) if found else None


def available(system: str) -> bool:
    return tool(system) is not None


@dataclass(frozen=True)
class Loaded:
    """A system's store on disk (or input file) and the seconds its bulk load took."""

    system: str
    location: Path
    seconds: float | None


def _timed(argv: list[str], log: Path, timeout: float) -> float:
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with log.open("ab") as out:
        code = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=False,
                              timeout=timeout).returncode
    if code != 0:
        raise RuntimeError(f"{' '.join(argv[:2])} failed ({code}):\n{tail(log)}")
    return time.perf_counter() - start


def load_coprod(graph_file: Path, work: Path, timeout: float) -> Loaded:
    store = work / "coprod-store"
    shutil.rmtree(store, ignore_errors=True)
    cli = tool("coprod-kg")
    assert cli is not None, "coprod-kg is not installed in this environment"
    seconds = _timed([str(cli), "load", "--store", str(store), str(graph_file)],
                     work / "logs" / "coprod-load.log", timeout)
    return Loaded("coprod-kg", store, seconds)


def dump_coprod(store: Path, work: Path, timeout: float) -> Path:
    """This project's N-Quads dump of its store: the exact quads the peers load."""
    out = work / "coprod.nq"
    cli = tool("coprod-kg")
    assert cli is not None
    _timed([str(cli), "dump", "--store", str(store), "--format", "nquads", "--output", str(out)],
           work / "logs" / "coprod-dump.log", timeout)
    return out


def load_oxigraph(quads: Path, work: Path, timeout: float, graph: str | None = None) -> Loaded:
    """``oxigraph load`` of ``quads``; with ``graph``, its triples go into that named graph
    (``--graph``), as ``coprod-kg load`` stores a file (a store of its own, beside the other)."""
    location = work / ("oxigraph-store" if graph is None else "oxigraph-graph-store")
    shutil.rmtree(location, ignore_errors=True)
    cli = tool("oxigraph")
    assert cli is not None
    argv = [str(cli), "load", "--location", str(location), "--file", str(quads)]
    seconds = _timed(argv + ([] if graph is None else ["--graph", graph]),
                     work / "logs" / "oxigraph-load.log", timeout)
    return Loaded("oxigraph", location, seconds)


def serve(loaded: Loaded, work: Path, env: dict[str, str] | None = None,
          workers: int = 1) -> Server:
    """Start the system's server on a free 127.0.0.1 port (not waiting for it); ``env``: more
    environment variables for coprod-kg, ``workers``: its server processes (one writer and
    ``workers - 1`` readers)."""
    port = free_port()
    log = work / "logs" / f"{loaded.system}-serve.log"
    if loaded.system == "coprod-kg":
        endpoint = f"http://{HOST}:{port}/sparql"
        argv = [str(tool("coprod-kg")), "serve", "--store", str(loaded.location),
                "--host", HOST, "--port", str(port), "--workers", str(workers)]
        ours = {**(env or {}), "COPROD_PUBLIC_URL": f"http://{HOST}:{port}"}
        return spawn(loaded.system, argv, endpoint, probe_url(endpoint), log, ours)
    if loaded.system == "oxigraph":
        endpoint = f"http://{HOST}:{port}/query"
        argv = [str(tool("oxigraph")), "serve-read-only", "--location", str(loaded.location),
                "--bind", f"{HOST}:{port}", "--union-default-graph"]
        return spawn(loaded.system, argv, endpoint, probe_url(endpoint), log)
    if loaded.system == "rdflib-endpoint":
        endpoint = f"http://{HOST}:{port}/"
        argv = [str(tool("rdflib-endpoint")), "serve", str(loaded.location),
                "--host", HOST, "--port", str(port)]
        return spawn(loaded.system, argv, endpoint, probe_url(endpoint), log)
    raise ValueError(f"unknown system {loaded.system!r}")
