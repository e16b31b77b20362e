"""``coprod-kg review``: list pending submissions, show one as a diff, accept or reject it."""

from __future__ import annotations

import argparse
from typing import Any

from coprod_kg.cli._curation import acting_user, add_identity_options, open_service, settings_of
from coprod_kg.config import Settings
from coprod_kg.curation import Curation, case_iri


def register(sub: Any) -> None:
    """Add the ``review`` verb and its ``list``, ``show``, ``accept`` and ``reject`` actions."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "review", help="review pending submissions (curators)",
        description="Without an action, list the pending submissions. 'show CASE N' prints "
        "version N as a diff against the published version; 'accept' publishes it; "
        "'reject --reason TEXT' refuses it with a reason the contributor can read.")
    add_identity_options(parser)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.add_parser("list", help="list pending submissions (the default)")
    for name, text in (("show", "print a version as a diff against the published one"),
                       ("accept", "publish a pending version"),
                       ("reject", "reject a pending version with a reason")):
        action = actions.add_parser(name, help=text)
        action.add_argument("case", metavar="CASE", help="case slug or IRI")
        action.add_argument("number", type=int, metavar="N", help="version number")
        if name == "reject":
            action.add_argument("--reason", required=True,
                                help="why, in words the contributor can act on")
    parser.set_defaults(func=run)


#: Appended (as an N-Triples comment) to the lines of entailed triples.
ENTAILED_MARK = "# entailed"


def _list(service: Curation) -> int:
    pending = service.pending()
    if not pending:
        print("no pending submissions")
    for info in pending:
        print(f"{info.slug}\tv{info.number}\tby {info.submitter}\t{info.submitted}"
              + (f"\trevises v{info.revision_of}" if info.revision_of else ""))
    return 0


def _show(service: Curation, case: str, number: int) -> int:
    diff = service.diff(case, number)
    base = f"published v{diff.base}" if diff.base else "nothing published"
    print(f"# {diff.case} v{diff.number} against {base}: +{len(diff.added)} "
          f"-{len(diff.removed)} triple(s); entailed +{len(diff.entailed_added)} "
          f"-{len(diff.entailed_removed)}")
    for line in diff.removed:
        print(f"- {line}")
    for line in diff.added:
        print(f"+ {line}")
    # Entailed triples are what accepting would add to the public graph besides the record.
    for line in diff.entailed_removed:
        print(f"- {line} {ENTAILED_MARK}")
    for line in diff.entailed_added:
        print(f"+ {line} {ENTAILED_MARK}")
    return 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Carry out one review action."""
    settings = settings_of(args, settings)
    action = args.action or "list"
    service = open_service(settings)
    try:
        if action == "list":
            return _list(service)
        case = case_iri(args.case)
        if action == "show":
            return _show(service, case, args.number)
        user = acting_user(args, settings)
        if action == "accept":
            info = service.accept(case, args.number, user)
        else:
            info = service.reject(case, args.number, user, args.reason)
        print(f"{info.case} version {info.number}: {info.status.value}")
        return 0
    finally:
        service.close()
