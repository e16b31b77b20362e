"""Real SPARQL clients (SPARQLWrapper, rdflib's SPARQLStore) against a live uvicorn server."""

from __future__ import annotations

import pytest
from conftest import LiveServer  # type: ignore[import-not-found]
from rdflib import Graph, URIRef
from rdflib.namespace import RDF
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, TSV, TURTLE, XML, SPARQLWrapper

CP = "https://w3id.org/coprod/ontology/"
CASE = URIRef("https://w3id.org/coprod/case/example-case")
SELECT = f"SELECT ?c WHERE {{ ?c a <{CP}CoProductionCase> }}"


def _wrapper(server: LiveServer, query: str, fmt: str, method: str = "GET") -> SPARQLWrapper:
    client = SPARQLWrapper(server.url + "/sparql")
    client.setQuery(query)
    client.setReturnFormat(fmt)
    client.setMethod(method)
    return client


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_sparqlwrapper_select_and_ask(live_server: LiveServer, method: str) -> None:
    rows = _wrapper(live_server, SELECT, JSON, method).queryAndConvert()
    assert [b["c"]["value"] for b in rows["results"]["bindings"]] == [str(CASE)]  # type: ignore[index]
    xml = _wrapper(live_server, SELECT, XML, method).queryAndConvert()
    assert str(CASE) in xml.toxml()  # type: ignore[union-attr]
    for fmt in (CSV, TSV):
        text = _wrapper(live_server, SELECT, fmt, method).queryAndConvert()
        assert str(CASE).encode() in text  # type: ignore[operator]
    ask = _wrapper(live_server, f"ASK {{ <{CASE}> a <{CP}CoProductionCase> }}", JSON,
                   method).queryAndConvert()
    assert ask["boolean"] is True  # type: ignore[index]


@pytest.mark.parametrize(("fmt", "media_type", "rdflib_format"), [
    (TURTLE, "text/turtle", "turtle"), (XML, "application/rdf+xml", "xml")])
def test_sparqlwrapper_construct_and_describe(live_server: LiveServer, fmt: str,
                                              media_type: str, rdflib_format: str) -> None:
    for query in (f"CONSTRUCT WHERE {{ <{CASE}> ?p ?o }}", f"DESCRIBE <{CASE}>"):
        # SPARQLWrapper's own RDF/XML conversion builds a deprecated ConjunctiveGraph, so the
        # raw answer is parsed here instead.
        response = _wrapper(live_server, query, fmt).query()
        assert response.info()["content-type"].startswith(media_type)
        graph = Graph().parse(data=response.response.read(), format=rdflib_format)
        assert (CASE, RDF.type, URIRef(CP + "CoProductionCase")) in graph


@pytest.mark.parametrize("return_format", ["json", "xml"])
def test_rdflib_sparqlstore_select_ask(live_server: LiveServer, return_format: str) -> None:
    store = SPARQLStore(live_server.url + "/sparql", returnFormat=return_format)
    graph = Graph(store=store)
    rows = list(graph.query(SELECT))
    assert [row[0] for row in rows] == [CASE]  # type: ignore[index]
    assert graph.query(f"ASK {{ <{CASE}> ?p ?o }}").askAnswer is True
    store.close()


def test_rdflib_sparqlstore_graphs(live_server: LiveServer) -> None:
    # rdflib's default Accept ("application/sparql-results+xml, application/rdf+xml") covers both
    # kinds of answer; with returnFormat="json" it would accept no RDF format at all (406).
    store = SPARQLStore(live_server.url + "/sparql")
    graph = Graph(store=store)
    constructed = graph.query(f"CONSTRUCT WHERE {{ <{CASE}> ?p ?o }}").graph
    assert constructed is not None
    assert (CASE, RDF.type, URIRef(CP + "CoProductionCase")) in constructed
    described = graph.query(f"DESCRIBE <{CASE}>").graph
    assert described is not None
    assert len(described) >= 3
    assert (CASE, RDF.type, URIRef(CP + "CoProductionCase")) in graph  # triples() over SPARQL
    store.close()
