"""Competency questions: every tests/competency/*.rq query must return its expected answer."""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph
import pytest

from coprod_kg.quality.competency import (
    CompetencyQuestion,
    Result,
    list_questions,
    read_expected,
    run_query,
)
from coprod_kg.rdf.sources import load_ontology, parse_turtle_file, turtle_files

ROOT = Path(__file__).resolve().parent.parent
QUESTION_DIR = ROOT / "tests" / "competency"
ONTOLOGY_DIR = ROOT / "ontology"
MIN_QUESTIONS = 25

QUESTIONS = list_questions(QUESTION_DIR)


@pytest.fixture(scope="module")
def store() -> pyoxigraph.Store:
    """The whole ontology and every file of data/ (cases, sources, claims) in an in-memory store."""
    graph = load_ontology(ONTOLOGY_DIR)
    for path in turtle_files(ROOT / "data"):
        parse_turtle_file(path, into=graph)
    result = pyoxigraph.Store()
    result.load(graph.serialize(format="turtle").encode("utf-8"),
                format=pyoxigraph.RdfFormat.TURTLE)
    return result


def _canonical(result: Result, ordered: bool) -> bool | list[str]:
    """Rows as comparable JSON strings; sorted unless the query fixes the order."""
    if isinstance(result, bool):
        return result
    rows = [json.dumps(row, sort_keys=True, ensure_ascii=False) for row in result]
    return rows if ordered else sorted(rows)


def test_there_are_enough_questions() -> None:
    assert len(list(QUESTION_DIR.glob("*.rq"))) >= MIN_QUESTIONS


def test_every_question_has_an_expected_file() -> None:
    assert QUESTIONS
    missing = [q.name for q in QUESTIONS if not q.expected_path.is_file()]
    assert not missing, f"no .expected.json for {missing}"
    orphans = [p.name for p in QUESTION_DIR.glob("*.expected.json")
               if not p.with_name(p.name.replace(".expected.json", ".rq")).is_file()]
    assert not orphans, f"expected files without a query: {orphans}"


@pytest.mark.parametrize("question", QUESTIONS, ids=[q.name for q in QUESTIONS])
def test_question_has_prose(question: CompetencyQuestion) -> None:
    assert question.question.endswith("?"), question.question
    assert question.answer


@pytest.mark.parametrize("question", QUESTIONS, ids=[q.name for q in QUESTIONS])
def test_competency_question(store: pyoxigraph.Store, question: CompetencyQuestion) -> None:
    expected = _canonical(read_expected(question), question.ordered)
    actual = _canonical(run_query(store, question.query), question.ordered)
    if isinstance(expected, list) and isinstance(actual, list):
        missing = [row for row in expected if row not in actual]
        extra = [row for row in actual if row not in expected]
        detail = f"missing {missing}, unexpected {extra}"
    else:
        detail = f"expected {expected}, got {actual}"
    assert actual == expected, f"{question.name}: {question.question} -- {detail}"
