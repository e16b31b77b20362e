"""Inspect a SPARQL query before running it, from its parse by the SPARQL grammar.

pyoxigraph runs ``SERVICE`` (federation) against any address and cannot turn it off, so a query that
contains it must be refused *before* it reaches the engine. A word list is fooled by the grammar's
corners (``SERVICE:x`` with an empty prefix, ``\\u0053ERVICE``, ``}SERVICE<...>``, escapes in
prefixed names), so the decision is taken on rdflib's parse of the query: a text that does not parse
as a SPARQL 1.1 *query* is refused (fail closed), and so is any parse tree holding a
``ServiceGraphPattern``. The same parse gives the query form and the ``FROM``/``FROM NAMED`` IRIs.
The query workers (:mod:`coprod_kg.storage.embedded.query_worker`) call :func:`analyse_query`, each
in its own single-threaded process; in-process callers use :func:`inspect_query`, which holds the
rdflib lock. The workers' operating-system barrier (:mod:`coprod_kg.sparql.sandbox`) stops a network
call even if this check were ever wrong.

The parse costs milliseconds, far more than a light query, so the embedded back end skips it when
:func:`coprod_kg.sparql.precheck.parse_can_be_skipped` finds that what it guards against cannot
be in the text at all: a test of absent words, never a reading of what the query means (see
``docs/security.md``).
"""

from __future__ import annotations

import signal
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

from pyparsing import ParseResults

from coprod_kg.errors import BadInput
from coprod_kg.rdf.formats import QueryForm
from coprod_kg.rdf.rdflib_lock import SPARQL_PARSER_LOCK

SERVICE_REFUSED = "federated queries (SERVICE) are disabled on this endpoint"
UPDATE_REFUSED = ("SPARQL Update is not accepted: this endpoint is read-only and fetches "
                  "nothing (LOAD, INSERT, DELETE...)")
_FORMS = {"SelectQuery": QueryForm.SELECT, "AskQuery": QueryForm.ASK,
          "ConstructQuery": QueryForm.CONSTRUCT, "DescribeQuery": QueryForm.DESCRIBE}


class QueryTooComplex(BadInput):
    """The query nests too deeply, or is too complex to check in the time allowed."""


@dataclass(frozen=True)
class QueryInfo:
    """What the parse says about a query: its form and the IRIs of its own dataset clause.

    ``dataset`` is ``None`` without ``FROM``/``FROM NAMED``, else every IRI they name.
    """

    form: QueryForm
    dataset: frozenset[str] | None = None
    #: IRIs the query can put in graph position (``GRAPH <iri>``, or bound to a ``GRAPH ?g``
    #: variable through VALUES, BIND or a FILTER on it): each must be a public graph.
    graphs: frozenset[str] = frozenset()

    @property
    def has_dataset_clause(self) -> bool:
        return self.dataset is not None


def _nodes(tree: object) -> Iterator[object]:
    """Every node of a parse tree, depth first, without recursion (deep trees are legal)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, dict):  # rdflib's CompValue is an OrderedDict
            stack.extend(node.values())
        elif isinstance(node, list | tuple | ParseResults):
            stack.extend(node)


def _name(node: object) -> str | None:
    name = getattr(node, "name", None)
    return name if isinstance(name, str) and isinstance(node, dict) else None


def _parse_error(exc: Any) -> BadInput:
    """The parser's own message, with its position as ``line:column``."""
    msg = str(getattr(exc, "msg", exc))
    msg = msg[:1].lower() + msg[1:]
    where = f"{exc.lineno}:{exc.col}: " if hasattr(exc, "lineno") else ""
    return BadInput(f"malformed query: {where}{msg}")


def _is_update(query: str) -> bool:
    """Whether ``query`` parses as SPARQL Update (only to word the refusal)."""
    from pyparsing import ParseException
    from rdflib.plugins.sparql.parser import parseUpdate

    try:
        parseUpdate(query)
    except (ParseException, RecursionError):
        return False
    return True


