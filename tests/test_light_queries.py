"""Light lookups in the web process (``coprod_kg/sparql/light.py``,
``coprod_kg/storage/embedded/inline.py``).

The recogniser must never accept a text the grammar reads as anything but one triple pattern
without a repeated variable: a corpus of near misses (many spellings of each), and mutants of
light texts whose every acceptance is checked against rdflib's own algebra. The store must
answer a light query in this process exactly as a worker does, give the worker anything past
its caps or anything it cannot answer, and follow a new published state.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Variable

from coprod_kg.config import Settings
from coprod_kg.sparql import light
from coprod_kg.sparql.light import is_light
from coprod_kg.storage.backend import Backend
from coprod_kg.storage.embedded import inline, oxigraph_store
from coprod_kg.storage.embedded.pooled_store import PooledStore
from coprod_kg.storage.store import QueryResult, ResultTooLarge, prepare

SettingsFactory = Callable[..., Settings]

R = "<https://w3id.org/coprod/test/r>"

LIGHT = [
    f"SELECT ?p ?o WHERE {{ {R} ?p ?o }}",
    f"SELECT ?p ?o WHERE {{ {R} ?p ?o }} LIMIT 1",
    f"select ?p ?o where {{ {R} ?p ?o . }} limit 10",
    f"SELECT * {{ {R} ?p ?o }}",
    f"SELECT*{{{R} ?p?o}}", f"SELECT * {{{R} $p$o}}",
    f"SELECT ?s ?p WHERE {{ ?s ?p {R} }}",
    f"SELECT $s $p WHERE {{ $s $p {R} }}",
    f"ASK {{ {R} ?p ?o }}",
    f"AsK WhErE {{ {R} a ?c }}",
    f"DESCRIBE {R}",
    "PREFIX cp: <https://w3id.org/coprod/> DESCRIBE cp:r",
    "PREFIX : <https://w3id.org/coprod/> SELECT ?o { :r :p ?o }",
    "BASE <https://w3id.org/coprod/> SELECT ?o { <r> <p> ?o }",
    f"# Which properties?\nSELECT ?p ?o WHERE {{ {R} ?p ?o }}\n# pass 2",
    f"SELECT ?p ?o WHERE {{ {R} ?p ?o }} # pass 3",
    "PREFIX x-y: <http://x/> SELECT ?o { x-y:a_b-c ?p ?o }",
    f"SELECT ?o $p {{ {R} ?p ?o }}",
    f"SELECT ?o {{ {R} <http://x/SERVICE> ?o }}",
    "SELECT ?o { ?s <http://x/p> ?o }",
    "SELECT * { ?s ?p ?o }",
]

NOT_LIGHT = [
    # repeated variables: the engine filters the scan
    "SELECT ?s { ?s ?p ?s }", "SELECT ?s { ?s ?s ?o }", "SELECT * { ?x ?x ?x }",
    "SELECT ?s { ?s ?p $s }", "SELECT ?s { $s ?p ?s }", "ASK { ?o <http://x/p> ?o }",
    # modifiers that consume without producing
    "SELECT DISTINCT ?p { ?s ?p ?o }", "SELECT REDUCED ?p { ?s ?p ?o }",
    "SELECT ?p { ?s ?p ?o } OFFSET 1000000", "SELECT ?p { ?s ?p ?o } LIMIT 1 OFFSET 9",
    "SELECT ?p { ?s ?p ?o } ORDER BY ?p", "SELECT ?p { ?s ?p ?o } GROUP BY ?p",
    "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }", "SELECT ?p { ?s ?p ?o } HAVING (1)",
    "SELECT ?p { ?s ?p ?o } LIMIT", "SELECT ?p { ?s ?p ?o } LIMIT 1.5",
    "SELECT ?p { ?s ?p ?o } LIMIT -1", "ASK { ?s ?p ?o } LIMIT 1",
    # more than one pattern, or other patterns
    f"SELECT * {{ {R} ?p ?o . ?o ?q ?r }}", f"SELECT * {{ {R} ?p ?o ; ?q ?r }}",
    f"SELECT * {{ {R} ?p ?o , ?r }}", f"SELECT * {{ {R} ?p [ ?q ?r ] }}",
    f"SELECT * {{ {R} ?p ?o FILTER(?o) }}", f"SELECT * {{ {R} ?p ?o OPTIONAL {{ ?o ?q ?r }} }}",
    f"SELECT * {{ {{ {R} ?p ?o }} }}", f"SELECT * {{ {R} ?p ?o }} VALUES ?o {{ 1 }}",
    f"SELECT * {{ {R} ?p ?o BIND(1 AS ?x) }}", f"SELECT * {{ {R} ?p ?o MINUS {{ ?o ?q ?r }} }}",
    f"SELECT * {{ {{ {R} ?p ?o }} UNION {{ ?o ?q ?r }} }}", "SELECT * {}", "ASK {}",
    f"SELECT * {{ {R} ?p ?o . . }}", f"SELECT * {{ . {R} ?p ?o }}",
    f"SELECT * {{ {R} ?p }}", f"SELECT * {{ {R} ?p ?o ?x }}",
    # property paths
    f"SELECT * {{ {R} <http://x/p>* ?o }}", f"SELECT * {{ {R} <http://x/p>+ ?o }}",
    f"SELECT * {{ {R} <http://x/p>? ?o }}", f"SELECT * {{ {R} <http://x/p>/<http://x/q> ?o }}",
    f"SELECT * {{ {R} <http://x/p>|<http://x/q> ?o }}", f"SELECT * {{ {R} ^<http://x/p> ?o }}",
    f"SELECT * {{ {R} !<http://x/p> ?o }}", f"SELECT * {{ {R} (<http://x/p>) ?o }}",
    f"SELECT * {{ {R} a* ?o }}", "PREFIX x: <http://x/> SELECT * { ?s x:p/x:q ?o }",
    # datasets, graphs, services, updates
    f"SELECT * FROM <http://x/g> {{ {R} ?p ?o }}",
    f"SELECT * FROM NAMED <http://x/g> {{ {R} ?p ?o }}",
    f"SELECT * {{ GRAPH ?g {{ {R} ?p ?o }} }}",
    f"SELECT * {{ SERVICE <http://x/> {{ {R} ?p ?o }} }}",
    f"SELECT * {{ service <http://x/> {{ {R} ?p ?o }} }}", f"SeRvIcE <http://x/> {{ {R} ?p ?o }}",
    "LOAD <http://x/>", "DROP ALL", "INSERT DATA { <http://x/a> <http://x/b> <http://x/c> }",
    f"DESCRIBE {R} FROM <http://x/g>", f"DESCRIBE {R} WHERE {{ {R} ?p ?o }}",
    f"DESCRIBE {R} {R}", "DESCRIBE ?x", "DESCRIBE *", "DESCRIBE",
    f"CONSTRUCT {{ {R} ?p ?o }} WHERE {{ {R} ?p ?o }}", f"CONSTRUCT WHERE {{ {R} ?p ?o }}",
    # terms outside the token rules
    f'SELECT * {{ {R} ?p "x" }}', f"SELECT * {{ {R} ?p 1 }}", f"SELECT * {{ {R} ?p true }}",
    f"SELECT * {{ {R} ?p _:b }}", f"SELECT * {{ {R} ?p [] }}", f"SELECT * {{ {R} ?p () }}",
    f"SELECT * {{ {R} A ?o }}", "SELECT * { a ?p ?o }", f"SELECT * {{ {R} ?p a }}",
    "PREFIX x: <http://x/> SELECT * { x:a.b ?p ?o }",
    "PREFIX x: <http://x/> SELECT * { x:a:b ?p ?o }",
    "PREFIX x: <http://x/> SELECT * { x:%41 ?p ?o }",
    "PREFIX x: <http://x/> SELECT * { x:\\u0041 ?p ?o }",
    "PREFIX x.y: <http://x/> SELECT * { x.y:a ?p ?o }",
    "PREFIX x: <http://x/> SELECT * { x:é ?p ?o }",
    "SELECT ?é { ?é ?p ?o }", "SELECT ?a·b { ?s ?p ?o }", "SELECT ?p { ?s ?p ?o }\u00a0",
    "SELECT ?p\u3000{ ?s ?p ?o }", "SELECT ?p { ?s ?p ?o }\f", "SELECT ?p { ?s ?p ?o }\v",
    f"SELECT ?p ?o WHERE {{ {R} ?p ?o }} ;", "SELECT ?p { <http://x/a b> ?p ?o }",
    "SELECT ?p { <http://x/\\u0041> ?p ?o }", "SELECT ?p { <http://x/a\"> ?p ?o }",
    "SELECT \\u003fp { ?s ?p ?o }", "PREFIX x <http://x/> SELECT * { x:a ?p ?o }",
    "PREFIX x: SELECT * { x:a ?p ?o }", "PREFIX x:y <http://x/> SELECT * { x:a ?p ?o }",
    "BASE SELECT * { ?s ?p ?o }", "SELECT ?p { ?s ?p ?o", "SELECT ?p ?s ?p ?o }",
    "SELECT { ?s ?p ?o }", "SELECT ?p WHERE WHERE { ?s ?p ?o }", "", "   ", "# nothing",
    "SELECTX ?p { ?s ?p ?o }", "SELECT ?p { ?s ?p ?o } LIMIT 1 LIMIT 2",
    "SELECT ?p { ?s ?p ?o } limit10x", "SELECT ?o { <http://x/r> <http://x/p>?o }",
    "SELECT ?o { <http://x/r> a?o }", "PREFIX x: <http://x/> SELECT ?o { x:r x:p?true }",
    "SELECT ?o { <http://x/r> <http://x/p>?1 }", "SELECT$s { $s ?p ?o }",
    "SELECT?s { ?s ?p ?o }", "SELECT ?s WHERE{ ?s ?p ?o } LIMIT$x",
    "SELECT ?p {?s ?p ?o} # ok\n LIMIT 1 OFFSET 5",
    "SELECT ?p { ?s ?p ?o }" + " " * 2100,
    # undeclared or glued prefixed names (the engine reads ``a:b``, ``a:`` undeclared, as
    # ``a`` and ``:b``, and ``:s:o`` as one name), variables outside the pattern
    "PREFIX : <http://x/> SELECT * { ?s a:c:d }", "PREFIX : <http://x/> ASK { :s:o a:b }",
    "PREFIX : <http://x/> SELECT * { ?s a:c }", "SELECT ?o { undeclared:r ?p ?o }",
    "PREFIX x: <http://x/> SELECT ?o { x:r y:p ?o }", "PREFIX x: <http://x/> DESCRIBE y:r",
    "PREFIX : <http://x/> SELECT * { :s:o ?p ?x }", "PREFIX : <http://x/> SELECT * { ?s :p:o }",
    "PREFIX : <http://x/> SELECT * { <http://x/s>:p ?o }",
    "PREFIX : <http://x/> SELECT * { ?s?p:o }", "PREFIX : <http://x/> SELECT * { ?s a:o }",
    "SELECT ?x { ?s ?p ?o }", "SELECT ?s ?x { ?s ?p ?o }", "SELECT $x { ?s ?p ?o }",
    f"ASK {{ {R} ?p ?o }} LIMIT 1",
]


def _rdflib_reading(query: str) -> tuple[str, list[tuple[object, object, object]]] | None:
    """The query's form and triple patterns as rdflib's algebra reads them, or ``None`` when
    rdflib refuses the text; raises ``AssertionError`` on any node a light query cannot have."""
    try:
        algebra = translateQuery(parseQuery(query)).algebra
    except Exception:  # noqa: BLE001 - any refusal of rdflib's is "not a query" here
        return None
    allowed = {"SelectQuery", "AskQuery", "DescribeQuery", "Project", "Slice", "BGP"}
    triples: list[tuple[object, object, object]] = []

    def walk(node: object) -> None:
        if isinstance(node, CompValue):
            assert node.name in allowed, f"{node.name} in {query!r}"
            if node.name == "Slice":
                assert not node.start, f"an offset in {query!r}"
            if node.name == "BGP":
                triples.extend(node.triples)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(algebra)
    return algebra.name, triples


def _assert_one_pattern(query: str) -> None:
    """rdflib reads ``query`` as one triple pattern, or both rdflib and the engine refuse it
    (an undeclared prefix: the worker then gives the refusal)."""
    reading = _rdflib_reading(query)
    if reading is None:
        with pytest.raises(SyntaxError):
            ox.Store().query(query)
        return
    form, triples = reading
    if form == "DescribeQuery":
        assert triples == [], query
        return
    assert len(triples) == 1, f"{len(triples)} patterns in {query!r}"
    names = [t for t in triples[0] if isinstance(t, Variable)]
    assert len(set(names)) == len(names), f"a repeated variable in {query!r}"


@pytest.mark.parametrize("query", LIGHT)
def test_light_texts_are_accepted_and_read_as_one_pattern(query: str) -> None:
    assert is_light(query)
    _assert_one_pattern(query)


@pytest.mark.parametrize("query", NOT_LIGHT)
def test_near_misses_are_refused(query: str) -> None:
    assert not is_light(query)


#: The pieces mutants are made of: the light texts' own tokens, and every token a near miss
#: needs (modifiers, paths, literals, brackets, keywords of other patterns and forms).
PIECES = [
    "?s", "$s", "?p", "?o", "?x", R, "<http://x/a>", "x:a", "x:", ":a", "x:a.b", "x:a:b", "a",
    "A", ".", ";", ",", "{", "}", "(", ")", "[", "]", "*", "+", "?", "/", "|", "^", "!", "=",
    "SELECT", "ASK", "DESCRIBE", "CONSTRUCT", "WHERE", "LIMIT", "OFFSET", "1", "0", "-1",
    "DISTINCT", "REDUCED", "FILTER", "OPTIONAL", "UNION", "MINUS", "GRAPH", "SERVICE", "FROM",
    "NAMED", "VALUES", "BIND", "AS", "ORDER", "BY", "GROUP", "PREFIX", "BASE", '"l"', "_:b",
    "true", "#c\n", "\n", "COUNT", "{ ?s ?p ?o }", "a:b", "y:a", ":", ":s:o", "$o", "?1",
    "<http://y/a>",
]


def _mutants(seed: int, count: int) -> Iterator[str]:
    """Texts made from the light ones by inserting, deleting, replacing or gluing tokens."""
    rng = random.Random(seed)
    prefix = "PREFIX x: <http://x/> PREFIX : <http://y/> "
    for _ in range(count):
        tokens = prefix.split() + rng.choice(LIGHT).replace("{", " { ").replace(
            "}", " } ").split()
        for _ in range(rng.choice((0, 1, 1, 2, 3))):  # 0: only the spacing changes
            at = rng.randrange(len(tokens) + 1)
            action = rng.random()
            if action < 0.4:
                tokens.insert(at, rng.choice(PIECES))
            elif action < 0.6 and at < len(tokens):
                del tokens[at]
            elif at < len(tokens):
                tokens[at] = rng.choice(PIECES)
        yield "".join(t + ("" if rng.random() < 0.15 else " ") for t in tokens)


def test_every_accepted_mutant_reads_as_one_pattern_for_rdflib() -> None:
    accepted = refused = 0
    for text in _mutants(seed=14, count=6000):
        if is_light(text):
            accepted += 1
            _assert_one_pattern(text)
        else:
            refused += 1
    assert accepted > 500 and refused > 2000  # the corpus exercises both sides


def _spaced(query: str) -> str:
    """``query`` as the recogniser reads it: its tokens, one space apart."""
    tokens = light._tokens(query)
    assert tokens is not None
    return " ".join(text for _, text in tokens)


def _varied_store() -> ox.Store:
    """A store whose triples tell the readings of a text apart: names of the mutants'
    prefixes split and merged (``x:a``, ``x:a:b``, ``:a``), types, triples in two graphs."""
    store = ox.Store()
    names = [ox.NamedNode(f"{base}{local}") for base in ("http://x/", "http://y/")
             for local in ("a", "b", "a:b", "r", "p", "o", "s", "c", "a.b")]
    names += [ox.NamedNode(R[1:-1]), ox.NamedNode(
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#type")]
    rng = random.Random(7)
    for index in range(400):
        s, p, o = (rng.choice(names) for _ in range(3))
        graph = ox.NamedNode(f"http://g/{index % 3}")
        store.add(ox.Quad(s, p, o, graph))
    return store


def _answer(store: ox.Store, query: str) -> object:
    try:
        results = store.query(query, use_default_graph_as_union=True)
    except SyntaxError:
        return SyntaxError
    if isinstance(results, ox.QueryBoolean):
        return bool(results)
    if isinstance(results, ox.QuerySolutions):
        return sorted(repr([row[v] for v in results.variables]) for row in results)
    return sorted(repr(t) for t in results)


def test_the_engine_answers_every_accepted_mutant_as_its_tokens_read() -> None:
    """The engine's own reading, the one that runs: the text gives the same answer (or the
    same syntax error) as its tokens one space apart, on a store where readings differ."""
    store = _varied_store()
    compared = 0
    for text in _mutants(seed=16, count=6000):
        if is_light(text):
            compared += 1
            assert _answer(store, text) == _answer(store, _spaced(text)), text
    assert compared > 500


# --- the store ---------------------------------------------------------------------------


@pytest.fixture
def pooled(mini_store: Path) -> Iterator[PooledStore]:
    store = PooledStore(mini_store, 1, 10.0, 10_000)
    yield store
    store.close()


@pytest.fixture
def workers_only(mini_store: Path) -> Iterator[PooledStore]:
    store = PooledStore(mini_store, 1, 10.0, 10_000, inline=False)
    yield store
    store.close()


class _NoWorker:
    """Stands in for a lane's pool: a query that reaches it fails the test."""

    def run(self, *args: object) -> QueryResult:
        raise AssertionError("a light query went to a worker")

    async def run_async(self, *args: object) -> QueryResult:
        raise AssertionError("a light query went to a worker")

    def close(self) -> None:
        pass


