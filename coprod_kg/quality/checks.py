"""Run the ontology hygiene rules: ``ontology/checks/*-violation.rq`` queries that must be empty.

A rule is a SPARQL SELECT in its own file. Its leading ``#`` comment lines say what it checks
(first line) and which ROBOT report check or OOPS! pitfall it implements (the ``Implements:``
line); a ``Scope: data`` line marks a rule about bibliographic data and case records, which runs
over the ontology together with the curated data (the others run over the ontology alone). Each
row it returns is one offending term, bound to ``?term``, with an optional ``?value`` and
``?detail``. This module knows nothing about any particular rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph
from rdflib.term import Node

from coprod_kg.errors import BadInput
from coprod_kg.rdf.sources import load_ontology, new_graph, parse_turtle_file, turtle_files
from coprod_kg.rdf.terms import solution_rows, to_rdflib

RULE_SUFFIX = "-violation.rq"
ONTOLOGY_SCOPE = "ontology"
DATA_SCOPE = "data"
SCOPES = (ONTOLOGY_SCOPE, DATA_SCOPE)


@dataclass(frozen=True)
class Rule:
    """One hygiene rule read from its file."""

    name: str
    path: Path
    description: str
    implements: str
    query: str
    scope: str = ONTOLOGY_SCOPE


@dataclass(frozen=True)
class Violation:
    """One offending row: the term, and what the rule chose to say about it."""

    term: Node
    value: Node | None = None
    detail: str | None = None


@dataclass(frozen=True)
class RuleResult:
    """The outcome of one rule over one graph."""

    rule: Rule
    violations: tuple[Violation, ...]

    @property
    def passed(self) -> bool:
        return not self.violations


def checks_dir_for(ontology_dir: Path) -> Path:
    """The folder of the rules that belong to an ontology folder."""
    return ontology_dir / "checks"


def read_rule(path: Path) -> Rule:
    """Read one rule file; its leading comment lines become the description.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> text = "# Says x.\\n# Implements: P0.\\nSELECT ?term {}"
    >>> _ = (folder / "x-violation.rq").write_text(text)
    >>> read_rule(folder / "x-violation.rq").implements
    'P0.'
    """
    if not path.name.endswith(RULE_SUFFIX):
        raise BadInput(f"{path}: a rule file name ends with {RULE_SUFFIX}")
    text = path.read_text(encoding="utf-8")
    comments: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        comments.append(stripped.lstrip("#").strip())
    implements = next((c.removeprefix("Implements:").strip() for c in comments
                       if c.startswith("Implements:")), "")
    scope_line = next((c.removeprefix("Scope:") for c in comments if c.startswith("Scope:")),
                      ONTOLOGY_SCOPE)
    scope = (scope_line.split() or [""])[0]  # the first word; the rest is a gloss
    if scope not in SCOPES:
        raise BadInput(f"{path}: unknown scope {scope!r}; use one of {', '.join(SCOPES)}")
    description = next((c for c in comments
                        if c and not c.startswith(("Implements:", "Scope:"))), "")
    if not description:
        raise BadInput(f"{path}: the first comment line must say what the rule checks")
    return Rule(name=path.name.removesuffix(RULE_SUFFIX), path=path, description=description,
                implements=implements, query=text, scope=scope)


def load_rules(checks_dir: Path) -> list[Rule]:
    """Every rule in ``checks_dir``, sorted by name."""
    paths = sorted(checks_dir.glob("*" + RULE_SUFFIX))
    if not paths:
        raise BadInput(f"no *{RULE_SUFFIX} rules in {checks_dir}")
    return [read_rule(path) for path in paths]


def graph_to_store(graph: Graph) -> ox.Store:
    """Copy an rdflib graph into a fresh in-memory Oxigraph store (default graph)."""
    store = ox.Store()
    data = graph.serialize(format="nt", encoding="utf-8")
    try:
        store.load(data, format=ox.RdfFormat.N_TRIPLES)
    except SyntaxError as exc:  # rdflib accepted something Oxigraph's stricter parser refuses
        raise BadInput(f"the graph cannot be loaded into Oxigraph: {exc}") from exc
    return store


def run_rule(store: ox.Store, rule: Rule) -> RuleResult:
    """Run one rule over a store; raises :class:`BadInput` if the rule is not a valid check."""
    try:
        solutions = store.query(rule.query)
    except SyntaxError as exc:
        raise BadInput(f"{rule.path}: {exc}") from exc
    if not isinstance(solutions, ox.QuerySolutions):
        raise BadInput(f"{rule.path}: a rule must be a SELECT query")
    names = {variable.value for variable in solutions.variables}
    if "term" not in names:
        raise BadInput(f"{rule.path}: a rule must select ?term")
    violations: list[Violation] = []
    for row in solution_rows(solutions):
        if "term" not in row:
            continue
        value = to_rdflib(row["value"]) if "value" in row else None
        detail = str(to_rdflib(row["detail"])) if "detail" in row else None
        violations.append(Violation(to_rdflib(row["term"]), value, detail))
    violations.sort(key=lambda v: (str(v.term), str(v.value), v.detail or ""))
    return RuleResult(rule, tuple(violations))


def run_rules(graph: Graph, rules: Iterable[Rule]) -> list[RuleResult]:
    """Run every rule over one graph."""
    store = graph_to_store(graph)
    return [run_rule(store, rule) for rule in rules]


def check_graph(graph: Graph, checks_dir: Path) -> list[RuleResult]:
    """Run every rule of ``checks_dir`` over ``graph``."""
    return run_rules(graph, load_rules(checks_dir))


def check_ontology(ontology_dir: Path, checks_dir: Path | None = None) -> list[RuleResult]:
    """Load the ontology of ``ontology_dir`` and run every rule over it."""
    graph = load_ontology(ontology_dir)
    return check_graph(graph, checks_dir or checks_dir_for(ontology_dir))


def in_scope(rules: Iterable[Rule], scope: str) -> list[Rule]:
    """The rules of one scope (``ontology`` or ``data``)."""
    return [rule for rule in rules if rule.scope == scope]


def with_data(ontology: Graph, data_dir: Path) -> Graph:
    """A copy of the ontology graph with every Turtle file under ``data_dir`` added."""
    graph = new_graph()
    graph += ontology
    for path in turtle_files(data_dir):
        parse_turtle_file(path, into=graph)
    return graph


def failed(results: Sequence[RuleResult]) -> list[RuleResult]:
    """The results that have at least one violation."""
    return [result for result in results if not result.passed]