def _translate(parsed: Any, base_iri: str | None) -> Any:
    """rdflib's algebra of ``parsed``, prefixes and base resolved."""
    from rdflib.plugins.sparql.algebra import translateQuery

    try:
        return translateQuery(parsed, base=base_iri).algebra
    except RecursionError:
        raise
    # rdflib raises a bare Exception for an unknown prefix ("Unknown namespace prefix"); any
    # failure here means the query cannot be checked, and a query that cannot be checked is
    # refused, whatever the reason.
    except Exception as exc:
        raise BadInput(f"malformed query: {exc}") from exc


def _translate_dataset(parsed: Any, base_iri: str | None) -> frozenset[str]:
    """The ``FROM``/``FROM NAMED`` IRIs, prefixes and base resolved (rdflib's translation)."""
    algebra = _translate(parsed, base_iri)
    iris: set[str] = set()
    for clause in algebra.get("datasetClause") or []:
        for key in ("default", "named"):
            if key in clause:  # CompValue.get returns odd defaults for missing keys
                iris.add(str(clause[key]))
    return frozenset(iris)


def _get(node: object, key: str) -> Any:
    """A field of an rdflib CompValue (``CompValue.get`` answers the key when it is absent)."""
    return dict.get(node, key) if isinstance(node, dict) else None


def _graph_iris(parsed: Any, base_iri: str | None) -> frozenset[str]:
    """Every IRI that can name the graph of a ``GRAPH`` pattern (see :class:`QueryInfo`).

    Conservative: a variable feeding a ``GRAPH ?g`` variable through ``BIND`` counts as one
    too, and every IRI of a FILTER expression that mentions such a variable is collected.
    Servers differ on a graph outside the dataset (Virtuoso yields one empty solution, so
    ``ASK`` answers true), so the gate must not leave it to them.

    >>> sorted(analyse_query("ASK { VALUES ?g { <http://x/g> } GRAPH ?g { ?s ?p ?o } }").graphs)
    ['http://x/g']
    """
    from rdflib.plugins.sparql.algebra import translatePrologue
    from rdflib.term import URIRef, Variable

    algebra = _translate(parsed, base_iri)
    prologue = translatePrologue(parsed[0], base_iri)
    nodes = [n for n in _nodes(algebra) if _name(n) is not None]
    graph_vars: set[Variable] = set()
    iris: set[str] = set()
    for node in nodes:
        # "GraphGraphPattern": rdflib leaves the patterns inside EXISTS untranslated
        if _name(node) in ("Graph", "GraphGraphPattern"):
            term = _get(node, "term")
            if isinstance(term, Variable):
                graph_vars.add(term)
            else:  # an IRI, a prefixed name or a relative IRI of the parse tree
                iris.add(str(prologue.absolutize(term)))
    grown = True
    while grown:  # BIND(?x AS ?g): ?x names graphs too
        before = len(graph_vars)
        for node in nodes:
            if _name(node) == "Extend" and _get(node, "var") in graph_vars:
                graph_vars |= {v for v in _nodes(_get(node, "expr"))
                               if isinstance(v, Variable)}
        grown = len(graph_vars) > before
    for node in nodes:
        name = _name(node)
        if name == "values":
            for row in _get(node, "res") or []:
                iris |= {str(v) for k, v in row.items()
                         if k in graph_vars and isinstance(v, URIRef)}
        elif name in ("Extend", "Filter"):
            expr = list(_nodes(_get(node, "expr")))
            mentioned = (name == "Extend" and _get(node, "var") in graph_vars) or any(
                isinstance(v, Variable) and v in graph_vars for v in expr)
            if mentioned:
                iris |= {str(v) for v in expr if isinstance(v, URIRef)}
    return frozenset(iris)


