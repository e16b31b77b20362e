"""Crash safety: SIGKILL a writer at a random moment; every version is whole or absent."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox

from coprod_kg.curation import Curation, Status
from coprod_kg.curation.model import CASE_GRAPH_BASE
from coprod_kg.curation.records import versions
from coprod_kg.curation.updates import graph_digest
from coprod_kg.curation.writer import OxigraphReader
from coprod_kg.manifest import read_manifest
from tests.curation_helpers import writable_copy

CHILD = Path(__file__).parent / "curation_crash_child.py"


def _run_and_kill(store: Path, acks_before_kill: int) -> list[str]:
    """Start the child, wait for some acknowledgements, SIGKILL it; every slug it acked."""
    child = subprocess.Popen([sys.executable, str(CHILD), str(store)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    lines: list[str] = []
    try:
        while len(lines) < acks_before_kill:
            line = child.stdout.readline()
            if not line:
                break
            lines.append(line)
    finally:
        child.send_signal(signal.SIGKILL)  # somewhere inside the next write
        rest, errors = child.communicate()
    lines.extend(rest.splitlines())
    acked = [line.split()[1] for line in lines if line.startswith("ack ")]
    assert len(acked) >= acks_before_kill, f"the child stopped early: {errors}"
    return acked


def test_a_killed_writer_leaves_whole_versions_or_none(real_store: Path, tmp_path: Path) -> None:
    settings = writable_copy(real_store, tmp_path)
    acked = _run_and_kill(settings.store, random.randint(2, 5))
    assert acked
    service = Curation.open(settings)  # re-derives the manifest (repair)
    try:
        reader = OxigraphReader.read_only(settings.store)
        found = versions(reader)
        recorded = {v.graph for v in found}
        for slug in acked:  # every acknowledged submission is present and published
            history = service.history(f"https://w3id.org/coprod/case/{slug}", None)
            assert [v.status for v in history] == [Status.PUBLISHED]
        for info in found:  # every recorded version is complete
            triples = reader.graph_triples(info.graph)
            assert len(triples) == info.triples
            assert graph_digest(triples) == info.graph_digest
        stored = {q.graph_name.value for q in reader.store.quads_for_pattern(None, None, None)
                  if isinstance(q.graph_name, ox.NamedNode)
                  and q.graph_name.value.startswith(CASE_GRAPH_BASE)}
        versions_stored = {g for g in stored if not g.endswith("/inferred")}
        assert versions_stored == recorded  # no version graph without its record
        for graph in stored - versions_stored:  # entailments only for published versions
            base = graph.removesuffix("/inferred")
            assert next(v for v in found if v.graph == base).status is Status.PUBLISHED
        manifest = read_manifest(settings.store)
        assert manifest is not None
        public = set(manifest.public_graphs())
        for info in found:
            assert (info.graph in public) == (info.status is Status.PUBLISHED)
    finally:
        service.close()
