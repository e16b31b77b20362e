"""Curation of case records: submissions, review, versions with PROV-O history.

Public interface (CLI, API and tests use only these names)::

    cur = Curation.open(settings, backend)   # backend: coprod_kg.runtime.open_backend(settings)
    outcome = cur.submit(data, "text/turtle", user)            # -> SubmissionOutcome (pending)
    cur.pending(); cur.diff(case, n); cur.accept(case, n, curator); cur.reject(..., reason)
    cur.put(case, data, media_type, user, if_match); cur.withdraw(case, user, if_match)
    cur.history(case, viewer); cur.version(case, n, viewer); cur.etag(case); cur.close()
"""

from coprod_kg.curation.model import (
    CURATION_GRAPH,
    PROVENANCE_GRAPH,
    Diff,
    ImportReport,
    Status,
    SubmissionOutcome,
    VersionInfo,
    case_iri,
    case_slug,
    version_graph,
)
from coprod_kg.curation.service import Curation

__all__ = [
    "CURATION_GRAPH",
    "PROVENANCE_GRAPH",
    "Curation",
    "Diff",
    "ImportReport",
    "Status",
    "SubmissionOutcome",
    "VersionInfo",
    "case_iri",
    "case_slug",
    "version_graph",
]
