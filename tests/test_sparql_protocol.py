"""The SPARQL 1.1 Protocol at /sparql, through the app (worker pool included)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from backends import jsonld_nodes, store_of
from fastapi.testclient import TestClient
from rdflib import Graph
from rdflib.namespace import RDF

from api.app import create_app
from coprod_kg.config import Settings
from coprod_kg.rdf.namespaces import SD

SettingsFactory = Callable[..., Settings]

SELECT = "SELECT ?c WHERE { ?c a <https://w3id.org/coprod/ontology/CoProductionCase> }"
CASE = "https://w3id.org/coprod/case/example-case"
CASE_GRAPH = "https://w3id.org/coprod/graph/case/example-case/v1"  # bundled: via curation
ONTOLOGY_GRAPH = "https://w3id.org/coprod/graph/ontology"
FORM = {"content-type": "application/x-www-form-urlencoded"}
DIRECT = {"content-type": "application/sparql-query"}


def _cases(body: bytes) -> list[str]:
    return [b["c"]["value"] for b in json.loads(body)["results"]["bindings"]]


def test_three_ways_to_send_a_query(app_client: TestClient) -> None:
    by_get = app_client.get("/sparql", params={"query": SELECT})
    by_form = app_client.post("/sparql", content="query=" + quote(SELECT), headers=FORM)
    direct = app_client.post("/sparql", content=SELECT.encode(), headers=DIRECT)
    for response in (by_get, by_form, direct):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/sparql-results+json")
        assert _cases(response.content) == [CASE]


def test_percent_signs_are_decoded_once(app_client: TestClient) -> None:
    query = 'SELECT ?x { BIND("a%20b" AS ?x) }'
    response = app_client.post("/sparql", content="query=" + quote(query), headers=FORM)
    assert json.loads(response.content)["results"]["bindings"][0]["x"]["value"] == "a%20b"


@pytest.mark.parametrize(("accept", "media_type"), [
    ("application/sparql-results+xml", "application/sparql-results+xml"),
    ("text/csv", "text/csv"),
    ("text/tab-separated-values", "text/tab-separated-values"),
    ("application/sparql-results+json;q=0.2, text/csv;q=0.9", "text/csv"),
])
def test_select_formats(app_client: TestClient, accept: str, media_type: str) -> None:
    response = app_client.get("/sparql", params={"query": SELECT}, headers={"accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    assert CASE in response.text


def test_csv_is_a_table(app_client: TestClient) -> None:
    response = app_client.get("/sparql", params={"query": SELECT, "format": "csv"})
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows == [["c"], [CASE]]


@pytest.mark.parametrize(("accept", "rdflib_format", "media_type"), [
    ("text/turtle", "turtle", "text/turtle"),
    ("application/n-triples", "nt", "application/n-triples"),
    ("application/rdf+xml", "xml", "application/rdf+xml"),
])
@pytest.mark.parametrize("query", [f"DESCRIBE <{CASE}>",
                                   f"CONSTRUCT WHERE {{ <{CASE}> ?p ?o }}"])
def test_graph_formats(app_client: TestClient, query: str, accept: str, rdflib_format: str,
                       media_type: str) -> None:
    response = app_client.get("/sparql", params={"query": query}, headers={"accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    graph = Graph().parse(data=response.content, format=rdflib_format)
    assert len(graph) >= 3


def test_json_ld(app_client: TestClient) -> None:
    response = app_client.get("/sparql", params={"query": f"DESCRIBE <{CASE}>"},
                              headers={"accept": "application/ld+json"})
    assert response.headers["content-type"].startswith("application/ld+json")
    assert any(node.get("@id") == CASE for node in jsonld_nodes(response.content))


def test_nothing_acceptable_is_406(app_client: TestClient) -> None:
    response = app_client.get("/sparql", params={"query": SELECT}, headers={"accept": "image/png"})
    assert response.status_code == 406
    wrong_kind = app_client.get("/sparql", params={"query": f"DESCRIBE <{CASE}>",
                                                   "format": "csv"}, headers={"accept": "text/csv"})
    assert wrong_kind.status_code == 406


def test_protocol_dataset(app_client: TestClient) -> None:
    only_ontology = app_client.get("/sparql", params={"query": SELECT,
                                                      "default-graph-uri": ONTOLOGY_GRAPH})
    assert _cases(only_ontology.content) == []
    only_case = app_client.get("/sparql", params={"query": SELECT,
                                                  "default-graph-uri": CASE_GRAPH})
    assert _cases(only_case.content) == [CASE]
    named = app_client.get("/sparql", params={
        "query": "SELECT ?g { GRAPH ?g { ?s ?p ?o } }", "named-graph-uri": CASE_GRAPH})
    graphs = {b["g"]["value"] for b in json.loads(named.content)["results"]["bindings"]}
    assert graphs == {CASE_GRAPH}


@pytest.mark.parametrize(("params", "message"), [
    ({"query": "SELECT * { ?s ?p }"}, "1:"),
    ({"update": "INSERT DATA { <urn:a> <urn:b> <urn:c> }"}, "read-only"),
    ({"query": "SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"}, "SERVICE"),
])
def test_bad_requests_are_400_with_a_message(app_client: TestClient, params: dict[str, str],
                                             message: str) -> None:
    response = app_client.get("/sparql", params=params)
    assert response.status_code == 400
    assert message in response.text


def test_several_queries_and_bad_bodies(app_client: TestClient) -> None:
    assert app_client.get("/sparql?query=ASK%7B%7D&query=ASK%7B%7D").status_code == 400
    utf16 = app_client.post("/sparql", content="ASK {}".encode("utf-16"),
                            headers={"content-type": "application/sparql-query; charset=UTF-16"})
    assert utf16.status_code == 400
    latin1 = app_client.post("/sparql", content='ASK { ?s ?p "caf\xe9" }'.encode("latin-1"),
                             headers=DIRECT)
    assert latin1.status_code == 400
    bad_form = app_client.post("/sparql", content="query=%E9", headers=FORM)
    assert bad_form.status_code == 400
    update = app_client.post("/sparql", content=b"CLEAR ALL",
                             headers={"content-type": "application/sparql-update"})
    assert update.status_code == 400
    assert "read-only" in update.text


def test_unsupported_media_type_and_method(app_client: TestClient) -> None:
    assert app_client.post("/sparql", content=b"ASK {}",
                           headers={"content-type": "text/plain"}).status_code == 415
    assert app_client.post("/sparql", content=b"query=ASK%7B%7D").status_code == 415
    assert app_client.put("/sparql?query=ASK%7B%7D").status_code == 405


def test_oversized_request_is_413(mini_store: Path, settings_for: SettingsFactory) -> None:
    settings = settings_for(mini_store, max_request_bytes=2000)
    app = create_app(settings, store=store_of(mini_store))
    big = "ASK {} #" + "x" * 2000
    with TestClient(app) as client:
        assert client.post("/sparql", content=big.encode(), headers=DIRECT).status_code == 413
        assert client.post("/sparql", content="query=" + quote(big),
                           headers=FORM).status_code == 413
        assert client.get("/sparql", params={"query": big}).status_code == 413
        assert client.get("/sparql", params={"query": "ASK {}"}).status_code == 200


def test_service_description(app_client: TestClient) -> None:
    response = app_client.get("/sparql", headers={"accept": "text/turtle"})
    assert response.status_code == 200
    graph = Graph().parse(data=response.content, format="turtle")
    settings = app_client.app.state.settings  # type: ignore[attr-defined]
    endpoint = settings.public_url.rstrip("/") + "/sparql"
    services = list(graph.subjects(RDF.type, SD.Service))
    assert len(services) == 1
    assert str(graph.value(services[0], SD.endpoint)) == endpoint
    names = {str(n) for n in graph.objects(None, SD.name)}
    assert CASE_GRAPH in names


def test_browser_is_sent_to_the_query_page(app_client: TestClient) -> None:
    response = app_client.get("/sparql", follow_redirects=False, headers={
        "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"})
    assert response.status_code == 303
    assert response.headers["location"] == "/query"


def test_cors_allows_any_origin_without_credentials(app_client: TestClient) -> None:
    response = app_client.get("/sparql", params={"query": "ASK {}"},
                              headers={"origin": "https://example.org"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers
    preflight = app_client.options("/sparql", headers={
        "origin": "https://example.org", "access-control-request-method": "POST",
        "access-control-request-headers": "content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"


def test_health_and_ready(app_client: TestClient) -> None:
    assert app_client.get("/health").json() == {"status": "ok"}
    ready = app_client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["graphs"] >= 3


def test_not_loaded_store_is_not_ready(tmp_path: Path, settings_for: SettingsFactory) -> None:
    settings = settings_for(tmp_path / "empty", query_workers=1)
    with TestClient(create_app(settings)) as client:
        assert client.get("/ready").status_code == 503
        response = client.get("/sparql", params={"query": "ASK {}"})
        assert response.status_code == 503
        assert "coprod-kg load" in response.text


def test_real_ontology_is_served(real_client: TestClient) -> None:
    query = ("SELECT (COUNT(*) AS ?n) { ?c a <http://www.w3.org/2002/07/owl#Class> }")
    response = real_client.get("/sparql", params={"query": query})
    assert response.status_code == 200
    count = int(json.loads(response.content)["results"]["bindings"][0]["n"]["value"])
    assert count > 10
