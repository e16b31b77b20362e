"""Accounts of contributors and curators, with bearer tokens stored hashed.

Accounts live in a SQLite file inside the store directory (``accounts.sqlite3``), outside every
RDF graph, so SPARQL, dumps and dereferencing can never reach them. A token is shown once when it
is made; only its SHA-256 is kept, and tokens are compared in constant time. The file (and
SQLite's ``-wal``/``-shm`` files, which take its mode) is ``0600``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from coprod_kg.atomic import PRIVATE_FILE_MODE, private_dir
from coprod_kg.errors import BadInput, NotFound

ACCOUNTS_FILE = "accounts.sqlite3"
TOKEN_BYTES = 32
_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name        TEXT PRIMARY KEY,
    role        TEXT NOT NULL CHECK (role IN ('contributor', 'curator')),
    token_hash  TEXT NOT NULL UNIQUE,
    created     TEXT NOT NULL,
    revoked     TEXT
);
"""


class Role(StrEnum):
    """What an account may do: contributors submit, curators also review and publish."""

    CONTRIBUTOR = "contributor"
    CURATOR = "curator"


@dataclass(frozen=True)
class User:
    """An account (never carries the token)."""

    name: str
    role: Role
    created: str
    revoked: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked is None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Accounts:
    """The account registry of one store directory."""

    def __init__(self, store_dir: Path) -> None:
        private_dir(store_dir)
        self.path = store_dir / ACCOUNTS_FILE
        self._private()

    def _private(self) -> None:
        """Create the database file ``0600`` (SQLite would use the umask), or tighten it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
        try:
            if os.fstat(fd).st_mode & 0o777 != PRIVATE_FILE_MODE:
                os.fchmod(fd, PRIVATE_FILE_MODE)
        finally:
            os.close(fd)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.path, isolation_level=None)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            connection.executescript(_SCHEMA)
            yield connection
        finally:
            connection.close()

    def add(self, name: str, role: Role | str) -> str:
        """Create an account and return its token (the only time it is shown)."""
        if not name or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise BadInput(f"account name {name!r}: use letters, digits, '-', '_' or '.'")
        try:
            role = Role(role)
        except ValueError as exc:
            raise BadInput(f"role {role!r}: expected 'contributor' or 'curator'") from exc
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with self._connect() as db:
            try:
                db.execute(
                    "INSERT INTO users (name, role, token_hash, created) VALUES (?, ?, ?, ?)",
                    (name, role.value, _hash(token), _now()),
                )
            except sqlite3.IntegrityError as exc:
                raise BadInput(f"an account named {name!r} already exists") from exc
        return token

    def list(self) -> list[User]:
        """Every account, active or revoked, by name."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT name, role, created, revoked FROM users ORDER BY name").fetchall()
        return [User(name, Role(role), created, revoked) for name, role, created, revoked in rows]

    def revoke(self, name: str) -> None:
        """Revoke an account's token; the account stays listed, for the audit trail."""
        with self._connect() as db:
            changed = db.execute(
                "UPDATE users SET revoked = ? WHERE name = ? AND revoked IS NULL",
                (_now(), name)).rowcount
        if changed == 0:
            raise NotFound(f"no active account named {name!r}")

    def authenticate(self, token: str) -> User | None:
        """The active account whose token this is, or ``None``.

        Every stored hash is compared with :func:`hmac.compare_digest`, so the time taken does
        not depend on how much of a guessed token is right.
        """
        wanted = _hash(token)
        with self._connect() as db:
            rows = db.execute(
                "SELECT name, role, created, token_hash FROM users WHERE revoked IS NULL"
            ).fetchall()
        found: User | None = None
        for name, role, created, token_hash in rows:
            if hmac.compare_digest(token_hash, wanted):
                found = User(name, Role(role), created)
        return found
