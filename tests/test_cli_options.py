"""The command line takes options where people type them: every command and action has
``--help``, and a command group's options work after the action word too."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from coprod_kg.cli import build_parser, main


def _commands(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()
              ) -> list[tuple[str, ...]]:
    """Every command and action path of ``parser`` (``("user", "add")``...)."""
    found = [words] if words else []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += _commands(child, (*words, name))
    return found


COMMANDS = _commands(build_parser())


def test_the_tree_has_the_actions() -> None:
    assert ("user", "add") in COMMANDS and ("review", "accept") in COMMANDS
    assert len(COMMANDS) > 15


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_every_command_has_help(words: tuple[str, ...], capsys: pytest.CaptureFixture[str]
                                ) -> None:
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args([*words, "--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert f"coprod-kg {' '.join(words)}" in out


def test_group_options_after_the_action_word(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    assert main(["user", "add", "carol", "--role", "curator", "--store", str(store)]) == 0
    assert main(["user", "list", "--store", str(store)]) == 0
    assert "carol\tcurator" in capsys.readouterr().out
    assert main(["user", "--store", str(store), "add", "dan", "--role", "contributor"]) == 0
    assert main(["user", "revoke", "dan", "--store", str(store)]) == 0
    assert main(["user", "list", "--store", str(store)]) == 0
    listing = capsys.readouterr().out
    assert "carol\tcurator" in listing and "dan\tcontributor" in listing and "revoked" in listing


def test_a_value_before_the_action_is_not_reset_by_it() -> None:
    args = build_parser().parse_args(["user", "--store", "/x", "list"])
    assert args.store == Path("/x")
    args = build_parser().parse_args(["review", "list", "--as", "carol", "--store", "/y"])
    assert args.store == Path("/y") and args.account == "carol"
