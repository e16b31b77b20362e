"""The parse a query worker skips: only for texts that cannot hold what it guards against.

A query worker answers a query without rdflib's parse when its text has none of the words
SERVICE, FROM, GRAPH, LOAD (any case, anywhere but in IRIs written out in full and after the
colon of a prefixed name), no backslash, no protocol dataset, and is short
and shallow (:func:`~coprod_kg.sparql.precheck.parse_can_be_skipped`). The corpus below holds every
spelling we know that could carry one of those keywords to a SPARQL parser (cases, escapes,
comments, prefixed names, IRIs, literals, no whitespace, characters that upper-case to ASCII):
each must reach the parse (a spy counts its calls) and be refused as before, while a listener
counts connections (none). Queries that pass the pre-check never call the parser, and their
answers (format, bytes, errors) are those of the parsed path.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pyoxigraph as ox
import pytest
import rdflib.plugins.sparql.parser as rdflib_parser

from coprod_kg.errors import BadInput, NotAcceptable
from coprod_kg.sparql.precheck import (
    GUARDED_WORDS,
    PLAIN_MAX_BRACKETS,
    PLAIN_MAX_CHARS,
    parse_can_be_skipped,
)
from coprod_kg.sparql.safety import SERVICE_REFUSED, UPDATE_REFUSED, Verdicts
from coprod_kg.storage.embedded import query_task
from coprod_kg.storage.embedded.query_task import Task, WorkerConfig, answer
from coprod_kg.storage.store import QueryResult, prepare

EX = "http://example.org/"
PUBLIC = EX + "public"
PRIVATE = EX + "private"


class Listener:
    """A loopback TCP listener that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/sparql"
        self.count = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.count += 1
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    found = Listener()
    yield found
    found.close()


