"""Crash safety: SIGKILL a writer at a random moment (every version is whole or absent), and
at every step of an accept (after restart: the old state or the new one, complete with its
entailments, manifest, public snapshot and audit line)."""

from __future__ import annotations

import gc
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox

from coprod_kg.config import Settings
from coprod_kg.curation import Curation, Status
from coprod_kg.curation.audit import AuditLog
from coprod_kg.curation.journal import INTENTS_DIR, MARKERS_QUERY
from coprod_kg.curation.model import CASE_GRAPH_BASE
from coprod_kg.curation.records import versions
from coprod_kg.curation.updates import graph_digest
from coprod_kg.storage.embedded.writer import OxigraphReader
from coprod_kg.storage.manifest import read_manifest
from tests.curation_helpers import ALICE, ask, record, writable_copy

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


STEPPED = "https://w3id.org/coprod/case/crash-stepped"


def _accept_killed_at(store: Path, kill_at: int) -> str:
    """Run the child's accept, killed at event ``kill_at``; its last line."""
    child = subprocess.run([sys.executable, str(CHILD), str(store), "accept", STEPPED,
                            str(kill_at)], capture_output=True, text=True, timeout=300)
    lines = child.stdout.splitlines()
    if child.returncode == -signal.SIGKILL:
        assert lines and lines[-1].startswith("killed at"), child.stderr
    else:
        assert child.returncode == 0 and lines[-1].startswith("events"), child.stderr
    return lines[-1]


def _state_after_restart(settings: Settings) -> Status:
    """Restart (open the writer: recovery), then check the state is whole; its status."""
    service = Curation.open(settings)
    try:
        service.recover()
        history = service.history(STEPPED, ALICE)
        assert len(history) == 1
        info = history[0]
        writer = service.writer()
        assert isinstance(writer, OxigraphReader)
        inferred = writer.graph_triples(info.inferred_graph)
        assert not (settings.store / INTENTS_DIR).is_dir() or not any(
            (settings.store / INTENTS_DIR).glob("*.json"))
        assert writer.select(MARKERS_QUERY) == []
    finally:
        service.close()
        gc.collect()
    accepts = [e for e in AuditLog(settings.store).entries()
               if e.action == "accept" and e.target == info.graph]
    manifest = read_manifest(settings.store)
    assert manifest is not None
    public = set(manifest.public_graphs())
    visible = ask(settings, f"<{STEPPED}> ?p ?o")
    if info.status is Status.PUBLISHED:  # new state, complete
        assert info.inferred_triples is not None and info.inferred_triples > 0
        assert len(inferred) == info.inferred_triples
        assert {info.graph, info.inferred_graph} <= public
        assert len(accepts) == 1 and accepts[0].user == "bob"
        assert visible
    else:  # old state, complete
        assert info.status is Status.PENDING
        assert info.inferred_triples is None and inferred == []
        assert info.graph not in public and info.inferred_graph not in public
        assert accepts == []
        assert not visible
    return info.status


def test_a_kill_at_every_step_of_an_accept_leaves_old_or_new_complete(
        real_store: Path, tmp_path: Path) -> None:
    settings = writable_copy(real_store, tmp_path)
    service = Curation.open(settings)
    service.submit(record("crash-stepped"), "text/turtle", ALICE)
    service.close()
    gc.collect()
    template = settings.store
    outcomes: list[tuple[str, Status]] = []
    for kill_at in range(1, 200):
        store = tmp_path / f"kill-{kill_at}"
        shutil.copytree(template, store)
        last = _accept_killed_at(store, kill_at)
        status = _state_after_restart(settings.with_overrides(store=store))
        shutil.rmtree(store)
        if last.startswith("events"):  # the accept ended before this event: all seen
            assert status is Status.PUBLISHED
            break
        outcomes.append((last.removeprefix("killed at "), status))
    else:
        raise AssertionError("the accept never finished")
    steps = [name for name, _ in outcomes]
    assert len(steps) >= 10 and {"intent", "update", "entailments", "manifest", "audit",
                                 "done"} <= set(steps), steps
    assert outcomes[0] == ("intent", Status.PENDING)  # before the update: rolled back
    after = [status for name, status in outcomes[steps.index("update"):]]
    assert set(after) == {Status.PUBLISHED}  # after it: rolled forward
