"""``coprod-kg check``: hygiene rules, data rules and HermiT; exit 1 when one fails."""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rdflib import URIRef
from rdflib.namespace import NamespaceManager
from rdflib.term import Node

from coprod_kg.config import BUILD_DIR, Settings
from coprod_kg.publishing.docs import build_artifacts
from coprod_kg.quality.checks import (
    DATA_SCOPE,
    ONTOLOGY_SCOPE,
    RuleResult,
    checks_dir_for,
    failed,
    in_scope,
    load_rules,
    run_rules,
    with_data,
)
from coprod_kg.rdf.sources import load_ontology, new_graph
from coprod_kg.reasoning.hermit import ReasonerReport, reason

DEFAULT_DOCS_DIR = BUILD_DIR / "ontology"
_IRI = re.compile(r"https?://[^\s<>\"')]+")


def register(sub: Any) -> None:
    """Add the ``check`` verb."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "check", help="check the ontology and the data: hygiene rules, data rules, the OWL "
        "reasoner",
        description="Run every ontology/checks/*-violation.rq rule (each must return no rows): "
        "the hygiene rules over the ontology, the data rules (marked 'Scope: data') over the "
        "ontology together with the curated data; then the HermiT reasoner (the ontology must "
        "be consistent with no unsatisfiable class). Exits 1 when anything fails.")
    parser.add_argument("--ontology", metavar="DIR", type=Path, default=None,
                        help="folder holding coprod.ttl, its modules and checks/ "
                        "(default: the ontology_dir setting, COPROD_ONTOLOGY_DIR)")
    parser.add_argument("--data", metavar="DIR", type=Path, default=None,
                        help="folder of the curated records the data rules run over "
                        "(default: the data_dir setting, COPROD_DATA_DIR)")
    parser.add_argument("--no-data", action="store_true",
                        help="run the data rules over the ontology alone")
    parser.add_argument("--no-reasoner", action="store_true",
                        help="skip the HermiT consistency and satisfiability check "
                        "(it needs Java)")
    parser.add_argument("--build-docs", metavar="OUTDIR", type=Path, nargs="?",
                        const=DEFAULT_DOCS_DIR, default=None,
                        help="also write the HTML documentation and the Turtle, RDF/XML, "
                        f"JSON-LD and N-Triples serialisations to OUTDIR "
                        f"(default when given without a value: {DEFAULT_DOCS_DIR})")
    parser.set_defaults(func=run)


def _show(node: Node | None, namespaces: NamespaceManager) -> str:
    if node is None:
        return ""
    return node.n3(namespaces)


def _compact_text(text: str, namespaces: NamespaceManager) -> str:
    """Replace every IRI inside a free-text detail by its prefixed name."""
    return _IRI.sub(lambda match: namespaces.normalizeUri(URIRef(match.group(0))).strip("<>"),
                    text)


def print_results(results: Sequence[RuleResult], namespaces: NamespaceManager) -> None:
    """Print each rule's outcome, offending terms compacted with the project's prefixes."""
    for result in results:
        rule = result.rule
        if result.passed:
            print(f"PASS  {rule.name}")
            continue
        print(f"FAIL  {rule.name}: {len(result.violations)} offending row(s)")
        print(f"      {rule.description}")
        if rule.implements:
            print(f"      Implements: {rule.implements}")
        for violation in result.violations:
            parts = [_show(violation.term, namespaces)]
            if violation.value is not None:
                parts.append(_show(violation.value, namespaces))
            if violation.detail:
                parts.append(f"({_compact_text(violation.detail, namespaces)})")
            print("        - " + "  ".join(parts))


def print_reasoner(report: ReasonerReport, namespaces: NamespaceManager) -> None:
    """Print what HermiT found."""
    if not report.consistent:
        print("FAIL  reasoner: the ontology is INCONSISTENT (HermiT found no model)")
    elif report.unsatisfiable:
        print(f"FAIL  reasoner: {len(report.unsatisfiable)} unsatisfiable class(es) "
              "(equivalent to owl:Nothing)")
        for iri in report.unsatisfiable:
            print("        - " + namespaces.normalizeUri(iri))
    else:
        print(f"PASS  reasoner: consistent, no unsatisfiable class ({report.seconds:.1f} s)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the checks, print them, and return 1 if anything failed."""
    ontology_dir: Path = args.ontology or settings.ontology_dir
    graph = load_ontology(ontology_dir)
    namespaces = new_graph().namespace_manager
    rules = load_rules(checks_dir_for(ontology_dir))
    results = run_rules(graph, in_scope(rules, ONTOLOGY_SCOPE))
    print_results(results, namespaces)
    data_dir: Path | None = None if args.no_data else (args.data or settings.data_dir)
    data_graph = graph if data_dir is None else with_data(graph, data_dir)
    print(f"data rules over the ontology and {data_dir or 'no data'}:")
    data_results = run_rules(data_graph, in_scope(rules, DATA_SCOPE))
    print_results(data_results, namespaces)
    results += data_results
    report: ReasonerReport | None = None
    if not args.no_reasoner:
        report = reason(graph)
        print_reasoner(report, namespaces)
    bad = failed(results)
    rows = sum(len(result.violations) for result in bad)
    reasoner_text = "skipped" if report is None else ("ok" if report.ok else "FAILED")
    print(f"summary: {len(results) - len(bad)} of {len(results)} rules pass, {len(bad)} fail "
          f"({rows} offending row(s)); reasoner {reasoner_text}")
    if args.build_docs is not None:
        for path in build_artifacts(ontology_dir, args.build_docs):
            print(f"wrote {path}")
    return 1 if bad or (report is not None and not report.ok) else 0
