"""Pydantic models of the HTTP envelopes, for the OpenAPI schema.

They describe what the JSON answers look like; they never carry record rules (those are the SHACL
shapes: a record is checked by :func:`coprod_kg.validation.shacl.validate`, never by Pydantic).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class FindingModel(BaseModel):
    """One SHACL result in plain terms."""

    severity: str = Field(description="violation, warning or info")
    focus_node: str | None
    field: str | None
    path: str | None
    value: str | None
    message: str
    expected: str | None
    rule: str | None
    component: str | None
    file: str | None
    line: int | None = Field(description="line of the submitted text the finding is about")


class ValidationReportModel(BaseModel):
    """The validation report as JSON."""

    conforms: bool
    files: list[str]
    errors: int
    warnings: int
    findings: list[FindingModel]


class TombstoneModel(BaseModel):
    """What stays public of a withdrawn case."""

    case: str
    title: str | None = None
    withdrawn: str | None = Field(None, description="when (ISO 8601)")
    reason: str | None = Field(None, description="why, as the curator gave it")
    version: int = Field(description="the version that was withdrawn")


class ErrorModel(BaseModel):
    """Any refused request of the JSON API."""

    error: str = Field(description="the error's name, e.g. ParseError, Conflict")
    status: int
    message: str
    line: int | None = None
    column: int | None = None
    report: ValidationReportModel | None = Field(
        None, description="the validation report, when a submission does not conform")
    tombstone: TombstoneModel | None = Field(
        None, description="what stays public of a withdrawn case (with 410)")


class VersionModel(BaseModel):
    """One version of a case, as the curation workflow records it."""

    case: str
    slug: str
    number: int
    status: str = Field(description="pending, published, superseded, rejected or withdrawn")
    graph: str = Field(description="the named graph holding this version's triples")
    submitter: str
    submitted: str
    content_hash: str
    validated_with: str
    triples: int
    revision_of: int | None = None
    curator: str | None = None
    decided: str | None = None
    reason: str | None = None
    url: str = Field(description="where to read this version (or submission)")


class SubmissionModel(VersionModel):
    """A stored submission or new version, with the warnings it still has."""

    etag: str
    report: ValidationReportModel


class DiffModel(BaseModel):
    """A version against the current published version, as N-Triples lines and Turtle."""

    case: str
    number: int
    base: int | None
    added: list[str]
    removed: list[str]
    added_turtle: str
    removed_turtle: str
    entailed_added: list[str] = Field(
        default_factory=list, description="entailed triples the version adds (not asserted: "
        "derived by the load-time rules with the ontology, and published with it)")
    entailed_removed: list[str] = Field(default_factory=list,
                                        description="entailed triples the version removes")
    entailed_added_turtle: str = ""
    entailed_removed_turtle: str = ""


class ReviewModel(BaseModel):
    """A submission with its diff, as a curator reviews it."""

    version: VersionModel
    diff: DiffModel


class CaseModel(BaseModel):
    """A case's current state: its latest version and its public one, if any."""

    case: str
    slug: str
    etag: str
    latest: VersionModel
    published: int | None


class RejectionModel(BaseModel):
    """Why a submission is rejected; the contributor reads it."""

    reason: str = Field(min_length=1, max_length=4000)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given error statuses."""
    return {status: {"model": ErrorModel, "description": _DESCRIPTIONS.get(status, "error")}
            for status in statuses}


_DESCRIPTIONS = {
    400: "malformed input (with line and column for RDF)",
    401: "no valid bearer token",
    403: "the account's role does not allow this",
    404: "no such case, version or submission",
    406: "no acceptable representation",
    409: "the case already exists (use PUT) or the submission was already decided",
    410: "the case was withdrawn (with its tombstone: title, when, why)",
    412: "If-Match names a stale version",
    413: "the body is too large",
    415: "unsupported media type",
    422: "the submission is refused (with the report, or a plain reason)",
    428: "If-Match is required",
    503: "the store is busy or not ready",
}
