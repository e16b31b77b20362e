"""Load and accept times of the bundled knowledge graph on each back end.

    python -m bench.remote_load                                  # embedded only
    python -m bench.remote_load --server oxigraph=http://127.0.0.1:7878/query \
        --server 'virtuoso=http://127.0.0.1:8890/sparql http://127.0.0.1:8890/sparql http://127.0.0.1:8890/sparql-graph-crud'

Each ``--server NAME=QUERY [UPDATE GSP]`` is a running server that this script may fill and
empty (give it its own instance). For every back end it times ``coprod-kg load`` of the real
ontology and ``data/`` into an empty store, then one submission and its accept (the accept
includes the entailments of the published version and the manifest derivation), and prints
one Markdown row per back end with the ratio to the embedded load.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx

from coprod_kg.config import PROJECT_ROOT, Settings, load_settings
from coprod_kg.curation import Curation
from coprod_kg.curation.accounts import Role, User
from coprod_kg.curation.model import case_iri
from coprod_kg.loading import load_store

TEMPLATE = PROJECT_ROOT / "data" / "cases" / "fixmystreet.ttl"
ALICE = User("alice", Role.CONTRIBUTOR, "2026-01-01")
BOB = User("bob", Role.CURATOR, "2026-01-01")


def _record(slug: str) -> bytes:
    text = TEMPLATE.read_text(encoding="utf-8").replace("case/fixmystreet", f"case/{slug}")
    return text.replace("case:fixmystreet", f"case:{slug}").encode("utf-8")


def _wipe(query: str, update: str, gsp: str) -> None:
    """Drop what a previous run left (by the listed graphs; DROP ALL for servers honouring it)."""
    import sys

    sys.path.insert(0, str(PROJECT_ROOT / "tests"))
    from remote_proxy import wipe

    from coprod_kg.storage.remote.http import RemoteEndpoints

    with httpx.Client(timeout=300) as client:
        wipe(client, RemoteEndpoints(query, update, gsp))


def measure(settings: Settings) -> tuple[float, float, float]:
    """Seconds of the load, of one submission, and of its accept."""
    started = time.perf_counter()
    load_store(settings)
    loaded = time.perf_counter()
    service = Curation.open(settings)
    try:
        slug = "bench-remote-load"
        service.submit(_record(slug), "text/turtle", ALICE)
        submitted = time.perf_counter()
        service.accept(case_iri(slug), 1, BOB)
        accepted = time.perf_counter()
    finally:
        service.close()
    return loaded - started, submitted - loaded, accepted - submitted


def main() -> None:
    """Parse the arguments, measure each back end, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", action="append", default=[],
                        help="NAME=QUERY_URL [UPDATE_URL GSP_URL]")
    args = parser.parse_args()
    rows: list[tuple[str, tuple[float, float, float]]] = []
    base = load_settings({}).with_overrides(ontology_dir=PROJECT_ROOT / "ontology",
                                            data_dir=PROJECT_ROOT / "data")
    with tempfile.TemporaryDirectory(prefix="bench-remote-load-") as tmp:
        rows.append(("embedded", measure(base.with_overrides(store=Path(tmp) / "embedded"))))
        for spec in args.server:
            name, _, urls = spec.partition("=")
            query, *rest = urls.split()
            update, gsp = rest if rest else (query.removesuffix("query") + "update",
                                             query.removesuffix("query") + "store")
            _wipe(query, update, gsp)
            settings = base.with_overrides(store=Path(tmp) / name, backend="remote",
                                           sparql_url=query, sparql_update_url=update,
                                           gsp_url=gsp)
            rows.append((name, measure(settings)))
    embedded = rows[0][1][0]
    print("| back end | load (s) | load / embedded | submit (s) | accept (s) |")
    print("|---|---|---|---|---|")
    for name, (load, submit, accept) in rows:
        print(f"| {name} | {load:.1f} | {load / embedded:.2f}x | {submit:.2f} | {accept:.2f} |")


if __name__ == "__main__":
    main()
