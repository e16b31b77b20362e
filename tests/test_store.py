"""The store interface: formats, negotiation, query checks, datasets, the in-process store."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from backends import jsonld_nodes, manifest_of, store_of
from rdflib import Graph

from coprod_kg.errors import BadInput, NotAcceptable
from coprod_kg.rdf.conneg import negotiate_query as negotiate
from coprod_kg.rdf.formats import QueryForm
from coprod_kg.rdf.namespaces import INFERRED_GRAPH, ONTOLOGY_GRAPH
from coprod_kg.sparql.safety import inspect_query
from coprod_kg.storage.embedded.oxigraph_store import OxigraphStore
from coprod_kg.storage.store import QueryRequest, ResultTooLarge, describe, prepare, resolve_dataset

CASE = "https://w3id.org/coprod/case/example-case"


@pytest.mark.parametrize(("form", "accept", "expected"), [
    (QueryForm.SELECT, None, "json"),
    (QueryForm.SELECT, "*/*", "json"),
    (QueryForm.SELECT, "application/sparql-results+xml", "xml"),
    (QueryForm.SELECT, "text/csv;q=0.5, text/tab-separated-values", "tsv"),
    (QueryForm.SELECT, "application/json", "json"),
    (QueryForm.SELECT, "application/xml", "xml"),
    (QueryForm.ASK, "text/*", "csv"),
    (QueryForm.CONSTRUCT, None, "turtle"),
    (QueryForm.CONSTRUCT, "application/json", "jsonld"),
    (QueryForm.CONSTRUCT, "application/rdf+xml;q=0.9, text/turtle;q=0.8", "rdfxml"),
    (QueryForm.DESCRIBE, "text/plain", "ntriples"),
    (QueryForm.DESCRIBE, "text/html, */*;q=0.8", "turtle"),
])
def test_negotiation_follows_accept_and_q_values(form: QueryForm, accept: str | None,
                                                 expected: str) -> None:
    assert negotiate(form, accept).name == expected


def test_format_parameter_wins_and_unusable_choices_are_406() -> None:
    assert negotiate(QueryForm.SELECT, "application/sparql-results+xml", "csv").name == "csv"
    assert negotiate(QueryForm.CONSTRUCT, None, "xml").name == "rdfxml"
    assert negotiate(QueryForm.CONSTRUCT, "application/n-triples", "csv").name == "ntriples"
    with pytest.raises(NotAcceptable):
        negotiate(QueryForm.CONSTRUCT, "text/csv", "csv")
    with pytest.raises(NotAcceptable):
        negotiate(QueryForm.SELECT, "image/png")
    with pytest.raises(NotAcceptable):
        negotiate(QueryForm.SELECT, "text/csv;q=0")


@pytest.mark.parametrize("query", [
    "SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "select * { service silent <http://x/> { ?s ?p ?o } }",
    "SELECT * {\n# a comment\n  SeRvIcE <http://x/> {} }",
    "SELECT * { \\u0053ERVICE <http://x/> {} }",
    "LOAD <http://127.0.0.1:9/data.ttl>",
    "INSERT DATA { <a> <b> <c> }",
    "DROP ALL",
    "not a query at all",
])
def test_refused_queries(query: str) -> None:
    with pytest.raises(BadInput):
        inspect_query(query)


@pytest.mark.parametrize("query", [
    'SELECT * { ?s ?p "SERVICE" }',
    "SELECT * { ?s ?p ?o } # SERVICE <http://x/>",
    "SELECT * { ?s <http://example.org/SERVICE> ?o }",
    "PREFIX service: <http://x/> SELECT ?service { ?service service:LOAD ?o }",
    'SELECT * { ?s ?p """multi\nline SERVICE""" }',
    "SELECT * { ?s ?p ?o FILTER(?o < 3 && ?o > 1) }",
])
def test_harmless_mentions_are_not_refused(query: str) -> None:
    assert inspect_query(query).form is QueryForm.SELECT


def test_query_form_is_the_outer_one() -> None:
    assert inspect_query("CONSTRUCT { ?s ?p ?o } WHERE { { SELECT * { ?s ?p ?o } } }").form \
        is QueryForm.CONSTRUCT
    assert inspect_query("PREFIX a: <x:> DESCRIBE a:b").form is QueryForm.DESCRIBE


def test_private_graphs_never_join_the_dataset() -> None:
    public, private = ["urn:g:public"], ["urn:g:pending"]
    plain = resolve_dataset(QueryRequest("SELECT * {}"), public, private)
    assert plain.default == ("urn:g:public",)
    assert plain.named == ("urn:g:public",)
    asked = resolve_dataset(QueryRequest("SELECT * {}", default_graphs=("urn:g:pending",),
                                         named_graphs=("urn:g:public",)), public, private)
    assert asked.default == ()
    assert asked.named == ("urn:g:public",)
    with pytest.raises(BadInput):
        resolve_dataset(QueryRequest("PREFIX g: <urn:g:> SELECT * FROM g:pending {}"),
                        public, private)
    own = resolve_dataset(QueryRequest("SELECT * FROM <urn:g:public> {}"), public, private)
    assert own.default is None


def test_in_process_store_answers_in_every_format(mini_store: Path) -> None:
    store = store_of(mini_store)
    select = store.query(prepare(f"SELECT ?t {{ <{CASE}> a ?t }}"))
    types = {b["t"]["value"] for b in json.loads(select.body)["results"]["bindings"]}
    assert "https://w3id.org/coprod/ontology/CoProductionCase" in types
    assert "http://www.w3.org/ns/prov#Activity" in types  # entailed through subClassOf
    xml = store.query(prepare(f"SELECT ?t {{ <{CASE}> a ?t }}", format_param="xml")).body
    assert b"<sparql" in xml
    # Servers differ, all validly: CRLF or LF line ends, a quoted CSV header (Virtuoso), and
    # Virtuoso's TSV header lacks the "?".
    for fmt, dialect in (("csv", "excel"), ("tsv", "excel-tab")):
        body = store.query(prepare(f"SELECT ?t {{ <{CASE}> a ?t }}", format_param=fmt)).body
        header = next(csv.reader(io.StringIO(body.decode()), dialect=dialect))
        assert [name.removeprefix("?") for name in header] == ["t"], fmt
    ask = store.query(prepare("ASK { ?s ?p ?o }", accept="application/sparql-results+xml"))
    assert b"<boolean>true</boolean>" in ask.body
    for fmt, rdflib_format in (("turtle", "turtle"), ("ntriples", "nt"), ("rdfxml", "xml")):
        result = describe(store, CASE, fmt)
        graph = Graph().parse(data=result.body, format=rdflib_format)
        assert len(graph) >= 3, fmt
    # rdflib's JSON-LD parser warns (ConjunctiveGraph); read the document as JSON instead.
    nodes = jsonld_nodes(describe(store, CASE, "jsonld").body)
    assert any(node.get("@id") == CASE for node in nodes)
    store.close()


def test_graph_listing_and_manifest(mini_store: Path) -> None:
    names = [g.name for g in store_of(mini_store).graphs()]
    assert str(ONTOLOGY_GRAPH) in names
    assert str(INFERRED_GRAPH) in names
    manifest = manifest_of(mini_store)
    assert manifest is not None
    assert all(len(r.sha256) == 64 for r in manifest.graphs.values())


def test_result_size_limit(mini_store: Path) -> None:
    store = OxigraphStore(mini_store, max_results=3, max_bytes=2000)
    with pytest.raises(ResultTooLarge, match="2000 bytes"):
        store.query(prepare("SELECT * { ?s ?p ?o }"))
    with pytest.raises(ResultTooLarge):
        store.query(prepare("CONSTRUCT WHERE { ?s ?p ?o }"))
    small = store.query(prepare("SELECT * { ?s ?p ?o } LIMIT 3"))
    assert len(json.loads(small.body)["results"]["bindings"]) == 3


def test_malformed_query_reports_position(mini_store: Path) -> None:
    with pytest.raises(BadInput, match=r"1:\d+|line \d+"):  # Virtuoso gives no column
        store_of(mini_store).query(prepare("SELECT * { ?s ?p }"))


def test_an_answer_past_the_inline_size_goes_to_its_spool_file(tmp_path: Path) -> None:
    """The worker's sink moves a large answer to the spool file and closes it cleanly (it
    used to flush the file after closing it, which killed the worker)."""
    import pyoxigraph as ox

    from coprod_kg.storage.embedded.oxigraph_store import INLINE_BYTES, execute
    from coprod_kg.storage.store import Dataset

    store = ox.Store()
    count = INLINE_BYTES // 40 + 10
    store.extend([ox.Quad(ox.NamedNode(f"http://example.org/s{i}"),
                          ox.NamedNode("http://example.org/p"), ox.Literal(str(i)))
                  for i in range(count)])
    spool = tmp_path / "answer"
    result = execute(store, QueryRequest("SELECT * { ?s ?p ?o }"), Dataset(None, None, True),
                     10 * count, spool=spool)
    assert result.path == spool and result.size == spool.stat().st_size > INLINE_BYTES
    assert len(json.loads(spool.read_bytes())["results"]["bindings"]) == count
    small = execute(store, QueryRequest("ASK { ?s ?p ?o }"), Dataset(None, None, True), 10,
                    spool=tmp_path / "small")
    assert small.path is None and json.loads(small.body)["boolean"] is True
