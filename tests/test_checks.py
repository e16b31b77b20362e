"""Ontology hygiene rules: the real ontology passes each; each fires on its broken fixture."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rdflib import URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from coprod_kg.cli import main
from coprod_kg.config import load_settings
from coprod_kg.errors import BadInput
from coprod_kg.quality.checks import (
    DATA_SCOPE,
    RuleResult,
    check_ontology,
    in_scope,
    load_rules,
    read_rule,
    run_rules,
    with_data,
)
from coprod_kg.rdf.namespaces import BASE, PREFIXES
from coprod_kg.rdf.sources import load_ontology, module_files, parse_turtle_file

ROOT = Path(__file__).resolve().parent.parent
#: The ontology under test: the ontology_dir setting (default: the checkout's ontology/).
ONTOLOGY_DIR = load_settings().ontology_dir
CHECKS_DIR = ROOT / "ontology" / "checks"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "checks"
RULE_PATHS = sorted(CHECKS_DIR.glob("*-violation.rq"))
FIXTURE_PATHS = sorted(FIXTURES.glob("*.ttl"))
VALID_FIXTURES = sorted((FIXTURES / "valid").glob("*.ttl"))


def _rule_id(path: Path) -> str:
    return path.name.removesuffix("-violation.rq")


def _expected_terms(fixture: Path) -> set[URIRef]:
    """The terms listed on the fixture's ``# expect:`` line (CURIEs or <IRIs>)."""
    for line in fixture.read_text(encoding="utf-8").splitlines():
        if line.startswith("# expect:"):
            terms = set()
            for token in line.removeprefix("# expect:").split():
                if token.startswith("<"):
                    terms.add(URIRef(token.strip("<>")))
                else:
                    prefix, local = token.split(":", 1)
                    terms.add(URIRef(PREFIXES[prefix] + local))
            return terms
    raise AssertionError(f"{fixture} has no '# expect:' line")


def _listing(result: RuleResult) -> str:
    rows = [f"  {v.term} {v.value or ''} {v.detail or ''}".rstrip() for v in result.violations]
    return f"{result.rule.name}: {result.rule.description}\n" + "\n".join(rows)


def test_globs_are_not_empty() -> None:
    assert RULE_PATHS, f"no rules in {CHECKS_DIR}"
    assert FIXTURE_PATHS, f"no fixtures in {FIXTURES}"
    assert VALID_FIXTURES, f"no valid fixtures in {FIXTURES / 'valid'}"


def test_every_rule_documents_itself() -> None:
    for rule in load_rules(CHECKS_DIR):
        assert rule.description, rule.path
        assert rule.implements, f"{rule.path} has no 'Implements:' comment line"


def test_every_rule_has_a_fixture_and_every_fixture_a_rule() -> None:
    rules = {_rule_id(p) for p in RULE_PATHS}
    fixtures = {p.stem for p in FIXTURE_PATHS}
    assert rules - fixtures == set(), "rules without a broken fixture"
    assert fixtures - rules == set(), "fixtures naming no rule"


@pytest.fixture(scope="module")
def ontology_results() -> dict[str, RuleResult]:
    return {result.rule.name: result for result in check_ontology(ONTOLOGY_DIR, CHECKS_DIR)}


@pytest.mark.parametrize("path", RULE_PATHS, ids=_rule_id)
def test_ontology_passes_rule(path: Path, ontology_results: dict[str, RuleResult]) -> None:
    result = ontology_results[_rule_id(path)]
    assert result.passed, _listing(result)


@pytest.mark.parametrize("path", RULE_PATHS, ids=_rule_id)
def test_rule_fires_on_its_fixture(path: Path) -> None:
    fixture = FIXTURES / (_rule_id(path) + ".ttl")
    assert fixture.is_file(), f"{path.name} has no broken fixture {fixture}"
    [result] = run_rules(parse_turtle_file(fixture), [read_rule(path)])
    reported = {v.term for v in result.violations}
    missing = _expected_terms(fixture) - reported
    assert not missing, f"{result.rule.name} did not report {sorted(missing)}; got {reported}"