@pytest.fixture(scope="module")
def engine() -> ox.Store:
    """A store like a public snapshot: public graphs only."""
    store = ox.Store()
    graph = ox.NamedNode(PUBLIC)
    store.extend([
        ox.Quad(ox.NamedNode(EX + "a"), ox.NamedNode(EX + "p"), ox.Literal("one"), graph),
        ox.Quad(ox.NamedNode(EX + "a"), ox.NamedNode(EX + "SERVICE"), ox.Literal("from"), graph),
        ox.Quad(ox.NamedNode(EX + "b"), ox.NamedNode(EX + "p"), ox.NamedNode(EX + "a"), graph),
    ])
    return store


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts rdflib's query parser is called on (each worker verdict starts afresh)."""
    calls: list[str] = []
    real: Callable[..., Any] = rdflib_parser.parseQuery

    def spy(query: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(query)
        return real(query, *args, **kwargs)

    monkeypatch.setattr(rdflib_parser, "parseQuery", spy)
    monkeypatch.setattr(query_task, "_VERDICTS", Verdicts())
    return calls


CONFIG = WorkerConfig("", max_results=1000)


def run(store: ox.Store, query: str, accept: str | None = None, format_param: str | None = None,
        default_graphs: list[str] | None = None) -> QueryResult:
    """The query as a ``/sparql`` worker answers it, in this process."""
    request = prepare(query, accept, format_param, default_graphs, None, base_iri=EX + "sparql",
                      lane="public")
    return answer(Task(request, (PUBLIC,), "snapshot"), CONFIG, store, None)


def full_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every query take the parsed path (as before the pre-check)."""
    monkeypatch.setattr(query_task, "unparsed_dataset", lambda request, local: None)


# -- the adversarial corpus: every spelling must reach the parse -------------------------------

def _service(ep: str) -> dict[str, str]:
    return {
        "upper": f"SELECT * {{ SERVICE <{ep}> {{ ?s ?p ?o }} }}",
        "lower": f"select * {{ service <{ep}> {{ ?s ?p ?o }} }}",
        "mixed": f"SELECT * {{ SeRvIcE <{ep}> {{ ?s ?p ?o }} }}",
        "silent": f"SELECT * {{ SERVICE SILENT <{ep}> {{ ?s ?p ?o }} }}",
        "no-space": f"SELECT*{{SERVICE<{ep}>{{?s ?p ?o}}}}",
        "after-brace": f"ASK{{{{?s ?p ?o}}SERVICE<{ep}>{{}}}}",
        "prefixed-endpoint": f"PREFIX e: <{ep}> SELECT * {{ SERVICE e: {{ ?s ?p ?o }} }}",
        "empty-prefix": f"PREFIX : <{ep}> SELECT * {{ SERVICE : {{ ?s ?p ?o }} }}",
        "variable-endpoint": f"SELECT * {{ BIND(<{ep}> AS ?e) SERVICE ?e {{ ?s ?p ?o }} }}",
        "values-endpoint": f"SELECT * {{ VALUES ?e {{ <{ep}> }} SERVICE ?e {{ ?s ?p ?o }} }}",
        "u-escape": f"SELECT * {{ \\u0053ERVICE <{ep}> {{ ?s ?p ?o }} }}",
        "u-escape-lower": f"SELECT * {{ \\u0073ervice <{ep}> {{ ?s ?p ?o }} }}",
        "u-escape-last": f"SELECT * {{ SERVIC\\u0045 <{ep}> {{ ?s ?p ?o }} }}",
        "u-escape-all": "SELECT * { " + "".join(f"\\u{ord(c):04X}" for c in "SERVICE")
        + f" <{ep}> {{ ?s ?p ?o }} }}",
        "big-u-escape": f"SELECT * {{ \\U00000053ERVICE <{ep}> {{ ?s ?p ?o }} }}",
        "escaped-endpoint": f"SELECT * {{ SERVICE <{ep.replace('h', chr(92) + 'u0068', 1)}> "
        "{ ?s ?p ?o } }",
        "comment-before": f"SELECT * {{ # SERVICE\n SERVICE <{ep}> {{ ?s ?p ?o }} }}",
        "comment-between": f"SELECT * {{ SERVICE # the endpoint\n <{ep}> {{ ?s ?p ?o }} }}",
        "crlf": f"SELECT * {{\r\nSERVICE\r\n<{ep}>\r\n{{ ?s ?p ?o }} }}",
        "tabs": f"SELECT * {{\tSERVICE\t<{ep}>\t{{ ?s ?p ?o }} }}",
        "in-optional": f"SELECT * {{ ?s ?p ?o OPTIONAL {{ SERVICE <{ep}> {{ ?s ?p ?o }} }} }}",
        "in-exists": f"ASK {{ FILTER EXISTS {{ SERVICE <{ep}> {{ ?s ?p ?o }} }} }}",
        "in-minus": f"SELECT * {{ ?s ?p ?o MINUS {{ SERVICE <{ep}> {{ ?s ?p ?o }} }} }}",
        "in-union": f"SELECT * {{ {{ ?s ?p ?o }} UNION {{ SERVICE <{ep}> {{ ?s ?p ?o }} }} }}",
        "in-subquery": f"SELECT * {{ {{ SELECT * {{ SERVICE <{ep}> {{ ?s ?p ?o }} }} }} }}",
        "describe": f"DESCRIBE ?s {{ SERVICE <{ep}> {{ ?s ?p ?o }} }}",
        "construct": f"CONSTRUCT {{ ?s ?p ?o }} {{ SERVICE <{ep}> {{ ?s ?p ?o }} }}",
        "long-s": f"SELECT * {{ \u017fERVICE <{ep}> {{ ?s ?p ?o }} }}",
        "dotless-i": f"SELECT * {{ SERV\u0131CE <{ep}> {{ ?s ?p ?o }} }}",
        "after-literal": f'SELECT * {{ BIND("x" AS ?x) SERVICE <{ep}> {{ ?s ?p ?o }} }}',
        # next to IRIs, which the pre-check reads past (a word inside one is part of a name)
        "between-iris": f"SELECT * {{ <{EX}a> <{EX}p> ?o SERVICE<{ep}>{{?s ?p ?o}} }}",
        "iri-glued-before": f"SELECT * {{ <{EX}a> <{EX}p> <{EX}o>SERVICE<{ep}>{{?s ?p ?o}} }}",
        "after-less-than": f"SELECT*{{?s ?p ?o FILTER(?o<3)SERVICE<{ep}>{{?s ?p ?o}}}}",
        "between-comparisons": f"ASK{{FILTER(1<2)SERVICE<{ep}>{{}}FILTER(2>1)}}",
        "angles-in-strings": f'SELECT * {{ ?s ?p ?o FILTER(?o != "<") SERVICE <{ep}> '
        '{ ?s ?p ?o } FILTER(?o != ">") }',
        "angles-in-comments": f"SELECT * {{ # <\nSERVICE <{ep}> {{ ?s ?p ?o }} # >\n}}",
        "iri-named-service": f"SELECT * {{ SERVICE <{ep}#SERVICE> {{ ?s ?p ?o }} }}",
    }


def _graphs() -> dict[str, tuple[str, str]]:
    """Spellings of FROM, FROM NAMED and GRAPH naming a graph that is not public."""
    from_ = "FROM names a graph that is not public"
    graph = "names a graph that is not public"
    p = PRIVATE
    return {
        "from": (f"SELECT * FROM <{p}> {{ ?s ?p ?o }}", from_),
        "from-lower": (f"select * from <{p}> {{ ?s ?p ?o }}", from_),
        "from-mixed": (f"SELECT * FrOm <{p}> {{ ?s ?p ?o }}", from_),
        "from-no-space": (f"SELECT*FROM<{p}>{{?s ?p ?o}}", from_),
        "from-named": (f"SELECT * FROM NAMED <{p}> {{ ?s ?p ?o }}", from_),
        "from-prefixed": (f"PREFIX x: <{EX}> SELECT * FROM x:private {{ ?s ?p ?o }}", from_),
        "from-relative": ("BASE <http://example.org/> SELECT * FROM <private> { ?s ?p ?o }",
                          from_),
        "from-u-escape": (f"SELECT * \\u0046ROM <{p}> {{ ?s ?p ?o }}", from_),
        "from-big-u-escape": (f"SELECT * \\U00000046ROM <{p}> {{ ?s ?p ?o }}", from_),
        "from-comment": (f"SELECT * FROM # a graph\n<{p}> {{ ?s ?p ?o }}", from_),
        "from-ask": (f"ASK FROM <{p}> {{ ?s ?p ?o }}", from_),
        "from-describe": (f"DESCRIBE <{EX}a> FROM <{p}>", from_),
        "from-construct": (f"CONSTRUCT {{ ?s ?p ?o }} FROM <{p}> {{ ?s ?p ?o }}", from_),
        "graph": (f"SELECT * {{ GRAPH <{p}> {{ ?s ?p ?o }} }}", graph),
        "graph-lower": (f"select * {{ graph <{p}> {{ ?s ?p ?o }} }}", graph),
        "graph-mixed": (f"SELECT * {{ gRaPh <{p}> {{ ?s ?p ?o }} }}", graph),
        "graph-no-space": (f"SELECT*{{GRAPH<{p}>{{?s ?p ?o}}}}", graph),
        "graph-values": (f"SELECT * {{ VALUES ?g {{ <{p}> }} GRAPH ?g {{ ?s ?p ?o }} }}", graph),
        "graph-bind": (f"SELECT * {{ BIND(<{p}> AS ?g) GRAPH ?g {{ ?s ?p ?o }} }}", graph),
        "graph-u-escape": (f"SELECT * {{ \\u0047RAPH <{p}> {{ ?s ?p ?o }} }}", graph),
        "graph-big-u-escape": (f"SELECT * {{ \\U00000047RAPH <{p}> {{ ?s ?p ?o }} }}", graph),
        "graph-escaped-iri": (f"SELECT * {{ GRAPH <{EX}priv\\u0061te> {{ ?s ?p ?o }} }}", graph),
        "graph-comment": (f"SELECT * {{ GRAPH # which\n<{p}> {{ ?s ?p ?o }} }}", graph),
        "graph-in-exists": (f"ASK {{ FILTER EXISTS {{ GRAPH <{p}> {{ ?s ?p ?o }} }} }}", graph),
        "graph-in-optional": (f"SELECT * {{ ?s ?p ?o OPTIONAL {{ GRAPH <{p}> {{ ?s ?p ?x }} }} }}",
                              graph),
        "graph-between-iris": (f"SELECT * {{ <{EX}a> <{EX}p> ?o GRAPH<{p}>{{?s ?p ?o}} }}",
                               graph),
        "graph-iri-glued": (f"SELECT * {{ <{EX}a> <{EX}p> <{EX}o>.GRAPH<{p}>{{?s ?p ?o}} }}",
                            graph),
        "from-after-iri": (f"DESCRIBE <{EX}a>FROM<{p}>", from_),
    }


def _updates(ep: str) -> dict[str, str]:
    return {
        "load": f"LOAD <{ep}>",
        "load-lower": f"load <{ep}>",
        "load-silent": f"LOAD SILENT <{ep}> INTO GRAPH <{PRIVATE}>",
        "load-u-escape": f"\\u004cOAD <{ep}>",
        "insert": f"INSERT DATA {{ <{EX}a> <{EX}p> <{EX}b> }}",
        "delete": f"DELETE WHERE {{ <{EX}a> ?p ?o }}",
        "clear": "CLEAR ALL",
        "drop": "DROP DEFAULT",
        "add": f"ADD DEFAULT TO <{PRIVATE}>",
        "with": f"WITH <{PRIVATE}> DELETE {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }}",
    }


def test_the_corpus_is_broad(listener: Listener) -> None:
    assert len(_service(listener.url)) >= 30
    assert len(_graphs()) >= 25
    assert len(_updates(listener.url)) >= 10


def test_every_spelling_with_a_guarded_word_fails_the_pre_check(listener: Listener) -> None:
    texts = [*_service(listener.url).values(), *(q for q, _ in _graphs().values()),
             *(q for name, q in _updates(listener.url).items() if "load" in name)]
    passed = [text for text in texts if parse_can_be_skipped(text)]
    assert passed == []


@pytest.mark.parametrize("name", sorted(_service("http://x/")))
def test_every_service_spelling_is_parsed_and_refused(name: str, listener: Listener,
                                                      engine: ox.Store,
                                                      parses: list[str]) -> None:
    query = _service(listener.url)[name]
    before = listener.count
    with pytest.raises(BadInput) as refused:
        run(engine, query)
    assert parses == [query]  # the parse ran, once
    if name not in ("long-s", "dotless-i"):  # not SERVICE to every parser: a syntax error
        assert SERVICE_REFUSED in str(refused.value)
    assert listener.count == before == 0


@pytest.mark.parametrize("name", sorted(_graphs()))
def test_every_graph_spelling_is_parsed_and_refused(name: str, engine: ox.Store,
                                                    parses: list[str]) -> None:
    query, reason = _graphs()[name]
    with pytest.raises(BadInput, match=reason):
        run(engine, query)
    assert parses == [query]


@pytest.mark.parametrize("name", sorted(_updates("http://x/")))
def test_every_update_is_refused_as_an_update(name: str, listener: Listener, engine: ox.Store,
                                              parses: list[str]) -> None:
    """Updates without a guarded word reach the engine first, which cannot parse them as a
    query; the parse then gives the refusal it always gave."""
    query = _updates(listener.url)[name]
    with pytest.raises(BadInput, match="SPARQL Update is not accepted") as refused:
        run(engine, query)
    assert str(refused.value) == UPDATE_REFUSED
    assert parses and parses[-1] == query
    assert listener.count == 0
    assert len(engine) == 3  # nothing changed


@pytest.mark.parametrize("query", [
    # inside an IRI written out in full
    f"SELECT * {{ ?s <{EX}SERVICE> ?o }}",
    f"SELECT * {{ ?s <{EX}graph/from/load#service> ?o }}",
    f"SELECT * {{ ?s <{EX}Service> ?o }} LIMIT 5",
    f"ASK {{ <{EX}a> <{EX}p> <{EX}GRAPH> }}",
    f"SELECT * {{ ?s ?p ?o FILTER(?o != <{EX}FROM>) }}",
    # in the comments that open the text
    f"# Which services load from the graph?\nSELECT * WHERE {{ <{EX}a> ?p ?o }}",
    f" \t# service\r# graph\r\n\n#from\nASK {{ <{EX}a> ?p ?o }}",
    f"#LOAD\nPREFIX ex: <{EX}> SELECT ?o {{ ex:a ex:p ?o }}",
    # after the colon of a prefixed name
    f"PREFIX ex: <{EX}> SELECT * {{ ?s ex:SERVICEx ?o }}",
    f"PREFIX ex: <{EX}> SELECT * {{ ?s ex:p ex:service }}",
    f"PREFIX ex: <{EX}> SELECT * {{ ?s ex:has_graph/ex:loadFactor ?o }}",
    f"PREFIX ex: <{EX}> SELECT * {{ ?s ex:p ex:a:from }}",
    f"PREFIX : <{EX}> ASK {{ :Graph :p ?o }}",
])
def test_a_guarded_word_inside_a_name_skips_the_parse_with_the_same_answer(
        query: str, engine: ox.Store, parses: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_can_be_skipped(query)
    result = run(engine, query)
    assert parses == []
    full_path(monkeypatch)
    assert run(engine, query) == result


def _local_names(ep: str) -> dict[str, str]:
    """A keyword placed right after the colon of a prefixed name: the engine reads the name
    whole, so each is a syntax error there, and then the parse's refusal."""
    return {
        "empty-prefix": f"PREFIX : <{EX}> SELECT * {{ ?s ?p ?o . :SERVICE <{ep}> {{ ?s ?p ?o }} }}",
        "object": f"PREFIX : <{EX}> SELECT * {{ ?s ?p :SERVICE <{ep}> {{ ?s ?p ?o }} }}",
        "named-prefix": f"PREFIX x: <{EX}> SELECT * {{ ?s ?p x:SERVICE <{ep}> {{ ?s ?p ?o }} }}",
        "undeclared": f"SELECT * {{ ?s ?p x:SERVICE <{ep}> {{ ?s ?p ?o }} }}",
        "colon-in-local": f"PREFIX x: <{EX}> SELECT * {{ ?s ?p x:a:SERVICE <{ep}> {{ }} }}",
        "after-variable": f"PREFIX : <{EX}> SELECT * {{ ?s ?p ?x:SERVICE <{ep}> {{ }} }}",
        "after-number": f"PREFIX : <{EX}> SELECT * {{ ?s ?p 1:SERVICE <{ep}> {{ }} }}",
        "after-language": f"PREFIX en: <{EX}> SELECT * {{ ?s ?p 'a'@en:SERVICE <{ep}> {{ }} }}",
        "after-iri": f"PREFIX : <{EX}> SELECT * {{ ?s ?p <{EX}o>:SERVICE <{ep}> {{ }} }}",
        "no-space": f"PREFIX x:<{EX}>SELECT*{{?s ?p x:SERVICE<{ep}>{{?s ?p ?o}}}}",
        "lower": f"PREFIX x: <{EX}> select * {{ ?s ?p x:service <{ep}> {{ ?s ?p ?o }} }}",
        "graph": f"PREFIX x: <{EX}> SELECT * {{ ?s ?p x:GRAPH <{PRIVATE}> {{ ?s ?p ?o }} }}",
        "from": f"PREFIX x: <{EX}> SELECT * x:FROM <{PRIVATE}> {{ ?s ?p ?o }}",
    }


def _comments(ep: str) -> dict[str, str]:
    """A keyword after an opening comment, or in a comment that does not open the text."""
    body = f"SERVICE <{ep}> {{ ?s ?p ?o }}"
    return {
        "after-lf": f"# a comment\nSELECT * {{ {body} }}",
        "after-cr": f"# a comment\rSELECT * {{ {body} }}",
        "after-crlf": f"# a comment\r\n  # another\r\nSELECT * {{ {body} }}",
        "line-separator": f"# a comment\u2028SELECT * {{ {body} }}",  # not an EOL: all comment
        "vertical-tab": f"# a comment\x0bSELECT * {{ {body} }}",
        "form-feed-first": f"\x0c# a comment\nSELECT * {{ {body} }}",  # not white space
        "bom-first": f"\ufeff# a comment\nSELECT * {{ {body} }}",
        "hash-in-string": f'SELECT * {{ ?s ?p "#" {body} }}',
        "hash-in-iri": f"SELECT * {{ ?s ?p <{EX}#x> {body} }}",
        "comment-later": f"SELECT * {{ ?s ?p ?o # SERVICE\n {body} }}",
    }


@pytest.mark.parametrize("name", sorted(_comments("http://x/")))
def test_a_keyword_near_a_comment_is_refused_and_nothing_connects(
        name: str, listener: Listener, engine: ox.Store, parses: list[str]) -> None:
    query = _comments(listener.url)[name]
    skipped = name in ("line-separator", "vertical-tab")  # a comment to the end: no keyword
    assert parse_can_be_skipped(query) is skipped
    with pytest.raises(BadInput):
        run(engine, query)
    assert parses == [query]  # the parse ran (after the engine's syntax error, if skipped)
    assert listener.count == 0


@pytest.mark.parametrize("name", sorted(_local_names("http://x/")))
def test_a_keyword_after_the_colon_of_a_name_is_refused_and_nothing_connects(
        name: str, listener: Listener, engine: ox.Store, parses: list[str]) -> None:
    query = _local_names(listener.url)[name]
    assert parse_can_be_skipped(query)  # the engine reads it first...
    with pytest.raises(BadInput):
        run(engine, query)
    assert parses == [query]  # ...refuses its syntax, and the parse gives the refusal
    assert listener.count == 0


@pytest.mark.parametrize("query", [
    f"PREFIX ex: <{EX}> SELECT ?s {{ ?s ex:p ?o FILTER(?o != \"from the graph\") }}",
    f"SELECT * {{ ?s <{EX}p> ?o }} # no SERVICE here",  # inside a comment
    f"SELECT * {{ ?s <{EX}p> ?o }} LIMIT 2 # load",
    f"SELECT * {{ ?s <{EX}p> \"one\\u0021\" }}",  # an escape in a literal
])
def test_a_guarded_word_anywhere_takes_the_parsed_path_and_is_answered(
        query: str, engine: ox.Store, parses: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    result = run(engine, query)
    assert parses == [query]
    full_path(monkeypatch)
    assert run(engine, query) == result


@pytest.mark.parametrize("query", [
    "SERV\nICE",  # split by a line break: not a keyword to any parser
    "SERV#\nICE",
    "SERV ICE",
    "SERVI\\\nCE",
])
def test_a_split_keyword_is_refused_and_nothing_connects(query: str, listener: Listener,
                                                         engine: ox.Store) -> None:
    text = f"SELECT * {{ {query} <{listener.url}> {{ ?s ?p ?o }} }}"
    with pytest.raises(BadInput):
        run(engine, text)
    assert listener.count == 0


def test_protocol_datasets_take_the_parsed_path(engine: ox.Store, parses: list[str]) -> None:
    query = f"SELECT * {{ <{EX}a> ?p ?o }}"
    result = run(engine, query, default_graphs=[PUBLIC])
    assert parses == [query]
    assert b"one" in result.body
    hidden = run(engine, query + " ", default_graphs=[PRIVATE])  # dropped: reads as empty
    assert b"one" not in hidden.body


def test_long_or_deep_texts_take_the_parsed_path() -> None:
    assert parse_can_be_skipped("ASK " + "{" * PLAIN_MAX_BRACKETS + "}" * PLAIN_MAX_BRACKETS)
    assert not parse_can_be_skipped("ASK { " + "[" * PLAIN_MAX_BRACKETS + "]")
    assert not parse_can_be_skipped("ASK { " + "(" * (PLAIN_MAX_BRACKETS + 1) + ")")
    assert not parse_can_be_skipped("ASK {}" + " " * PLAIN_MAX_CHARS)
    assert not parse_can_be_skipped(r"ASK { ?s ?p '\t' }")  # any backslash
    for word in GUARDED_WORDS:
        assert not parse_can_be_skipped(f"ASK {{ ?s <http://x/p> '{word.lower()}' }}")
        assert parse_can_be_skipped(f"PREFIX x: <http://x/> ASK {{ ?s x:{word} ?o }}")
        assert parse_can_be_skipped(f"PREFIX x: <http://x/> ASK {{ ?s x:a_{word}_b ?o }}")
        assert not parse_can_be_skipped(f"PREFIX {word}: <http://x/> ASK {{ ?s ?p ?o }}")
        assert not parse_can_be_skipped(f"PREFIX x: <http://x/> ASK {{ ?s {word}:x ?o }}")
        for glued in ("true", "1", "a", "x", "_"):  # letters, digits: the engine splits them
            assert not parse_can_be_skipped(f"ASK {{ ?s ?p {glued}{word} }}")
        for breaker in (".", "-", " ", "é", "%"):  # the run of a name ends there
            assert not parse_can_be_skipped(f"PREFIX x: <http://x/> ASK {{ ?s ?p x:a{breaker}"
                                            f"{word} }}")
        assert not parse_can_be_skipped(f"PREFIX x: <http://x/> ASK {{ ?s x:a ?o }} # {word}")
        assert not parse_can_be_skipped(f"ASK {{ ?s ?p ':{word}' . ?s ?p {word} }}")
        assert not parse_can_be_skipped(f"ASK {{ ?s <http://x/ {word}> ?o }}")  # not an IRI
        assert parse_can_be_skipped(f"ASK {{ ?s <http://x/{word.lower()}> ?o }}")


# -- the fast path: no parse, same answers ----------------------------------------------------

PLAIN = [
    f"SELECT * WHERE {{ <{EX}a> ?p ?o }}",
    f"DESCRIBE <{EX}a>",
    f"ASK {{ <{EX}b> ?p <{EX}a> }}",
    f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ ?s <{EX}p> ?o }}",
    f"PREFIX ex: <{EX}> SELECT ?o {{ ex:a ex:p ?o }} ORDER BY ?o",
    "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }",
    "BASE <http://example.org/> SELECT * { <a> ?p ?o }",
]
#: (Accept, format=) pairs, among them the ones whose answer differs by form.
WISHES = [
    (None, None), ("application/json", None), ("*/*", None), ("text/csv", None),
    ("text/turtle", None), ("application/sparql-results+xml, text/turtle;q=0.9", None),
    ("application/rdf+xml, application/sparql-results+xml", None), (None, "json"),
    (None, "xml"), (None, "csv"), (None, "turtle"), ("text/html, */*;q=0.8", None),
    ("image/png", None), ("text/tab-separated-values", "jsonld"),
]