def _subject(store: PooledStore) -> str:
    body = store.query(prepare("SELECT ?s { ?s a ?c } LIMIT 1", format_param="csv")).body
    return body.decode().splitlines()[1].strip()


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv", "turtle", "ntriples"])
def test_a_light_query_is_answered_in_process_as_a_worker_answers_it(
        pooled: PooledStore, workers_only: PooledStore, fmt: str) -> None:
    iri = f"<{_subject(workers_only)}>"
    real = pooled.pools
    pooled.pools = {"public": _NoWorker(), "site": _NoWorker()}  # type: ignore[dict-item]
    try:
        for text in (f"SELECT ?p ?o WHERE {{ {iri} ?p ?o }}", f"ASK {{ {iri} ?p ?o }}",
                     f"SELECT ?s ?p {{ ?s ?p {iri} }}", f"DESCRIBE {iri}"):
            graph = text.startswith("DESCRIBE")
            if graph != (fmt in ("turtle", "ntriples")):
                continue
            mine = pooled.query(prepare(text, format_param=fmt, lane="public"))
            theirs = workers_only.query(prepare(text, format_param=fmt, lane="public"))
            assert (mine.body, mine.media_type) == (theirs.body, theirs.media_type), text
            assert mine.state == theirs.state is not None
            request = prepare(text, format_param=fmt, lane="public")
            on_loop = asyncio.run(pooled.query_async(request))
            assert on_loop.body == theirs.body
    finally:
        pooled.pools = real


