"""``coprod-kg user``: add, list and revoke the accounts of contributors and curators."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from coprod_kg.config import Settings
from coprod_kg.curation.accounts import Accounts, Role


def register(sub: Any) -> None:
    """Add the ``user`` verb and its ``add``, ``list`` and ``revoke`` actions."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "user", help="manage the accounts of contributors and curators",
        description="Manage accounts. A token is printed once, when the account is made; "
        "clients send it as 'Authorization: Bearer TOKEN'.")
    parser.add_argument("--store", type=Path, help="store directory (default: $COPROD_STORE)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="create an account and print its token once")
    add.add_argument("name", help="account name (letters, digits, '-', '_', '.')")
    add.add_argument("--role", required=True, choices=[r.value for r in Role],
                     help="contributor: may submit; curator: may also review and publish")
    actions.add_parser("list", help="list accounts with their role and state")
    revoke = actions.add_parser("revoke", help="revoke an account's token")
    revoke.add_argument("name", help="account name")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Carry out one account action."""
    accounts = Accounts(args.store or settings.store)
    if args.action == "add":
        token = accounts.add(args.name, args.role)
        print(f"account {args.name} ({args.role}) created; its token, shown only once:")
        print(token)
    elif args.action == "list":
        users = accounts.list()
        if not users:
            print("no accounts")
        for user in users:
            state = "active" if user.active else f"revoked {user.revoked}"
            print(f"{user.name}\t{user.role.value}\tcreated {user.created}\t{state}")
    else:
        accounts.revoke(args.name)
        print(f"account {args.name} revoked")
    return 0
