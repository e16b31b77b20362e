"""Parse a submitted RDF document safely into an rdflib graph.

Safety rules: JSON-LD never fetches a remote ``@context`` (only inline contexts and our own
context, resolved from the bundled copy of ``docs/context.jsonld``); RDF/XML with a DOCTYPE or
ENTITY declaration is refused before parsing, so no entity is ever expanded; nesting deeper than
:data:`~coprod_kg.rdf.nesting.MAX_NESTING` is refused before parsing and in the parsed graph
(:mod:`coprod_kg.rdf.nesting`), and a ``RecursionError`` a parser still hits becomes a 400 too.
Syntax errors become :class:`~coprod_kg.errors.ParseError` with the line and column.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax import SAXParseException

import pyoxigraph
from rdflib import Graph
from rdflib.exceptions import ParserError

from coprod_kg import bundle
from coprod_kg.errors import BadInput, ParseError, PayloadTooLarge, UnsupportedMediaType
from coprod_kg.rdf import nesting
from coprod_kg.rdf.formats import GRAPH_FORMATS
from coprod_kg.rdf.namespaces import BASE
from coprod_kg.rdf.sources import new_graph

#: The public IRI of the curators' JSON-LD context, served from this file.
CONTEXT_IRI = BASE + "context.jsonld"
CONTEXT_FILE = bundle.path("context.jsonld")

#: Media type -> rdflib parser name, for every graph format (:mod:`coprod_kg.rdf.formats`).
MEDIA_TYPES: dict[str, str] = {
    media: f.rdflib for f in GRAPH_FORMATS for media in f.media_types if f.rdflib
}

#: File suffix -> media type (for the CLI and directory scans).
SUFFIXES: dict[str, str] = {suffix: f.media_type for f in GRAPH_FORMATS for suffix in f.suffixes}

#: rdflib parser name -> pyoxigraph format, for the formats pyoxigraph reads first.
_OXI_FORMATS = {
    f.rdflib: f.oxigraph for f in GRAPH_FORMATS
    if f.rdflib in ("turtle", "nt", "xml") and isinstance(f.oxigraph, pyoxigraph.RdfFormat)
}


def media_type_for(path: Path) -> str:
    """The media type of a file, from its suffix.

    >>> media_type_for(Path("case.ttl"))
    'text/turtle'
    """
    try:
        return SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise UnsupportedMediaType(f"{path}: not an RDF file (use one of "
                                   f"{', '.join(sorted(SUFFIXES))})") from None


def parse_rdf(data: bytes | str, media_type: str, source_name: str | None = None,
              into: Graph | None = None, max_triples: int | None = None) -> Graph:
    """Parse ``data`` of ``media_type`` into a graph (``into`` or a new one).

    With ``max_triples``, a document holding more triples is refused (413), as early as the
    syntax allows (Turtle and N-Triples before rdflib builds the graph).
    """
    kind = MEDIA_TYPES.get(media_type.split(";")[0].strip().lower())
    if kind is None:
        raise UnsupportedMediaType(f"cannot read {media_type!r}; send one of "
                                   f"{', '.join(sorted(MEDIA_TYPES))}")
    raw = data.encode("utf-8") if isinstance(data, str) else data
    graph = new_graph()  # this document alone: ``into`` receives it only once it is checked
    try:
        if kind == "json-ld":
            _parse_json_ld(raw, graph, source_name)
        else:
            _parse_text(raw, kind, graph, source_name, max_triples)
    except RecursionError:  # the second line: the checks of coprod_kg.rdf.nesting missed a form
        raise ParseError(f"the document is nested too deeply for the {kind} parser; flatten "
                         "it", source=source_name) from None
    if max_triples is not None:
        _check_count(len(graph), max_triples, source_name)
    nesting.check_blank_nodes(graph, source_name)
    if into is None:
        return graph
    into += graph
    return into


def _check_count(count: int, limit: int, source_name: str | None) -> None:
    if count > limit:
        where = f"{source_name}: " if source_name else ""
        raise PayloadTooLarge(f"{where}the document holds more than {limit} triples, the limit "
                              "for one upload (COPROD_MAX_TRIPLES)")


def _parse_text(raw: bytes, kind: str, graph: Graph, source_name: str | None,
                max_triples: int | None) -> None:
    if kind == "xml":
        nesting.check_xml(raw, source_name)
    else:
        nesting.check_turtle(raw, source_name)
        # The engine's strict parser first: it gives exact positions, and it refuses input
        # (N3 variables such as ``?x``) that crashes rdflib's Turtle parser instead of failing.
        try:
            triples = pyoxigraph.parse(raw, format=_OXI_FORMATS[kind], base_iri=BASE)
            for count, _ in enumerate(triples, start=1):
                if max_triples is not None and count > max_triples:
                    _check_count(count, max_triples, source_name)
        except SyntaxError as exc:
            text = str(exc).split(": ", 1)[-1]
            raise ParseError(text, line=exc.lineno, column=exc.offset, source=source_name) from exc
    try:
        graph.parse(data=raw, format=kind, publicID=BASE)  # no relative IRI gets through
    except (SyntaxError, ParserError, SAXParseException, ValueError, IndexError) as exc:
        raise _locate(raw, kind, exc, source_name) from exc


def _locate(raw: bytes, kind: str, exc: Exception, source_name: str | None) -> ParseError:
    """Turn a parser error into a ParseError with a position: pyoxigraph reports one reliably."""
    try:
        for _ in pyoxigraph.parse(raw, format=_OXI_FORMATS[kind], base_iri=BASE):
            pass
    except SyntaxError as oxi:
        text = str(oxi).split(": ", 1)[-1]
        return ParseError(text, line=oxi.lineno, column=oxi.offset, source=source_name)
    line = getattr(exc, "lines", None)
    if isinstance(exc, SAXParseException):
        return ParseError(exc.getMessage(), line=exc.getLineNumber(),
                          column=exc.getColumnNumber(), source=source_name)
    return ParseError(_first_line(str(exc)), line=line + 1 if isinstance(line, int) else None,
                      source=source_name)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "syntax error"


@contextmanager
def quiet_json_ld() -> Iterator[None]:
    """Silence the deprecation rdflib's own JSON-LD plugin triggers (it uses ConjunctiveGraph)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "ConjunctiveGraph is deprecated",
                                DeprecationWarning)
        yield


