"""The documentation keeps up with the code: every setting and every CLI verb is in the README."""

from __future__ import annotations

import re

import pytest

from coprod_kg.cli import COMMANDS, build_parser
from coprod_kg.config import PROJECT_ROOT, SETTINGS

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.env)
def test_every_setting_is_documented(setting: object) -> None:
    env = setting.env
    assert re.search(rf"`{env}`", README), f"{env} is not documented in README.md"


@pytest.mark.parametrize("verb", COMMANDS)
def test_every_cli_verb_is_documented(verb: str) -> None:
    assert f"coprod-kg {verb}" in README, f"`coprod-kg {verb}` is not documented in README.md"


def test_quick_start_is_the_two_commands() -> None:
    start = README.index("## Quick start")
    section = README[start:README.index("\n## ", start + 1)]
    assert "make serve" in section and "make test" in section


def test_every_verb_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    for verb in COMMANDS:
        with pytest.raises(SystemExit) as stop:
            parser.parse_args([verb, "--help"])
        assert stop.value.code == 0
        out = capsys.readouterr().out
        assert f"coprod-kg {verb}" in out
        assert "not available" not in out, f"`coprod-kg {verb}` is still a placeholder"
