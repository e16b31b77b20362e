"""Uploads are parsed and validated in bounded worker processes, never in the API process.

Too many records, too many triples or too many bytes: 413 with the setting to change. Past the
time limit the worker is killed and the caller gets 503 with ``Retry-After`` while the server
keeps answering; past the memory limit, 413; with every worker busy, 503 after a short wait.
Workers run at a lower CPU priority and with an address-space limit.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from http_helpers import TURTLE, Users, as_graph, bearer, client_for, record, writable_store
from rdflib import URIRef

from coprod_kg.config import Settings, load_settings
from coprod_kg.errors import PayloadTooLarge
from coprod_kg.rdf import parsing as rdf_input
from coprod_kg.rdf.parsing import quiet_json_ld
from coprod_kg.validation.shacl import no_lookup
from coprod_kg.validation.task import NICENESS
from coprod_kg.validation.worker import ValidationPool, install, uninstall

RECORD = record("limits-check")
RECORD_IRIS = 8  # distinct IRI subjects of the test record
RECORD_TRIPLES = 55
SYNTAXES = {"text/turtle": "turtle", "application/ld+json": "json-ld",
            "application/rdf+xml": "xml", "application/n-triples": "nt"}


def _as(media: str) -> bytes:
    with quiet_json_ld():
        text = as_graph(RECORD).serialize(format=SYNTAXES[media])
    return text.encode("utf-8") if isinstance(text, str) else text


def minimal_records(count: int) -> bytes:
    """``count`` minimal case records (a type and a title each): slow to validate."""
    head = ("@prefix cp: <https://w3id.org/coprod/ontology/> .\n"
            "@prefix dcterms: <http://purl.org/dc/terms/> .\n")
    return (head + "".join(f"<https://w3id.org/coprod/case/probe-{i}> a cp:CoProductionCase ; "
                           f'dcterms:title "Probe {i}"@en .\n' for i in range(count))
            ).encode("utf-8")


def _wait_until(condition: object, what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def settings(real_store: Path, settings_for: object) -> Settings:
    # generous time: the machine may be busy, and a worker runs at low priority
    built: Settings = settings_for(real_store, max_records=RECORD_IRIS - 1,  # type: ignore[operator]
                                   max_triples=1000, validation_timeout=120)
    return built


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    with client_for(settings) as test_client:
        yield test_client


def test_the_record_counts_are_what_the_limits_assume() -> None:
    graph = as_graph(RECORD)
    assert len(graph) == RECORD_TRIPLES
    assert len({s for s in graph.subjects() if isinstance(s, URIRef)}) == RECORD_IRIS


@pytest.mark.parametrize("media", list(SYNTAXES))
def test_too_many_records_is_413(client: TestClient, media: str) -> None:
    response = client.post("/validate", content=_as(media), headers={"Content-Type": media})
    assert response.status_code == 413, response.text
    message = response.json()["message"]
    assert f"describes {RECORD_IRIS} records" in message
    assert "COPROD_MAX_RECORDS" in message


@pytest.mark.parametrize("media", list(SYNTAXES))
def test_too_many_triples_is_413(settings: Settings, media: str) -> None:
    limited = settings.with_overrides(max_records=100, max_triples=RECORD_TRIPLES - 1)
    with client_for(limited) as client:
        response = client.post("/validate", content=_as(media), headers={"Content-Type": media})
        assert response.status_code == 413, response.text
        assert "COPROD_MAX_TRIPLES" in response.json()["message"]
        at_limit = settings.with_overrides(max_records=100, max_triples=RECORD_TRIPLES)
    with client_for(at_limit) as client:
        response = client.post("/validate", content=_as(media), headers={"Content-Type": media})
        assert response.status_code == 200, response.text


def test_too_many_bytes_is_413(settings: Settings) -> None:
    with client_for(settings.with_overrides(max_request_bytes=len(RECORD) - 1)) as client:
        response = client.post("/validate", content=RECORD, headers=TURTLE)
        assert response.status_code == 413
        page = client.post("/validate", data={"text": RECORD.decode(), "format": "text/turtle"},
                           headers={"Accept": "text/html"})
        assert page.status_code == 413


def test_the_page_explains_a_limit(client: TestClient) -> None:
    response = client.post("/validate", data={"text": RECORD.decode(), "format": "text/turtle"},
                           headers={"Accept": "text/html"})
    assert response.status_code == 413
    assert "COPROD_MAX_RECORDS" in response.text


def test_a_submission_is_bounded_too(real_store: Path, settings: Settings,
                                     tmp_path: Path) -> None:
    store = writable_store(real_store, tmp_path / "store")
    users = Users.make(store)
    with client_for(settings.with_overrides(store=store)) as client:
        response = client.post("/submissions", content=RECORD,
                               headers=bearer(users.alice, **TURTLE))
        assert response.status_code == 413, response.text
        assert "COPROD_MAX_RECORDS" in response.json()["message"]
        history = client.get("/cases/limits-check/history", headers=bearer(users.curator))
        assert history.status_code == 404  # nothing was stored


def test_the_api_process_does_not_parse_uploads(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Parsing happens in the worker: breaking the parser here changes nothing."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("an upload was parsed in the API process")

    monkeypatch.setattr(rdf_input, "parse_rdf", refuse)
    monkeypatch.setattr("coprod_kg.validation.task.parse_rdf", refuse)
    monkeypatch.setattr("coprod_kg.curation.prepare.parse_rdf", refuse)
    response = client.post("/validate", content=b"<http://e.org/a> <http://e.org/b> [ .",
                           headers=TURTLE)
    assert response.status_code == 400
    response = client.post("/validate", content=record("in-worker"), headers=TURTLE)
    assert response.status_code == 413  # refused by the worker's record count, not here


def test_workers_run_at_low_priority_with_a_memory_limit(client: TestClient,
                                                         settings: Settings) -> None:
    client.post("/validate", content=b"# nothing\n", headers=TURTLE)
    pool: ValidationPool = client.app.state.validation_pool  # type: ignore[attr-defined]
    pids = pool.worker_pids()
    assert pids
    for pid in pids:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        expected = min(os.getpriority(os.PRIO_PROCESS, 0) + NICENESS, 19)
        assert int(stat[16]) == expected  # field 19 of /proc/PID/stat: the nice value
        limits = Path(f"/proc/{pid}/limits").read_text()
        line = next(row for row in limits.splitlines() if row.startswith("Max address space"))
        assert int(line.split()[3]) == settings.validation_memory * 1024 * 1024
        assert pid != os.getpid()


# --- time, concurrency and memory ---------------------------------------------------------------


def test_a_validation_past_the_time_limit_is_stopped_and_the_server_answers(
        settings: Settings) -> None:
    slow = minimal_records(1000)  # tens of seconds of pySHACL
    timed = settings.with_overrides(max_records=5000, max_triples=5000, validation_timeout=3)
    with client_for(timed) as client:
        pool: ValidationPool = client.app.state.validation_pool  # type: ignore[attr-defined]
        answers: list[httpx.Response] = []
        thread = threading.Thread(target=lambda: answers.append(
            client.post("/validate", content=slow, headers=TURTLE)))
        thread.start()
        _wait_until(lambda: pool.worker_pids(), "the slow validation's worker")
        killed = pool.worker_pids()
        assert client.get("/health").status_code == 200  # answered while it runs
        thread.join(300)
        assert answers, "the slow validation did not answer"
        response = answers[0]
        assert response.status_code == 503, response.text[:300]
        assert response.headers["retry-after"]
        assert "COPROD_VALIDATION_TIMEOUT" in response.json()["message"]
        for pid in killed:  # the worker was stopped, not left running
            assert not Path(f"/proc/{pid}").exists() or "Z" in _state(pid)
        assert client.get("/health").status_code == 200
        broken = client.post("/validate", content=b"<http://e.org/a> <http://e.org/b> .",
                             headers=TURTLE)
        assert broken.status_code == 400  # a new worker serves the next upload
        assert set(pool.worker_pids()).isdisjoint(killed)


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_every_worker_busy_is_503_with_retry_after(settings: Settings) -> None:
    one = settings.with_overrides(max_records=5000, validation_workers=1,
                                  validation_timeout=600)
    with client_for(one) as client:
        pool = ValidationPool(one, queue_wait=0.1)
        previous = client.app.state.validation_pool  # type: ignore[attr-defined]
        client.app.state.validation_pool = pool  # type: ignore[attr-defined]
        install(pool)
        try:
            answers: list[httpx.Response] = []
            thread = threading.Thread(target=lambda: answers.append(
                client.post("/validate", content=minimal_records(100), headers=TURTLE)))
            thread.start()
            _wait_until(lambda: pool.running == 1, "the first validation to hold the worker")
            second = client.post("/validate", content=RECORD, headers=TURTLE)
            busy_while = pool.running
            thread.join(600)
            assert busy_while == 1
            assert second.status_code == 503, second.text
            assert second.headers["retry-after"]
            assert "busy" in second.json()["message"]
            assert answers and answers[0].status_code == 200, answers
            assert json.loads(answers[0].text)["conforms"] is False
        finally:
            uninstall(pool)
            pool.close()
            client.app.state.validation_pool = previous  # type: ignore[attr-defined]


def _vm_size(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(row for row in status.splitlines() if row.startswith("VmSize"))
    return int(line.split()[1]) * 1024


def test_past_the_memory_limit_is_413_and_the_pool_recovers() -> None:
    base = load_settings({}).with_overrides(max_records=100_000, max_triples=1_000_000,
                                            validation_timeout=600)
    small = record("memory-check")
    probe = ValidationPool(base)
    try:
        before = probe.run(small, "text/turtle", None, no_lookup, render_as="json").rendered
        idle = max(_vm_size(pid) for pid in probe.worker_pids())
    finally:
        probe.close()
    tight = base.with_overrides(validation_memory=idle // (1024 * 1024) + 40)
    big = json.dumps({"@graph": [{"@id": f"http://example.org/n{i}",
                                  "http://example.org/p": [f"v{i}-{j}" for j in range(20)]}
                                 for i in range(2500)]}).encode("utf-8")
    pool = ValidationPool(tight)
    try:
        with pytest.raises(PayloadTooLarge) as refused:
            pool.run(big, "application/ld+json", None, no_lookup)
        assert "COPROD_VALIDATION_MEMORY" in str(refused.value)
        after = pool.run(small, "text/turtle", None, no_lookup, render_as="json")
        assert after.rendered == before  # a fresh worker, the same report
    finally:
        pool.close()


def test_warming_starts_every_worker_once_and_uploads_use_them() -> None:
    """The served app starts its validation workers ahead (``warm``), so the first large
    uploads do not start them while other clients query; a closed pool starts none."""
    settings = load_settings({}).with_overrides(validation_workers=2)
    pool = ValidationPool(settings)
    try:
        assert pool.warm() == 2
        warmed = sorted(pool.worker_pids())
        assert len(warmed) == 2 and pool.warm() == 0  # nothing more to start
        pool.run(record("warm-check"), "text/turtle", None, no_lookup, render_as="json")
        assert sorted(pool.worker_pids()) == warmed  # an idle worker served the upload
    finally:
        pool.close()
    assert pool.warm() == 0 and pool.worker_pids() == []
