"""Find the line of a submitted file where an IRI or literal appears.

No RDF parser keeps the position of triples, so this is a cheap text search: an IRI is looked
up in every form it may be written in (``<iri>``, ``"iri"``, ``prefix:local`` for the prefixes
the file declares, ``<#fragment>``); a literal by its lexical form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rdflib import Literal, URIRef
from rdflib.term import Node

from coprod_kg.rdf.namespaces import PREFIXES

_TURTLE_PREFIX = re.compile(r"@?prefix\s+([A-Za-z][\w.-]*)?:\s*<([^>]*)>", re.IGNORECASE)
_JSON_PREFIX = re.compile(r'"([A-Za-z][\w.-]*)"\s*:\s*"(https?://[^"]*[/#])"')


@dataclass
class SourceText:
    """One submitted file: its name, its lines and the prefixes it declares."""

    name: str | None
    text: str
    lines: list[str] = field(init=False)
    prefixes: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.lines = self.text.splitlines()
        found = dict(PREFIXES)
        for pattern in (_TURTLE_PREFIX, _JSON_PREFIX):
            for match in pattern.finditer(self.text):
                found[match.group(1) or ""] = match.group(2)
        self.prefixes = found

    def forms(self, node: Node) -> list[str]:
        """The strings ``node`` may be written as in this file, most specific first."""
        if isinstance(node, Literal):
            lexical = str(node)
            if (node.datatype is not None and lexical in ("true", "false")) or lexical.isdigit():
                return [f'"{lexical}"', lexical]
            return [f'"{lexical}"', f"'{lexical}'", f">{lexical}<"] if lexical else []
        if not isinstance(node, URIRef):
            return []
        iri = str(node)
        out = [f"<{iri}>", f'"{iri}"']
        for prefix, base in self.prefixes.items():
            if iri.startswith(base) and len(iri) > len(base):
                out.append(f"{prefix}:{iri[len(base):]}")
        if "#" in iri:
            out.append(f"<#{iri.split('#', 1)[1]}>")
            out.append(f'"#{iri.split("#", 1)[1]}"')
        return out

    def find(self, node: Node, start: int = 0, subject: bool = False) -> int | None:
        """1-based line of the first occurrence of ``node`` at or after line ``start`` (0-based).

        With ``subject``, prefer a line where the node is the first thing written.
        """
        forms = self.forms(node)
        if not forms:
            return None
        if subject:
            for number in range(start, len(self.lines)):
                stripped = self.lines[number].lstrip()
                if any(stripped.startswith(f) and _ends_token(stripped, len(f)) for f in forms):
                    return number + 1
        for number in range(start, len(self.lines)):
            line = self.lines[number]
            if any(_contains_token(line, f) for f in forms):
                return number + 1
        return None


def _ends_token(text: str, end: int) -> bool:
    return end >= len(text) or not (text[end].isalnum() or text[end] in "-_:")


def _contains_token(line: str, form: str) -> bool:
    start = line.find(form)
    while start >= 0:
        before_ok = start == 0 or not (line[start - 1].isalnum() or line[start - 1] in "-_:")
        if before_ok and _ends_token(line, start + len(form)):
            return True
        start = line.find(form, start + 1)
    return False


def locate(texts: list[SourceText], focus: Node, value: Node | None,
           path: Node | None) -> tuple[str | None, int | None]:
    """The (file name, line) where the finding about ``focus``/``path``/``value`` shows."""
    for source in texts:
        focus_line = source.find(focus, subject=True)
        if focus_line is None:
            continue
        for target in (value, path):
            if target is not None:
                hit = source.find(target, start=focus_line - 1)
                if hit is not None:
                    return source.name, hit
        return source.name, focus_line
    for source in texts:
        for target in (value, path):
            if target is not None:
                hit = source.find(target)
                if hit is not None:
                    return source.name, hit
    return (texts[0].name if len(texts) == 1 else None), None
