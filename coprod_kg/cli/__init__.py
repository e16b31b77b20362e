"""The ``coprod-kg`` command line: one sub-module per verb, each calling the library."""

from __future__ import annotations

import argparse
import copy
import importlib
import sys
from collections.abc import Sequence

from coprod_kg import __version__
from coprod_kg.config import load_settings
from coprod_kg.errors import CoprodError

#: Verb -> sub-module of ``coprod_kg.cli``; each module has ``register(subparsers)`` that adds
#: its verb and sets ``func(args, settings) -> int`` as the parser default. (``import`` is a
#: Python keyword, so its module is ``import_dir``.)
COMMANDS: dict[str, str] = {
    "check": "check", "load": "load", "query": "query", "dump": "dump", "serve": "serve",
    "validate": "validate", "user": "user", "submit": "submit", "review": "review",
    "import": "import_dir", "backup": "backup", "restore": "restore",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Build the argument parser with every verb registered (``only``: that verb alone, so a
    command imports its own module and not every other one: ``serve`` starts sooner)."""
    parser = argparse.ArgumentParser(
        prog="coprod-kg",
        description="The knowledge graph of the co-production of public services: check the "
        "ontology, validate case records, load the store, query it and serve it.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        if only is not None and name != only:
            continue
        module = importlib.import_module(f"coprod_kg.cli.{module_name}")
        module.register(sub)
    for verb in sub.choices.values():
        share_group_options(verb)
    return parser


def share_group_options(group: argparse.ArgumentParser) -> None:
    """Accept a command group's options after its action word too, where people type them:
    ``coprod-kg user add NAME --role curator --store DIR`` as well as
    ``coprod-kg user --store DIR add NAME --role curator``.

    Each action gets a copy of the group's options whose default is "not given", so a value
    given before the action word is not reset by the action's own parser.
    """
    actions = [a for a in group._actions if isinstance(a, argparse._SubParsersAction)]
    if not actions:
        return
    shared = [a for a in group._actions
              if a.option_strings and not isinstance(a, argparse._HelpAction)]
    for child in actions[0].choices.values():
        taken = {s for a in child._actions for s in a.option_strings}
        for option in shared:
            if taken.intersection(option.option_strings):
                continue
            copied = copy.copy(option)
            copied.default = argparse.SUPPRESS
            copied.required = False
            child._add_action(copied)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    verb = next((w for w in words if not w.startswith("-")), None)
    parser = build_parser(verb if verb in COMMANDS else None)
    args = parser.parse_args(words)
    settings = load_settings()
    try:
        code: int = args.func(args, settings)
    except CoprodError as exc:
        print(f"coprod-kg {args.command}: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())
