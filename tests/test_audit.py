"""The write log keeps every entry, durable and in order, and survives a torn last line."""

from __future__ import annotations

from pathlib import Path

from coprod_kg.curation.audit import AUDIT_FILE, AuditLog


def test_entries_are_kept_in_order(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    log.record("alice", "submit", "https://w3id.org/coprod/case/a", "v1")
    log.record("bob", "accept", "https://w3id.org/coprod/case/a", "v1")
    assert [(e.user, e.action) for e in log.entries()] == [("alice", "submit"), ("bob", "accept")]


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    log.record("alice", "submit", "x")
    with (tmp_path / AUDIT_FILE).open("a", encoding="utf-8") as raw:
        raw.write('{"at": "2026-')
    assert [e.user for e in log.entries()] == ["alice"]
