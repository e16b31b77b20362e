"""What the validation page shows: findings grouped by record and field, and the input's lines.

Each finding carries the line of the submitted text it is about (coprod_kg.rdf.source_lines finds
it); the page numbers every input line and highlights those lines, worst severity first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from coprod_kg.errors import ParseError
from coprod_kg.validation.findings import Finding, curie
from coprod_kg.validation.shacl import ValidationResult

_RANK = {"violation": 0, "warning": 1, "info": 2}


@dataclass
class InputLine:
    """One line of the submitted text, with the worst finding pointing at it."""

    number: int
    text: str
    severity: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FindingView:
    """One finding as the page prints it."""

    severity: str
    message: str
    value: str | None
    expected: str | None
    rule: str | None
    line: int | None


@dataclass(frozen=True)
class FieldGroup:
    """The findings about one field of a record."""

    name: str
    findings: list[FindingView]


@dataclass(frozen=True)
class RecordGroup:
    """The findings about one record (a focus node of the submission)."""

    iri: str | None
    label: str
    fields: list[FieldGroup]


@dataclass(frozen=True)
class ReportView:
    """Everything the validation page needs about one submission."""

    conforms: bool | None
    errors: int
    warnings: int
    records: list[RecordGroup]
    lines: list[InputLine]
    parse_error: str | None = None


def input_lines(text: str) -> list[InputLine]:
    """Number every line of ``text`` (1-based)."""
    return [InputLine(number, line) for number, line in enumerate(text.splitlines(), start=1)]


def _mark(lines: list[InputLine], number: int | None, severity: str, note: str) -> None:
    if number is None or not 1 <= number <= len(lines):
        return
    line = lines[number - 1]
    if line.severity is None or _RANK.get(severity, 3) < _RANK.get(line.severity, 3):
        line.severity = severity
    line.notes.append(note)


def _view(finding: Finding) -> FindingView:
    value = None
    if finding.value is not None and finding.value != finding.focus_node:
        value = curie(finding.value)
    return FindingView(finding.severity, finding.message, value, finding.expected,
                       curie(finding.source_shape), finding.line)


def report_view(result: ValidationResult, text: str) -> ReportView:
    """Group ``result`` by record and field and highlight the lines of ``text`` it points at."""
    lines = input_lines(text)
    records = []
    for focus, fields in result.grouped().items():
        label = curie(focus) or "(unnamed node)"
        if focus in result.labels:
            label = f"{label} ({result.labels[focus]})"
        groups = []
        for name, findings in fields.items():
            groups.append(FieldGroup(name, [_view(f) for f in findings]))
            for finding in findings:
                _mark(lines, finding.line, finding.severity, f"{name}: {finding.message}")
        records.append(RecordGroup(str(focus) if focus else None, label, groups))
    return ReportView(result.conforms, len(result.violations), len(result.warnings), records,
                      lines)


def parse_error_view(error: ParseError, text: str) -> ReportView:
    """The page for input that does not parse: the error, at its line and column."""
    lines = input_lines(text)
    where = f" (line {error.line}" + (f", column {error.column}" if error.column else "") + ")" \
        if error.line else ""
    _mark(lines, error.line, "violation", error.message)
    return ReportView(None, 1, 0, [], lines, parse_error=f"{error.message}{where}")
