"""Accounts: tokens shown once, stored hashed, revocable; the CLI drives the same functions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from coprod_kg.cli import main
from coprod_kg.curation.accounts import ACCOUNTS_FILE, Accounts, Role
from coprod_kg.errors import BadInput, NotFound


def test_token_authenticates_and_is_stored_only_hashed(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path)
    token = accounts.add("alice", Role.CURATOR)
    user = accounts.authenticate(token)
    assert user is not None and user.name == "alice" and user.role is Role.CURATOR
    raw = (tmp_path / ACCOUNTS_FILE).read_bytes()
    assert token.encode() not in raw
    with sqlite3.connect(tmp_path / ACCOUNTS_FILE) as db:
        stored = [row[0] for row in db.execute("SELECT token_hash FROM users")]
    assert stored and token not in stored


def test_wrong_and_revoked_tokens_are_refused(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path)
    token = accounts.add("bob", "contributor")
    assert accounts.authenticate(token + "x") is None
    assert accounts.authenticate("") is None
    accounts.revoke("bob")
    assert accounts.authenticate(token) is None
    assert not accounts.list()[0].active
    with pytest.raises(NotFound):
        accounts.revoke("bob")


def test_bad_names_roles_and_duplicates_are_refused(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path)
    with pytest.raises(BadInput, match="role"):
        accounts.add("carol", "admin")
    with pytest.raises(BadInput, match="name"):
        accounts.add("carol smith", "curator")
    accounts.add("carol", "curator")
    with pytest.raises(BadInput, match="already exists"):
        accounts.add("carol", "contributor")


def test_cli_prints_the_token_once_and_lists(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["user", "--store", str(tmp_path), "add", "dana", "--role", "curator"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert Accounts(tmp_path).authenticate(token) is not None
    assert main(["user", "--store", str(tmp_path), "list"]) == 0
    listing = capsys.readouterr().out
    assert "dana\tcurator" in listing and token not in listing
    assert main(["user", "--store", str(tmp_path), "revoke", "nobody"]) == 2
