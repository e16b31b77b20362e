"""Run a SELECT through the store and read its SPARQL JSON answer into plain rows.

The store answers in the engine's serialisation; pages and summaries that need values (not bytes)
read that JSON here, in one place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from coprod_kg.errors import CoprodError
from coprod_kg.storage.store import KnowledgeStore, QueryRequest


@dataclass(frozen=True)
class Term:
    """One bound value: ``kind`` is ``uri``, ``literal`` or ``bnode`` (SPARQL JSON's ``type``)."""

    kind: str
    value: str
    lang: str = ""
    datatype: str = ""

    @property
    def is_iri(self) -> bool:
        """True for an IRI."""
        return self.kind == "uri"


Row = dict[str, Term]


def _term(raw: dict[str, Any]) -> Term:
    kind = str(raw.get("type", "literal"))
    if kind == "typed-literal":  # older SPARQL JSON spelling
        kind = "literal"
    return Term(kind, str(raw.get("value", "")), str(raw.get("xml:lang", "")),
                str(raw.get("datatype", "")))


def parse_results(body: bytes) -> list[Row]:
    """Rows of a SPARQL JSON results document (unbound variables are absent from a row).

    >>> body = b'{"results": {"bindings": [{"x": {"type": "uri", "value": "u"}}]}}'
    >>> parse_results(body)
    [{'x': Term(kind='uri', value='u', lang='', datatype='')}]
    """
    try:
        data = json.loads(body)
        bindings = data["results"]["bindings"]
    except (ValueError, KeyError, TypeError) as exc:
        raise CoprodError(f"the store returned unreadable SPARQL JSON: {exc}") from exc
    return [{name: _term(value) for name, value in binding.items()} for binding in bindings]


def select(store: KnowledgeStore, query: str) -> list[Row]:
    """Run a SELECT over the public graphs and return its rows."""
    return parse_results(store.query(QueryRequest(query, "json")).body)


def count(store: KnowledgeStore, query: str, variable: str = "n") -> int:
    """Run a SELECT that binds one number ``variable`` and return it (0 when unbound)."""
    rows = select(store, query)
    if not rows or variable not in rows[0]:
        return 0
    return int(rows[0][variable].value)