# --- JSON-LD --------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _our_context() -> Any:
    """The ``@context`` value of the bundled ``context.jsonld``, read once."""
    document = json.loads(CONTEXT_FILE.read_text(encoding="utf-8"))
    return document["@context"]


def _parse_json_ld(raw: bytes, graph: Graph, source_name: str | None) -> None:
    nesting.check_json(raw, source_name)
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ParseError(exc.msg, line=exc.lineno, column=exc.colno, source=source_name) from exc
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 text: {exc.reason}", source=source_name) from exc
    if not isinstance(document, dict | list):
        # rdflib's JSON-LD parser crashes on a bare string or number: refuse it here.
        raise ParseError("a JSON-LD document must be a JSON object or array", line=1, column=1,
                         source=source_name)
    resolved = _resolve_contexts(document, source_name)
    nesting.check_json_ld_contexts(resolved, source_name)
    try:
        with quiet_json_ld():
            graph.parse(data=json.dumps(resolved), format="json-ld", base=BASE)
    except (SyntaxError, ParserError, ValueError, TypeError, KeyError) as exc:
        raise ParseError(f"invalid JSON-LD: {exc}", source=source_name) from exc


def _resolve_contexts(node: Any, source_name: str | None) -> Any:
    """Copy ``node`` with our context IRI inlined; refuse any other remote context."""
    walk: Callable[[Any], Any] = lambda value: _resolve_contexts(value, source_name)  # noqa: E731
    if isinstance(node, list):
        return [walk(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "@context":
            out[key] = _inline_context(value, source_name)
        else:
            out[key] = walk(value)
    return out


def _inline_context(value: Any, source_name: str | None) -> Any:
    if isinstance(value, list):
        return [_inline_context(item, source_name) for item in value]
    if isinstance(value, str):
        if value == CONTEXT_IRI:
            return _our_context()
        raise BadInput(f"{source_name + ': ' if source_name else ''}remote JSON-LD @context "
                       f"{value!r} is not fetched; inline the context or use {CONTEXT_IRI}")
    if isinstance(value, dict):
        if "@import" in value:
            raise BadInput(f"{source_name + ': ' if source_name else ''}JSON-LD @import is not "
                           "fetched; inline the imported context")
        return {k: _resolve_contexts(v, source_name) if isinstance(v, dict) else v
                for k, v in value.items()}
    return value
