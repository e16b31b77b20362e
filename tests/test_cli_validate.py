"""``coprod-kg validate``: exit codes, messages, formats and directories."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from rdflib import Graph

from coprod_kg.cli import main
from coprod_kg.rdf.parsing import quiet_json_ld

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
INVALID = sorted((DATA / "invalid").glob("*.ttl"))
WARNINGS = sorted((DATA / "warnings").glob("*.ttl"))
BASE_RECORD = DATA / "valid" / "parent-cooperative-preschool.ttl"


@pytest.fixture(autouse=True)
def _test_kg(monkeypatch: pytest.MonkeyPatch) -> None:
    """The "knowledge graph" references resolve against is tests/data/kg."""
    monkeypatch.setenv("COPROD_DATA_DIR", str(DATA / "kg"))


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["validate", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_globs_are_not_empty() -> None:
    assert INVALID and WARNINGS


def test_valid_directory_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, str(DATA / "valid"))
    assert code == 0, out
    assert "conforms (0 errors" in out


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_fixture_exits_1_with_plain_message(
        path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, str(path))
    assert code == 1, out
    assert "does NOT conform" in out
    assert f"rule: cpsh:{path.stem.removesuffix('-datatype').removesuffix('-pattern')}" in out
    assert re.search(rf"\[ERROR\] .*\({re.escape(str(path))}:\d+\)", out), out


@pytest.mark.parametrize("path", WARNINGS, ids=lambda p: p.stem)
def test_warnings_are_shown_but_exit_0(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, str(path))
    assert code == 0, out
    assert "[WARNING]" in out
    assert "Recommended" in out or "not part of the case record" in out


def test_syntax_error_exits_2_naming_file_and_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.ttl"
    lines = BASE_RECORD.read_text(encoding="utf-8").splitlines()
    lines[21] = lines[21].replace(" ;", "")  # the start date loses its ';'
    broken.write_text("\n".join(lines), encoding="utf-8")
    code, _, err = _run(capsys, str(broken))
    assert code == 2
    match = re.search(r"broken\.ttl:line (\d+)", err)
    assert match, err
    assert int(match.group(1)) in (22, 23)


def test_unparsable_file_in_directory_is_reported_and_others_validated(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(BASE_RECORD, tmp_path / "good.ttl")
    (tmp_path / "bad.nt").write_text("<https://a.org/x> <p> .\n", encoding="utf-8")
    code, out, err = _run(capsys, str(tmp_path))
    assert code == 2
    assert "bad.nt:line 1" in err
    assert "good.ttl" in out


def test_missing_path_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, str(tmp_path / "nothing.ttl"))
    assert code == 2 and "no such file" in err


def test_directory_files_are_validated_together(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A case citing a source described in another file of the directory conforms."""
    with_source = (DATA / "valid" / "case-with-own-source.ttl").read_text(encoding="utf-8")
    head, source_block = with_source.split("\nsrc:test-source-2020\n")
    prefixes = "".join(line + "\n" for line in head.splitlines() if line.startswith("@prefix"))
    (tmp_path / "case.ttl").write_text(head, encoding="utf-8")
    (tmp_path / "sources.ttl").write_text(prefixes + "src:test-source-2020\n" + source_block,
                                          encoding="utf-8")
    code, out, _ = _run(capsys, str(tmp_path / "case.ttl"))
    assert code == 1 and "Case-evidence-class" in out
    code, out, _ = _run(capsys, str(tmp_path))
    assert code == 0, out


def test_kg_files_resolve_references_of_a_single_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    with_source = (DATA / "valid" / "case-with-own-source.ttl").read_text(encoding="utf-8")
    head, source_block = with_source.split("\nsrc:test-source-2020\n")
    prefixes = "".join(line + "\n" for line in head.splitlines() if line.startswith("@prefix"))
    kg = tmp_path / "data"
    kg.mkdir()
    (kg / "sources.ttl").write_text(prefixes + "src:test-source-2020\n" + source_block,
                                    encoding="utf-8")
    shutil.copy(DATA / "kg" / "agents.ttl", kg / "agents.ttl")
    (tmp_path / "case.ttl").write_text(head, encoding="utf-8")
    monkeypatch.setenv("COPROD_DATA_DIR", str(kg))
    assert main(["validate", str(tmp_path / "case.ttl")]) == 0
    capsys.readouterr()


@pytest.mark.parametrize("fmt", ["json", "turtle", "jsonld"])
def test_machine_formats(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = DATA / "invalid" / "Case-country-class.ttl"
    code, out, _ = _run(capsys, "--format", fmt, str(path))
    assert code == 1
    if fmt == "json":
        document = json.loads(out)
        assert document["conforms"] is False
        assert document["findings"][0]["value"].endswith("/country/XX")
    else:
        with quiet_json_ld():
            report = Graph().parse(data=out, format="turtle" if fmt == "turtle" else "json-ld")
        assert len(report) > 5


def test_json_ld_example_via_cli(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, str(ROOT / "docs" / "example-case.json"))
    assert code == 0, out