def analyse_query(query: str, base_iri: str | None = None) -> QueryInfo:
    """Parse ``query`` with the SPARQL 1.1 grammar and check it against the endpoint's policy.

    Raises :class:`BadInput` for text that is not a query (updates and LOAD included, with the
    parser's message) or that contains SERVICE, :class:`QueryTooComplex` when it nests past
    the parser's recursion limit. Not thread-safe (rdflib's grammar): one caller at a time.

    >>> analyse_query("PREFIX s: <http://x/> ASK { ?s s:SERVICE ?o }").form
    <QueryForm.ASK: 'ASK'>
    """
    from pyparsing import ParseBaseException
    from rdflib.plugins.sparql.parser import parseQuery

    try:
        parsed = parseQuery(query)
        form_node = parsed[1]
        name = _name(form_node)
        if name not in _FORMS:
            raise BadInput("not a SPARQL query: expected SELECT, ASK, CONSTRUCT or DESCRIBE")
        if any(_name(node) == "ServiceGraphPattern" for node in _nodes(parsed)):
            raise BadInput(SERVICE_REFUSED)
        dataset = None
        if dict.get(form_node, "datasetClause"):  # CompValue.get returns the key if absent
            dataset = _translate_dataset(parsed, base_iri)
        graphs: frozenset[str] = frozenset()
        if any(_name(node) == "GraphGraphPattern" for node in _nodes(parsed)):
            graphs = _graph_iris(parsed, base_iri)
    except RecursionError:
        raise QueryTooComplex("the query is nested too deeply to be checked") from None
    except ParseBaseException as exc:
        if _is_update(query):
            raise BadInput(UPDATE_REFUSED) from None
        raise _parse_error(exc) from None
    return QueryInfo(_FORMS[name], dataset, graphs)


class Verdicts:
    """The last verdicts of :func:`analyse_query` (its :class:`QueryInfo` or its refusal),
    keyed by the exact query text and base IRI, so a repeated query is not parsed again.

    Exact, so as safe as the parse itself: the same text gets the same verdict. Bounded by
    ``max_entries`` and by ``max_chars`` of query text in all; a query longer than a tenth of
    that is parsed every time. Refusals for time (:class:`QueryTooComplex` from the parse
    deadline) are not kept. One per query worker process (not thread-safe, like the parser).

    >>> verdicts = Verdicts()
    >>> verdicts.analyse("ASK {}", None).form, len(verdicts)
    (<QueryForm.ASK: 'ASK'>, 1)
    """

    def __init__(self, max_entries: int = 4096, max_chars: int = 8 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_chars = max_chars
        self._entries: OrderedDict[tuple[str, str | None], QueryInfo | BadInput] = (
            OrderedDict())
        self._chars = 0

    def analyse(self, query: str, base_iri: str | None) -> QueryInfo:
        """:func:`analyse_query`, or its verdict on the same text last time."""
        key = (query, base_iri)
        found = self._entries.get(key)
        if found is None:
            try:
                found = analyse_query(query, base_iri)
            except QueryTooComplex:
                raise
            except BadInput as exc:
                found = exc
            self._keep(key, found)
        else:
            self._entries.move_to_end(key)
        if isinstance(found, BadInput):
            raise type(found)(*found.args)  # a fresh one: no traceback carried along
        return found

    def _keep(self, key: tuple[str, str | None], verdict: QueryInfo | BadInput) -> None:
        size = len(key[0]) + len(key[1] or "")
        if size > self.max_chars // 10:
            return
        self._entries[key] = verdict
        self._chars += size
        while len(self._entries) > self.max_entries or self._chars > self.max_chars:
            (text, base), _ = self._entries.popitem(last=False)
            self._chars -= len(text) + len(base or "")

    def __len__(self) -> int:
        return len(self._entries)


def inspect_query(query: str, base_iri: str | None = None) -> QueryInfo:
    """:func:`analyse_query` for in-process callers (the CLI): holds rdflib's parser lock.

    >>> inspect_query("SELECT * { ?s ?p ?o }").form
    <QueryForm.SELECT: 'SELECT'>
    """
    with SPARQL_PARSER_LOCK:
        return analyse_query(query, base_iri)


class _Deadline(BaseException):
    """Raised by the alarm inside a parse that runs too long (not an Exception: nothing in
    the parser may swallow it)."""


@contextmanager
def parse_deadline(seconds: float) -> Iterator[None]:
    """Stop a parse after ``seconds`` with :class:`QueryTooComplex` (worker processes only:
    it uses ``SIGALRM``, which only the main thread of a process receives)."""
    def ring(signum: int, frame: FrameType | None) -> None:
        raise _Deadline

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _Deadline:
        raise QueryTooComplex(f"the query is too complex: checking it took more than "
                              f"{seconds:g} s") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
