"""Helpers shared by the curation verbs: the acting account and the service."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from coprod_kg.config import Settings
from coprod_kg.curation import Curation
from coprod_kg.curation.accounts import Accounts, Role, User
from coprod_kg.errors import Unauthorized

TOKEN_ENV = "COPROD_TOKEN"


def add_identity_options(parser: argparse.ArgumentParser) -> None:
    """``--store`` and ``--as NAME`` (the account acting; its token is not needed locally)."""
    parser.add_argument("--store", type=Path, metavar="DIR",
                        help="store directory (default: COPROD_STORE)")
    parser.add_argument("--as", dest="account", metavar="NAME",
                        help="act as this account (default: the account of $COPROD_TOKEN)")


def settings_of(args: argparse.Namespace, settings: Settings) -> Settings:
    """``settings`` with ``--store`` applied."""
    return settings.with_overrides(store=args.store)


def acting_user(args: argparse.Namespace, settings: Settings) -> User:
    """The account named by ``--as`` (must be active), or the one of ``$COPROD_TOKEN``.

    Whoever runs the CLI can open the store files anyway; the account only says who is
    recorded in the history and which role applies.
    """
    accounts = Accounts(settings.store)
    if args.account:
        user = next((u for u in accounts.list() if u.name == args.account and u.active), None)
        if user is None:
            raise Unauthorized(f"no active account named {args.account!r} "
                               "(create it with `coprod-kg user add`)")
        return user
    token = os.environ.get(TOKEN_ENV)
    found = accounts.authenticate(token) if token else None
    if found is None:
        raise Unauthorized(f"say who you are: --as NAME, or set {TOKEN_ENV} to your token")
    return found


def is_curator(user: User) -> bool:
    return user.role is Role.CURATOR


def open_service(settings: Settings) -> Curation:
    """The curation service over a back end of its own, released by its ``close()`` (fails
    with a clear message if a server holds the store)."""
    return Curation.open(settings, repair=False)
