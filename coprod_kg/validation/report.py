"""Render a validation result: plain text for curators, JSON for programs, or the SHACL report."""

from __future__ import annotations

import json
from collections.abc import Sequence

from rdflib.term import Node

from coprod_kg.rdf.parsing import quiet_json_ld
from coprod_kg.validation.findings import Finding, curie
from coprod_kg.validation.shacl import ValidationResult

#: ``--format`` names -> rdflib serialiser for the SHACL report graph.
GRAPH_FORMATS = {"turtle": "turtle", "jsonld": "json-ld"}
FORMATS = ("text", "json", *GRAPH_FORMATS)


def _where(finding: Finding) -> str:
    if finding.line is None:
        return finding.source or ""
    return f"{finding.source or '<input>'}:{finding.line}"


def _counts(results: Sequence[ValidationResult]) -> tuple[int, int]:
    errors = sum(len(r.violations) for r in results)
    warnings = sum(len(r.warnings) for r in results)
    return errors, warnings


def render_text(result: ValidationResult) -> str:
    """A report grouped by record node, then field; one paragraph per finding."""
    errors, warnings = _counts([result])
    named = [n for n in result.sources if n]
    names = ", ".join(named) if 0 < len(named) <= 3 else \
        f"{len(named)} files validated together" if named else "the submission"
    lines = [f"{names}: {'conforms' if result.conforms else 'does NOT conform'} "
             f"({errors} error{'s' if errors != 1 else ''}, "
             f"{warnings} warning{'s' if warnings != 1 else ''})"]
    for focus, fields in result.grouped().items():
        lines.append("")
        lines.append(f"{_describe(result, focus)}")
        for field_name, findings in fields.items():
            for finding in findings:
                label = "ERROR" if finding.severity == "violation" else finding.severity.upper()
                where = _where(finding)
                lines.append(f"  [{label}] {field_name}{' (' + where + ')' if where else ''}")
                lines.append(f"    {finding.message}")
                if finding.value is not None and finding.value != finding.focus_node:
                    lines.append(f"    found: {curie(finding.value)}")
                if finding.expected:
                    lines.append(f"    expected: {finding.expected}")
                lines.append(f"    rule: {curie(finding.source_shape)} "
                             f"({curie(finding.component)})")
    return "\n".join(lines) + "\n"


def _describe(result: ValidationResult, focus: Node) -> str:
    """Short name of a node, plus its title or label when the submission gives one."""
    label = result.labels.get(focus)
    return f"{curie(focus)} ({label})" if label else str(curie(focus))


def render_json(result: ValidationResult) -> str:
    """The findings as a JSON document (stable keys, for programs and the web UI)."""
    errors, warnings = _counts([result])
    document = {
        "conforms": result.conforms,
        "files": [n for n in result.sources if n],
        "errors": errors,
        "warnings": warnings,
        "findings": [f.to_json() for f in result.findings],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_graph(result: ValidationResult, fmt: str) -> str:
    """The W3C SHACL validation report (only results about submitted nodes)."""
    with quiet_json_ld():
        return result.report.serialize(format=GRAPH_FORMATS[fmt])


def render(result: ValidationResult, fmt: str) -> str:
    """Render in one of :data:`FORMATS`."""
    if fmt == "text":
        return render_text(result)
    if fmt == "json":
        return render_json(result)
    return render_graph(result, fmt)