def _sent_to_workers(pooled: PooledStore, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The tasks the public lane's pool runs from now on (a list that grows)."""
    sent: list[object] = []
    run = pooled.pools["public"].run

    def counted(task: object) -> object:
        sent.append(task)
        return run(task)  # type: ignore[arg-type]

    monkeypatch.setattr(pooled.pools["public"], "run", counted)
    return sent


def test_past_its_caps_a_light_query_is_the_workers(pooled: PooledStore,
                                                    workers_only: PooledStore,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    text = "SELECT * { ?s ?p ?o }"
    whole = workers_only.query(prepare(text, lane="public")).body
    monkeypatch.setattr(inline, "MAX_BYTES", len(whole) // 2)
    sent = _sent_to_workers(pooled, monkeypatch)
    assert pooled.query(prepare(text, lane="public")).body == whole
    assert len(sent) == 1  # given up in process, answered whole by the worker
    monkeypatch.setattr(inline, "MAX_BYTES", len(whole) * 2)
    assert pooled.query(prepare(text, lane="public")).body == whole
    assert len(sent) == 1  # now within the cap: not sent


def test_a_light_text_the_engine_refuses_gets_the_workers_refusal(
        pooled: PooledStore, workers_only: PooledStore) -> None:
    text = "SELECT ?o { ?s ?p ?o } LIMIT 18446744073709551616"  # past the engine's integer
    assert is_light(text)
    with pytest.raises(Exception) as mine:
        pooled.query(prepare(text, lane="public"))
    with pytest.raises(Exception) as theirs:
        workers_only.query(prepare(text, lane="public"))
    assert (type(mine.value), str(mine.value)) == (type(theirs.value), str(theirs.value))
    assert getattr(mine.value, "status", None) == 400


def test_a_query_with_a_protocol_dataset_is_never_answered_in_process(
        pooled: PooledStore) -> None:
    assert pooled.inline is not None
    text = "SELECT * { ?s ?p ?o } LIMIT 1"
    snapshot = pooled._published().snapshot
    assert pooled.inline.open(snapshot)
    request = prepare(text, default_graphs=["https://w3id.org/coprod/graph/ontology"])
    assert pooled.inline.answer(request, snapshot) is None
    assert pooled.inline.answer(prepare(text), snapshot) is not None


def test_a_snapshot_that_cannot_be_opened_is_left_to_the_workers(pooled: PooledStore) -> None:
    assert pooled.inline is not None
    assert not pooled.inline.open("no-such-snapshot")
    assert pooled.inline.answer(prepare("ASK { ?s ?p ?o }"), "no-such-snapshot") is None


@pytest.mark.parametrize("setting", [True, False])
def test_the_setting_decides_whether_light_queries_stay_in_process(
        mini_store: Path, settings_for: SettingsFactory, setting: bool) -> None:
    settings = settings_for(mini_store, query_workers=1, site_workers=1,
                            inline_light_queries=setting)
    with Backend(settings) as backend:
        store = backend.store(pooled=True)
        try:
            assert isinstance(store, PooledStore)
            assert (store.inline is not None) is setting
        finally:
            store.close()


def test_past_its_triple_cap_a_light_describe_is_the_workers(
        pooled: PooledStore, workers_only: PooledStore,
        monkeypatch: pytest.MonkeyPatch) -> None:
    text = f"DESCRIBE <{_subject(workers_only)}>"
    whole = workers_only.query(prepare(text, lane="public")).body
    assert whole.count(b"\n") > 2
    monkeypatch.setattr(inline, "MAX_TRIPLES", 1)
    sent = _sent_to_workers(pooled, monkeypatch)
    assert pooled.query(prepare(text, lane="public")).body == whole
    assert len(sent) == 1


def test_the_triple_cap_is_counted_as_the_answer_streams() -> None:
    """No list of the triples is made first: the one past the cap is the last pulled."""
    pulled: list[int] = []

    def triples() -> Iterator[ox.Triple]:
        for index in range(10_000):
            pulled.append(index)
            yield ox.Triple(ox.NamedNode("http://x/s"), ox.NamedNode("http://x/p"),
                            ox.Literal(str(index)))

    with pytest.raises(ResultTooLarge):
        list(oxigraph_store._at_most(triples(), 5))
    assert len(pulled) == 6
