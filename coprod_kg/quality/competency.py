"""Competency questions: SPARQL files that state what the ontology must be able to answer.

Each question is a file ``NN-short-name.rq`` whose leading comments hold the question in prose
(``# Question: ...``) and its answer (``# Answer: ...``); the expected result sits next to it in
``NN-short-name.expected.json``. The tests run them; the query page offers them as examples.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import pyoxigraph

from coprod_kg.errors import BadInput

#: A SELECT result as rows of variable name -> value (IRIs and literals as plain strings),
#: or the boolean of an ASK.
Rows: TypeAlias = list[dict[str, str]]
Result: TypeAlias = Rows | bool

QUESTION_PREFIX = "# Question:"
ANSWER_PREFIX = "# Answer:"


@dataclass(frozen=True)
class CompetencyQuestion:
    """One competency question: where it lives, what it asks, and its SPARQL text."""

    path: Path
    question: str
    answer: str
    query: str

    @property
    def name(self) -> str:
        """The file stem, e.g. ``01-cited-works-by-ostrom``."""
        return self.path.stem

    @property
    def expected_path(self) -> Path:
        """The JSON file holding the expected result."""
        return self.path.with_name(self.path.stem + ".expected.json")

    @property
    def ordered(self) -> bool:
        """Whether the query fixes the row order (so results compare as lists)."""
        return "ORDER BY" in self.query.upper()


def _comment_value(lines: list[str], prefix: str, path: Path) -> str:
    """The text after ``prefix`` in the leading comment block, continued on ``#`` lines."""
    for index, line in enumerate(lines):
        if not line.startswith("#"):
            break
        if line.startswith(prefix):
            parts = [line[len(prefix):].strip()]
            for follow in lines[index + 1:]:
                stripped = follow.strip()
                if not stripped.startswith("#") or stripped.startswith(("# Question:",
                                                                         "# Answer:")):
                    break
                parts.append(stripped.lstrip("#").strip())
            return " ".join(p for p in parts if p)
    raise BadInput(f"{path}: the leading comments have no '{prefix}' line")


def read_question(path: Path) -> CompetencyQuestion:
    """Read one ``.rq`` file into a :class:`CompetencyQuestion`."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    return CompetencyQuestion(
        path=path,
        question=_comment_value(lines, QUESTION_PREFIX, path),
        answer=_comment_value(lines, ANSWER_PREFIX, path),
        query=text,
    )


def list_questions(directory: Path) -> list[CompetencyQuestion]:
    """Every competency question in ``directory``, sorted by file name."""
    if not directory.is_dir():
        raise BadInput(f"no competency question directory {directory}")
    return [read_question(p) for p in sorted(directory.glob("*.rq"))]


def term_text(term: object) -> str:
    """A result term as the string used in expected files (IRI, literal lexical form, _:id)."""
    if isinstance(term, pyoxigraph.BlankNode):
        return "_:" + term.value
    if isinstance(term, pyoxigraph.NamedNode | pyoxigraph.Literal):
        return term.value
    raise BadInput(f"unexpected result term {term!r}")


def run_query(store: pyoxigraph.Store, query: str) -> Result:
    """Run a SELECT or ASK query and return plain rows (unbound variables are left out)."""
    try:
        result = store.query(query)
    except SyntaxError as exc:
        raise BadInput(f"SPARQL syntax error: {exc}") from exc
    if isinstance(result, pyoxigraph.QueryBoolean):
        return bool(result)
    if not isinstance(result, pyoxigraph.QuerySolutions):
        raise BadInput("a competency question must be a SELECT or an ASK query")
    names = [v.value for v in result.variables]
    rows: Rows = []
    for solution in result:
        row: dict[str, str] = {}
        for name in names:
            value = solution[name]
            if value is not None:
                row[name] = term_text(value)
        rows.append(row)
    return rows


def read_expected(question: CompetencyQuestion) -> Result:
    """The expected result of ``question`` (a list of rows, or a boolean for ASK)."""
    path = question.expected_path
    if not path.is_file():
        raise BadInput(f"{question.path}: no expected result file {path.name}")
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, bool):
        return data
    if isinstance(data, list) and all(
        isinstance(row, dict) and all(isinstance(k, str) and isinstance(v, str)
                                      for k, v in row.items())
        for row in data
    ):
        return [dict(row) for row in data]
    raise BadInput(f"{path}: expected a boolean or a list of {{variable: string}} rows")