@pytest.mark.parametrize("fixture", VALID_FIXTURES, ids=lambda p: p.stem)
def test_valid_fixture_passes_every_rule(fixture: Path) -> None:
    results = run_rules(parse_turtle_file(fixture), load_rules(CHECKS_DIR))
    failures = [_listing(r) for r in results if not r.passed]
    assert not failures, "\n".join(failures)


def _remove_one_label(ontology_dir: Path) -> URIRef:
    """Drop the rdfs:label of one labelled class of ours in a module file; return the class."""
    for path in module_files(ontology_dir)[1:]:
        graph = parse_turtle_file(path)
        for term in sorted(s for s in graph.subjects(RDF.type, OWL.Class) if isinstance(s, URIRef)):
            labels = list(graph.objects(term, RDFS.label))
            if (str(term).startswith(BASE) and labels
                    and (term, SKOS.prefLabel, None) not in graph):
                graph.remove((term, RDFS.label, None))
                graph.serialize(path, format="turtle")
                return term
    raise AssertionError(f"no labelled class found in {ontology_dir}")


def test_cli_reports_a_removed_label(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "ontology"
    shutil.copytree(ONTOLOGY_DIR, copy, dirs_exist_ok=True)
    shutil.copytree(CHECKS_DIR, copy / "checks", dirs_exist_ok=True)
    term = _remove_one_label(copy)
    code = main(["check", "--ontology", str(copy), "--no-reasoner"])
    out = capsys.readouterr().out
    assert code == 1
    section = out.split("FAIL  missing-label", 1)
    assert len(section) == 2, out
    curie = term.n3(parse_turtle_file(copy / "coprod.ttl").namespace_manager)
    assert curie in section[1].split("\nPASS", 1)[0].split("\nFAIL", 1)[0]
    assert "summary:" in out


#: Rules about bibliographic data and case records: they must also hold over ontology + data/.
DATA_RULES = ("work-multiple-values", "doi-syntax", "stated-coding-without-quote",
              "judgement-without-grounds", "task-division-outside-complementary",
              "collective-without-actors", "level-both-individual-and-collective",
              "provider-founded-after-start", "illustration-kind", "service-kind-without-grounds")


def test_data_rules_exist_and_say_their_scope() -> None:
    """The rules about data carry ``# Scope: data``, so ``coprod-kg check`` runs them over data/."""
    scoped = {rule.name for rule in in_scope(load_rules(CHECKS_DIR), DATA_SCOPE)}
    assert scoped == set(DATA_RULES)


def test_an_unknown_scope_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x-violation.rq"
    path.write_text("# Says x.\n# Scope: everything\nSELECT ?term {}", encoding="utf-8")
    with pytest.raises(BadInput, match="unknown scope"):
        read_rule(path)


@pytest.fixture(scope="module")
def data_results() -> dict[str, RuleResult]:
    """The data rules over the ontology with every file of data/, as ``coprod-kg check`` runs
    them."""
    graph = with_data(load_ontology(ONTOLOGY_DIR), ROOT / "data")
    rules = [read_rule(CHECKS_DIR / f"{name}-violation.rq") for name in DATA_RULES]
    return {result.rule.name: result for result in run_rules(graph, rules)}


@pytest.mark.parametrize("name", DATA_RULES)
def test_data_passes_rule(name: str, data_results: dict[str, RuleResult]) -> None:
    """The curated records and sources follow the rules too."""
    assert data_results[name].passed, _listing(data_results[name])


def test_cli_runs_the_data_rules_over_data(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """``coprod-kg check`` fails when a record in the data folder breaks a data rule."""
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(FIXTURES / "stated-coding-without-quote.ttl", data / "broken.ttl")
    code = main(["check", "--data", str(data), "--no-reasoner"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL  stated-coding-without-quote" in out
    assert main(["check", "--data", str(ROOT / "data"), "--no-reasoner"]) == 0