@pytest.mark.parametrize("query", PLAIN)
def test_a_plain_query_is_answered_without_the_parse(query: str, engine: ox.Store,
                                                     parses: list[str]) -> None:
    assert parse_can_be_skipped(query)
    run(engine, query)
    assert parses == []


@pytest.mark.parametrize("query", PLAIN)
def test_plain_answers_are_those_of_the_parsed_path(query: str, engine: ox.Store,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Same media type and bytes for every wish, and the same 406 (naming the form)."""

    def outcome() -> list[tuple[str, bytes] | str]:
        found: list[tuple[str, bytes] | str] = []
        for accept, format_param in WISHES:
            try:
                result = run(engine, query, accept, format_param)
            except NotAcceptable as exc:
                found.append(f"406 {exc}")
            else:
                found.append((result.media_type, result.body))
        return found

    fast = outcome()
    full_path(monkeypatch)
    assert fast == outcome()
    assert any(isinstance(item, str) for item in fast)  # the corpus holds a 406


def test_json_is_sparql_json_for_select_and_json_ld_for_describe(engine: ox.Store) -> None:
    assert run(engine, f"SELECT * {{ <{EX}a> ?p ?o }}", "application/json").media_type == (
        "application/sparql-results+json")
    assert run(engine, f"DESCRIBE <{EX}a>", "application/json").media_type == (
        "application/ld+json")
    with pytest.raises(NotAcceptable, match="DESCRIBE query"):
        run(engine, f"DESCRIBE <{EX}a>", "text/csv")


@pytest.mark.parametrize("query", [
    "SELECT * { ?s ?p }",
    "SELEKT * { ?s ?p ?o }",
    "SELECT * { ?s ?p ?o ",
    "ASK { ?s ?p ?o } LIMIT",
    "INSERT DATA { <http://example.org/a> <http://example.org/p> 1 } ; ASK {}",
    "SELECT * { ?s nope:p ?o }",
    "",  # an empty update, to the parse
])
def test_syntax_errors_are_400_with_the_same_message(query: str, engine: ox.Store,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BadInput) as fast:
        run(engine, query)
    assert str(fast.value)
    if query.startswith(("SELECT", "SELEKT")):
        assert str(fast.value).startswith("malformed query: ")
    full_path(monkeypatch)
    with pytest.raises(BadInput) as full:
        run(engine, query)
    assert (type(fast.value), str(fast.value)) == (type(full.value), str(full.value))


def test_check_only_tasks_always_parse(parses: list[str]) -> None:
    """The remote back end's check tasks (no snapshot, so no engine to refuse a dataset)
    always take the parse."""
    request = prepare(f"DESCRIBE <{EX}a>", lane="public")
    plan = query_task._checked(Task(request, (PUBLIC,), None), CONFIG)
    assert parses == [request.query] and plan.dataset.union is False
