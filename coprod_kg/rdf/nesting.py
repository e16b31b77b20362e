"""Refuse deeply nested RDF before any parser sees it, and after parsing.

rdflib's Turtle and JSON-LD parsers, its Turtle serialiser and JSON-LD context processing recurse
once (or several times) per level of nesting, so a document nested a few hundred levels deep
ends in Python's ``RecursionError``. These checks count the nesting cheaply instead: brackets
outside strings, IRIs and comments (Turtle, N-Triples), brackets outside strings (JSON), element
depth through expat's events (RDF/XML, which also refuses DOCTYPE and ENTITY declarations in any
encoding), chains of JSON-LD context terms defined through one another, and chains of blank
nodes in the parsed graph (flat ``_:a :p _:b . _:b :p _:c`` chains are nested when serialised).
Each refusal is a :class:`~coprod_kg.errors.BadInput` naming the limit :data:`MAX_NESTING`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any
from xml.parsers import expat

from rdflib import BNode, Graph
from rdflib.namespace import RDF

from coprod_kg.errors import BadInput, ParseError

#: Deepest nesting accepted, in every syntax. Case records nest three or four levels; rdflib
#: needs about eight Python frames per level, far below the recursion limit at this depth.
MAX_NESTING = 32

# Every string, IRI and comment is consumed whole, and an unterminated one runs to the end of
# its line or of the document: no position is scanned twice (no quadratic input).
_TURTLE_TOKENS = re.compile(rb"""
      \\.                                    # an escaped character (prefixed names: a\(b)
    | \"\"\"(?:[^"\\]|\\.|"(?!""))*(?:\"\"\")?  # long strings
    | '''(?:[^'\\]|\\.|'(?!''))*(?:''')?
    | "(?:[^"\\\r\n]|\\.)*"?             # strings
    | '(?:[^'\\\r\n]|\\.)*'?
    | <[^<>"{}|^`\\\s]*>?                   # IRIs
    | \#[^\r\n]*                            # comments
    | [\[\](){}]
""", re.VERBOSE | re.DOTALL)
_JSON_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)
_OPEN = frozenset((b"[", b"(", b"{"))
_CLOSE = frozenset((b"]", b")", b"}"))


class _TooDeep(Exception):
    """Raised by the expat handlers to stop at the first element past the limit."""


def _too_deep(what: str, raw: bytes, offset: int | None, source: str | None) -> ParseError:
    line = None if offset is None else raw.count(b"\n", 0, offset) + 1
    return ParseError(f"{what} nested more than {MAX_NESTING} levels; flatten the document",
                      line=line, source=source)


def _bracket_depth(raw: bytes, tokens: re.Pattern[bytes]) -> tuple[int, int]:
    """(deepest nesting up to the first level past the limit, offset where it is reached)."""
    depth = deepest = 0
    where = 0
    for match in tokens.finditer(raw):
        token = match.group()  # strings, IRIs, comments and escapes are skipped whole
        if token in _OPEN:
            depth += 1
            if depth > deepest:
                deepest, where = depth, match.start()
                if deepest > MAX_NESTING:
                    break
        elif token in _CLOSE and depth:
            depth -= 1
    return deepest, where


def check_turtle(raw: bytes, source: str | None = None) -> None:
    """Refuse Turtle or N-Triples whose ``[ ]``, ``( )`` or ``{ }`` nest too deeply."""
    deepest, where = _bracket_depth(raw, _TURTLE_TOKENS)
    if deepest > MAX_NESTING:
        raise _too_deep("blank nodes or lists", raw, where, source)


def check_json(raw: bytes, source: str | None = None) -> None:
    """Refuse JSON whose objects and arrays nest too deeply (before ``json.loads``)."""
    deepest, where = _bracket_depth(raw, _JSON_TOKENS)
    if deepest > MAX_NESTING:
        raise _too_deep("JSON objects or arrays", raw, where, source)


def check_xml(raw: bytes, source: str | None = None) -> None:
    """Refuse XML with a DOCTYPE or ENTITY declaration, or with elements nested too deeply.

    expat reads the document's own encoding (UTF-16 included), so no byte pattern is relied on.
    """
    parser = expat.ParserCreate()
    depth = 0

    def start(name: str, attributes: Any) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_NESTING:
            raise _TooDeep

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1

    def declaration(*args: Any) -> None:
        raise ParseError("RDF/XML with a DOCTYPE or ENTITY declaration is refused (entities are "
                         "never expanded); remove the declaration",
                         line=parser.CurrentLineNumber, source=source)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = declaration
    parser.EntityDeclHandler = declaration
    try:
        parser.Parse(raw, True)
    except _TooDeep:
        raise ParseError(f"XML elements nested more than {MAX_NESTING} levels; flatten the "
                         "document", line=parser.CurrentLineNumber, source=source) from None
    except expat.ExpatError:
        return  # malformed: the RDF/XML parser stops at the same place and says where


# --- JSON-LD contexts ---------------------------------------------------------------------------


def _contexts(node: Any) -> Iterator[Mapping[str, Any]]:
    """Every local context object of a JSON document (whose depth is already checked)."""
    if isinstance(node, list):
        for item in node:
            yield from _contexts(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "@context":
                for context in value if isinstance(value, list) else [value]:
                    if isinstance(context, dict):
                        yield context
            yield from _contexts(value)


def _references(term: str, definition: Any) -> Iterator[str]:
    """The terms a term definition is expanded through (a prefix, or another term)."""
    values: list[Any] = [definition]
    if isinstance(definition, dict):
        values = [definition.get("@id"), definition.get("@reverse")]
    for value in values:
        if not isinstance(value, str):
            continue
        if ":" in value:
            yield value.split(":", 1)[0]
        elif value != term:  # a term defined as itself is read as a relative IRI, not a loop
            yield value


def check_json_ld_contexts(document: Any, source: str | None = None) -> None:
    """Refuse contexts whose terms are defined through one another in a cycle or a long chain.

    rdflib expands such terms recursively and never detects a cycle (the JSON-LD algorithm's
    "cyclic IRI mapping" error); every context of the document is checked as one, which can
    only over-approximate the chains a real scope sees.
    """
    edges: dict[str, set[str]] = {}
    for context in _contexts(document):
        for term, definition in context.items():
            if not term.startswith("@"):
                edges.setdefault(term, set()).update(_references(term, definition))
    depth: dict[str, int] = {}
    for root in edges:
        if root in depth:
            continue
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(edges[root]))]
        on_stack = {root}
        while stack:
            term, pending = stack[-1]
            child = next(pending, None)
            if child is None:
                stack.pop()
                on_stack.discard(term)
                depth[term] = 1 + max((depth.get(c, 0) for c in edges[term] if c in edges),
                                      default=0)
                if depth[term] > MAX_NESTING:
                    raise BadInput(f"{_where(source)}JSON-LD context terms defined through one "
                                   f"another more than {MAX_NESTING} levels deep ({term!r})")
            elif child in on_stack:
                raise BadInput(f"{_where(source)}JSON-LD context terms defined through one "
                               f"another in a cycle ({term!r} -> {child!r})")
            elif child in edges and child not in depth:
                stack.append((child, iter(edges[child])))
                on_stack.add(child)


def _where(source: str | None) -> str:
    return f"{source}: " if source else ""


# --- the parsed graph -------------------------------------------------------------------------


def check_blank_nodes(graph: Graph, source: str | None = None) -> None:
    """Refuse a graph whose blank nodes chain more than :data:`MAX_NESTING` levels deep.

    ``rdf:rest`` links do not count: a well-formed list is written flat, however long.
    """
    children: dict[BNode, list[BNode]] = {}
    for subject, predicate, value in graph:
        if isinstance(subject, BNode) and isinstance(value, BNode) and predicate != RDF.rest:
            children.setdefault(subject, []).append(value)
    depth: dict[BNode, int] = {}
    for root in children:
        if root in depth:
            continue
        stack: list[tuple[BNode, Iterator[BNode]]] = [(root, iter(children[root]))]
        on_stack = {root}
        while stack:
            node, pending = stack[-1]
            child = next(pending, None)
            if child is None:
                stack.pop()
                on_stack.discard(node)
                depth[node] = 1 + max((depth.get(c, 0) for c in children.get(node, ())),
                                      default=0)
                if depth[node] > MAX_NESTING:
                    raise BadInput(f"{_where(source)}blank nodes nested more than "
                                   f"{MAX_NESTING} levels; give the inner nodes IRIs")
            elif child not in on_stack and child not in depth:
                stack.append((child, iter(children.get(child, ()))))
                on_stack.add(child)
