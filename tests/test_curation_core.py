"""The curation service: submit, review, versions, ETags, visibility (issue 5, points 2-5)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from backends import manifest_of

from coprod_kg.config import Settings
from coprod_kg.curation import CURATION_GRAPH, PROVENANCE_GRAPH, Curation, Status
from coprod_kg.curation.audit import AuditLog
from coprod_kg.errors import (
    BadInput,
    Conflict,
    Forbidden,
    Gone,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    Unprocessable,
)
from coprod_kg.validation.shacl import ValidationFailed
from tests.curation_helpers import ALICE, BOB, CAROL, ask, record, writable_copy

NEW = "https://w3id.org/coprod/case/street-reports"


@pytest.fixture
def settings(real_store: Path, tmp_path: Path) -> Settings:
    return writable_copy(real_store, tmp_path)


@pytest.fixture
def cur(settings: Settings) -> Iterator[Curation]:
    service = Curation.open(settings)
    yield service
    service.close()


def _title(settings: Settings, title: str) -> bool:
    return ask(settings, f'<{NEW}> <http://purl.org/dc/terms/title> "{title}"@en')


def test_submit_is_pending_and_private_until_accepted(cur: Curation, settings: Settings) -> None:
    outcome = cur.submit(record("street-reports"), "text/turtle", ALICE, "street.ttl")
    assert outcome.created and outcome.version.case == NEW
    assert outcome.version.status is Status.PENDING
    assert [v.case for v in cur.pending()] == [NEW]
    manifest = manifest_of(settings.store)
    assert manifest is not None
    assert outcome.version.graph in manifest.private_graphs()
    assert CURATION_GRAPH in manifest.private_graphs()
    assert not ask(settings, f"<{NEW}> ?p ?o")
    assert not ask(settings, f"GRAPH ?g {{ <{NEW}> ?p ?o }}")

    published = cur.accept(NEW, 1, BOB)
    assert published.status is Status.PUBLISHED and published.curator == "bob"
    assert cur.pending() == []
    assert ask(settings, f"<{NEW}> a <https://w3id.org/coprod/ontology/CoProductionCase>")
    prov = "http://www.w3.org/ns/prov#"
    assert ask(settings, f"GRAPH <{PROVENANCE_GRAPH}> {{ <{published.graph}> "
                         f"<{prov}wasAttributedTo> <https://w3id.org/coprod/agent/alice>, "
                         f"<https://w3id.org/coprod/agent/bob> ; <{prov}specializationOf> "
                         f"<{NEW}> }}")
    assert not ask(settings, f"GRAPH <{CURATION_GRAPH}> {{ ?s ?p ?o }}")
    actions = [(e.user, e.action) for e in AuditLog(settings.store).entries()]
    assert actions[-2:] == [("alice", "submit"), ("bob", "accept")]


def test_invalid_submission_stores_nothing(cur: Curation, settings: Settings) -> None:
    before = manifest_of(settings.store)
    broken = record("street-reports").replace(b"dcterms:title", b"dcterms:alternative")
    with pytest.raises(ValidationFailed) as failed:
        cur.submit(broken, "text/turtle", ALICE)
    assert not failed.value.result.conforms and failed.value.status == 422
    assert manifest_of(settings.store) == before
    assert cur.pending() == []
    with pytest.raises(NotFound):
        cur.history(NEW, BOB)


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "empty"),
    (b'[] a <https://w3id.org/coprod/ontology/CoProductionCase> .', "blank nodes"),
    (record("street-reports").replace(b"@prefix case: <https://w3id.org/coprod/case/>",
                                      b"@prefix case: <https://example.org/case/>"), "outside"),
    (record("street-reports") + b'\n<https://w3id.org/coprod/case/fixmystreet> '
     b'<http://purl.org/dc/terms/title> "hijacked"@en .', "another case"),
    (record("street-reports") + b'\n<https://w3id.org/coprod/organisation/orangi-pilot-project>'
     b' <http://www.w3.org/2000/01/rdf-schema#label> "renamed"@en .', "redefines"),
])
def test_identity_rules(cur: Curation, data: bytes, reason: str) -> None:
    with pytest.raises(Unprocessable) as refused:
        cur.submit(data, "text/turtle", ALICE)
    assert refused.value.status == 422
    assert reason in str(refused.value)
    assert cur.pending() == []


def test_existing_case_conflicts_and_unknown_case_is_404(cur: Curation) -> None:
    cur.submit(record("street-reports"), "text/turtle", ALICE)
    for who in (ALICE, BOB):  # the submitter and a curator see the pending case
        with pytest.raises(Conflict) as conflict:
            cur.submit(record("street-reports"), "text/turtle", who)
        assert "PUT" in str(conflict.value)
    # another contributor does not: for them the case does not exist (a proposal of its own)
    assert cur.submit(record("street-reports"), "text/turtle", CAROL).version.number == 2
    with pytest.raises(NotFound):
        cur.put("https://w3id.org/coprod/case/nowhere", record("nowhere"), "text/turtle",
                ALICE, '"v1-x"')


def test_put_needs_the_current_etag_and_diffs_against_published(cur: Curation,
                                                                settings: Settings) -> None:
    cur.submit(record("street-reports"), "text/turtle", BOB, publish=True)
    etag = cur.etag(NEW)
    revised = record("street-reports", title="Street reports")
    with pytest.raises(PreconditionRequired):
        cur.put(NEW, revised, "text/turtle", ALICE, None)
    with pytest.raises(PreconditionFailed):
        cur.put(NEW, revised, "text/turtle", ALICE, '"v0-stale"')
    outcome = cur.put(NEW, revised, "text/turtle", ALICE, etag)
    assert outcome.version.number == 2 and outcome.version.revision_of == 1
    assert cur.etag(NEW) != etag
    for who in (ALICE, BOB):  # the old ETag is now stale for whoever sees version 2
        with pytest.raises(PreconditionFailed):
            cur.put(NEW, revised, "text/turtle", who, etag)
    diff = cur.diff(NEW, 2)
    assert diff.base == 1
    assert any('"Street reports"@en' in line for line in diff.added)
    assert any('"FixMyStreet"@en' in line for line in diff.removed)
    assert len(diff.added) == 1 and len(diff.removed) == 1  # blank nodes matched, not re-added
    assert "Street reports" in diff.added_turtle
    assert _title(settings, "FixMyStreet") and not _title(settings, "Street reports")
    cur.accept(NEW, 2, BOB)
    assert _title(settings, "Street reports") and not _title(settings, "FixMyStreet")
    statuses = [(v.number, v.status) for v in cur.history(NEW, None)]
    assert statuses == [(1, Status.SUPERSEDED), (2, Status.PUBLISHED)]
    manifest = manifest_of(settings.store)
    assert manifest is not None
    public = manifest.public_graphs()
    assert cur.history(NEW, None)[1].graph in public
    assert cur.history(NEW, None)[0].graph not in public
    assert b"FixMyStreet" in cur.version(NEW, 1, None)  # earlier versions stay readable


def test_reject_with_reason_and_history_visibility(cur: Curation) -> None:
    cur.submit(record("street-reports"), "text/turtle", ALICE)
    with pytest.raises(Forbidden):
        cur.reject(NEW, 1, CAROL, "no")
    with pytest.raises(BadInput):
        cur.reject(NEW, 1, BOB, "  ")
    rejected = cur.reject(NEW, 1, BOB, "The sources do not support the phase coding.")
    assert rejected.status is Status.REJECTED
    mine = cur.history(NEW, ALICE)
    assert mine[0].reason == "The sources do not support the phase coding."
    assert cur.history(NEW, BOB)[0].status is Status.REJECTED
    for stranger in (None, CAROL):
        with pytest.raises(NotFound):
            cur.history(NEW, stranger)
        with pytest.raises(NotFound):
            cur.version(NEW, 1, stranger)
    with pytest.raises(Conflict):
        cur.accept(NEW, 1, BOB)


def test_roles(cur: Curation) -> None:
    with pytest.raises(Forbidden):
        cur.submit(record("street-reports"), "text/turtle", ALICE, publish=True)
    cur.submit(record("street-reports"), "text/turtle", ALICE)
    with pytest.raises(Forbidden):
        cur.accept(NEW, 1, ALICE)
    with pytest.raises(Forbidden):
        cur.withdraw(NEW, ALICE, cur.etag(NEW))


def test_withdraw_leaves_the_public_graph_and_keeps_history(cur: Curation,
                                                            settings: Settings) -> None:
    cur.submit(record("street-reports"), "text/turtle", BOB, publish=True)
    assert _title(settings, "FixMyStreet")
    with pytest.raises(PreconditionRequired):
        cur.withdraw(NEW, BOB, None)
    withdrawn = cur.withdraw(NEW, BOB, cur.etag(NEW))
    assert withdrawn.status is Status.WITHDRAWN
    assert not _title(settings, "FixMyStreet")
    for stranger in (None, ALICE):  # gone, with a tombstone, for anyone but curators
        with pytest.raises(Gone) as gone:
            cur.history(NEW, stranger)
        assert gone.value.tombstone["title"] == "FixMyStreet"
        with pytest.raises(Gone):
            cur.version(NEW, 1, stranger)
    assert [v.status for v in cur.history(NEW, BOB)] == [Status.WITHDRAWN]
    assert b"FixMyStreet" in cur.version(NEW, 1, BOB)
    with pytest.raises(Conflict):
        cur.withdraw(NEW, BOB, cur.etag(NEW))


def test_a_second_writer_process_gets_a_clear_message(cur: Curation,
                                                      settings: Settings) -> None:
    import subprocess
    import sys
    cur.submit(record("street-reports"), "text/turtle", ALICE)  # opens the writer
    code = ("import sys; from pathlib import Path; from coprod_kg.errors import StoreBusy; "
            "from coprod_kg.storage.embedded.writer import OxigraphWriter as W"
            "\ntry:\n W(Path(sys.argv[1]))\nexcept Exception as e:\n"
            " print(isinstance(e, StoreBusy), e.status, e)")
    out = subprocess.run([sys.executable, "-c", code, str(settings.store)], capture_output=True,
                         text=True, check=True).stdout
    assert out.startswith("True 503 ") and "running server" in out


def test_bundled_cases_are_published_versions(cur: Curation, settings: Settings) -> None:
    case = "https://w3id.org/coprod/case/fixmystreet"
    history = cur.history(case, None)
    assert [(v.number, v.status, v.submitter, v.curator) for v in history] == [
        (1, Status.PUBLISHED, "coprod-kg-editors", "coprod-kg-editors")]
    assert history[0].source_name == "data/cases/fixmystreet.ttl"
    assert ask(settings, f"GRAPH <{PROVENANCE_GRAPH}> {{ <{history[0].graph}> "
                         f"<http://www.w3.org/ns/prov#specializationOf> <{case}> }}")
    revised = record("fixmystreet", title="FixMyStreet (revised)")
    outcome = cur.put(case, revised, "text/turtle", BOB, cur.etag(case), publish=True)
    assert outcome.version.number == 2 and outcome.version.revision_of == 1
    assert ask(settings, f'<{case}> <http://purl.org/dc/terms/title> "FixMyStreet (revised)"@en')


def test_protocol_and_from_may_only_name_public_graphs() -> None:
    from coprod_kg.storage.store import QueryRequest, resolve_dataset
    public = ["urn:g:public"]
    asked = resolve_dataset(QueryRequest("SELECT * {}", default_graphs=("urn:g:unknown",)),
                            public, [])
    assert asked.default == ()
    with pytest.raises(BadInput):
        resolve_dataset(QueryRequest("SELECT * FROM <urn:g:unknown> {}"), public, [])
    with pytest.raises(BadInput):
        resolve_dataset(QueryRequest("SELECT * FROM NAMED <urn:g:unknown> {}"), public, [])
