"""Inspect a SPARQL query before running it: its form, and operations the endpoint refuses.

pyoxigraph runs ``SERVICE`` (federation) against any address and cannot turn it off, so a query
that names it must be refused *before* it reaches the engine. A plain text search is fooled by
comments, strings and IRIs (``# SERVICE``, ``"SERVICE"``, ``<http://x/SERVICE>``) and misses
``\\u`` escapes, so this module tokenises the query: it skips strings, comments and IRIs, and
looks at the bare keywords only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from coprod_kg.errors import BadInput
from coprod_kg.formats import QueryForm

#: Keywords that make the engine reach outside the store (SERVICE) or write (LOAD and updates).
REFUSED_KEYWORDS: dict[str, str] = {
    "SERVICE": "federated queries (SERVICE) are disabled on this endpoint",
    "LOAD": "LOAD is not accepted: this endpoint is read-only and fetches nothing",
}
UPDATE_KEYWORDS = frozenset({"INSERT", "DELETE", "CLEAR", "DROP", "CREATE", "COPY", "MOVE", "ADD"})

_UNICODE_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_IRI = re.compile(r"<[^<>\"{}|^`\\\x00-\x20]*>")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_NAME_CHARS = re.compile(r"[A-Za-z0-9_\-.:%\u00B7\u00C0-\uFFFF]*")
_LONG_QUOTES = ('"""', "'''")


def unescape_codepoints(text: str) -> str:
    """Apply SPARQL's ``\\uXXXX``/``\\UXXXXXXXX`` escapes, which the grammar allows anywhere.

    >>> unescape_codepoints("\\\\u0053ERVICE")
    'SERVICE'
    """
    def replace(match: re.Match[str]) -> str:
        code = int(match.group(1) or match.group(2), 16)
        return chr(code) if code <= 0x10FFFF else match.group(0)
    return _UNICODE_ESCAPE.sub(replace, text)


def _skip_string(text: str, start: int) -> int:
    """Index just after the string literal starting at ``start`` (or the end if unterminated)."""
    for quote in _LONG_QUOTES:
        if text.startswith(quote, start):
            end = start + 3
            while end < len(text):
                if text[end] == "\\":
                    end += 2
                elif text.startswith(quote, end):
                    return end + 3
                else:
                    end += 1
            return len(text)
    quote = text[start]
    end = start + 1
    while end < len(text) and text[end] not in (quote, "\n"):
        end += 2 if text[end] == "\\" else 1
    return end + 1


def keywords(query: str) -> list[str]:
    """The bare words of ``query`` (upper-cased), outside strings, comments, IRIs and names.

    Variables (``?service``), prefixed names (``ex:SERVICE``, ``service:x``) and language tags
    are not bare words.

    >>> keywords('SELECT * { ?s <http://x/SERVICE> "SERVICE" } # SERVICE')
    ['SELECT']
    """
    text = unescape_codepoints(query)
    found: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "#":
            newline = text.find("\n", i)
            i = len(text) if newline < 0 else newline + 1
        elif char in "\"'":
            i = _skip_string(text, i)
        elif char == "<" and (iri := _IRI.match(text, i)):
            i = iri.end()
        elif char in "?$@" or char.isdigit():
            i = _NAME_CHARS.match(text, i + 1).end()  # type: ignore[union-attr]
        elif word := _WORD.match(text, i):
            tail = _NAME_CHARS.match(text, word.end()).end()  # type: ignore[union-attr]
            if ":" not in text[i:tail]:
                found.append(word.group(0).upper())
            i = tail
        elif char == ":":
            i = _NAME_CHARS.match(text, i + 1).end()  # type: ignore[union-attr]
        else:
            i += 1
    return found


@dataclass(frozen=True)
class QueryInfo:
    """What the checks learnt about a query: its form and whether it names a dataset itself."""

    form: QueryForm
    has_dataset_clause: bool


def inspect_query(query: str) -> QueryInfo:
    """Check ``query`` against the endpoint's policy and return its form.

    Raises :class:`BadInput` for SERVICE, LOAD, updates, or text with no query form.

    >>> inspect_query("PREFIX s: <http://x/> ASK { ?s s:SERVICE ?o }").form
    <QueryForm.ASK: 'ASK'>
    """
    words = keywords(query)
    for word, reason in REFUSED_KEYWORDS.items():
        if word in words:
            raise BadInput(reason)
    forms = [w for w in words if w in QueryForm.__members__]
    if not forms:
        updates = sorted(UPDATE_KEYWORDS.intersection(words))
        if updates:
            raise BadInput(f"SPARQL Update ({updates[0]}) is not accepted: this endpoint is "
                           "read-only")
        raise BadInput("not a SPARQL query: expected SELECT, ASK, CONSTRUCT or DESCRIBE")
    return QueryInfo(QueryForm[forms[0]], "FROM" in words)
