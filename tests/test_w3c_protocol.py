"""The W3C SPARQL 1.1 Protocol tests, run from their machine-readable manifest.

The manifest (w3c/rdf-tests ``sparql/sparql11/protocol``) lives outside the repository in
``../shared/conformance/sparql11-protocol/`` (relative to the checkout); without it the tests are
skipped, saying so. Each test is a list of HTTP requests with the expected status class, format
and boolean. This endpoint is read-only: SPARQL Update requests are answered with its documented
refusal (400, "read-only"), and the requests that would check an update's effect are not sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import MINI, LiveServer, SettingsFactory  # type: ignore[import-not-found]
from rdflib import Graph, Namespace
from rdflib.collection import Collection
from rdflib.namespace import RDFS
from rdflib.term import Node

from coprod_kg.config import PROJECT_ROOT
from coprod_kg.loading import load_store

SUITE = PROJECT_ROOT.parent / "shared" / "conformance" / "sparql11-protocol"
MANIFEST = SUITE / "manifest.ttl"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
HTS = Namespace("http://www.w3.org/2011/http-statusCodes#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")

pytestmark = pytest.mark.skipif(not MANIFEST.is_file(),
                                reason=f"W3C protocol manifest not found at {MANIFEST}")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None
    statuses: frozenset[int]  # acceptable hundreds: 2, 3, 4
    format: str | None
    boolean: bool | None

    @property
    def is_update(self) -> bool:
        content_type = self.headers.get("content-type", "")
        text = (self.body or b"").decode("utf-8", "replace") + self.path
        return "sparql-update" in content_type or "update=" in text


@dataclass(frozen=True)
class ProtocolTest:
    name: str
    requests: tuple[Request, ...]


def _request(graph: Graph, node: Node) -> Request:
    headers = {}
    header_list = graph.value(node, HT.headers)
    if header_list is not None:
        for header in Collection(graph, header_list):  # type: ignore[arg-type]
            headers[str(graph.value(header, HT.fieldName)).lower()] = str(
                graph.value(header, HT.fieldValue))
    body = None
    body_node = graph.value(node, HT.body)
    if body_node is not None:
        encoding = str(graph.value(body_node, CNT.characterEncoding) or "UTF-8")
        body = str(graph.value(body_node, CNT.chars)).encode(encoding)
    response = graph.value(node, HT.resp)
    statuses = frozenset(int(str(s).rsplit("StatusCode", 1)[1][0])
                         for s in graph.objects(response, MF.expectedStatus))
    fmt = graph.value(response, MF.expectedFormat)
    boolean = graph.value(response, MF.expectedBoolean)
    path = str(graph.value(node, HT.absolutePath)).replace("/sparql/", "/sparql", 1)
    return Request(str(graph.value(node, HT.methodName)), path, headers, body, statuses,
                   None if fmt is None else str(fmt),
                   None if boolean is None else bool(boolean.toPython()))  # type: ignore[union-attr]


def read_manifest() -> tuple[list[ProtocolTest], dict[str, Path]]:
    """The tests in manifest order, and the data files to load (graph name -> file)."""
    graph = Graph().parse(MANIFEST, format="turtle")
    manifest = next(graph.subjects(MF.entries, None))
    tests, data = [], {}
    for entry in Collection(graph, graph.value(manifest, MF.entries)):  # type: ignore[arg-type]
        action = graph.value(entry, MF.action)
        requests = Collection(graph, graph.value(action, HT.requests))  # type: ignore[arg-type]
        tests.append(ProtocolTest(str(entry).rsplit("#", 1)[1],
                                  tuple(_request(graph, r) for r in requests)))
        for graph_data in graph.objects(entry, UT.graphData):
            file = graph.value(graph_data, UT.graph)
            data[str(graph.value(graph_data, RDFS.label))] = SUITE / Path(str(file)).name
    return tests, data


TESTS, DATA = read_manifest() if MANIFEST.is_file() else ([], {})


@pytest.fixture(scope="module")
def protocol_server(tmp_path_factory: pytest.TempPathFactory,
                    settings_for: SettingsFactory) -> Iterator[LiveServer]:
    """A live server whose store holds the suite's data files, each in its labelled graph."""
    assert DATA, "the manifest names no data files"
    settings = settings_for(tmp_path_factory.mktemp("w3c-store"), ontology_dir=MINI / "ontology",
                            data_dir=MINI / "data")
    for name, path in sorted(DATA.items()):
        load_store(settings, [path], name)
    with LiveServer(settings) as server:
        yield server


def _check_format(response: httpx.Response, expected: str) -> Any:
    media_type = response.headers["content-type"].split(";")[0]
    if expected in ("boolean", "tabular"):
        assert media_type == "application/sparql-results+json", media_type
        document = json.loads(response.content)
        assert ("boolean" in document) == (expected == "boolean")
        return document
    assert expected == "RDF"
    rdflib_format = {"text/turtle": "turtle", "application/n-triples": "nt",
                     "application/rdf+xml": "xml"}[media_type]
    return Graph().parse(data=response.content, format=rdflib_format)


def test_manifest_was_read() -> None:
    assert len(TESTS) == 34
    assert all(test.requests for test in TESTS)


@pytest.mark.parametrize("test", TESTS, ids=[t.name for t in TESTS])
def test_w3c_protocol(test: ProtocolTest, protocol_server: LiveServer) -> None:
    with httpx.Client(base_url=protocol_server.url, timeout=60) as client:
        for request in test.requests:
            response = client.request(request.method, request.path, headers=request.headers,
                                      content=request.body)
            if request.is_update:
                if request.statuses == {4}:  # a malformed update: any client error will do
                    assert response.status_code // 100 == 4, response.text
                else:  # a valid update: the documented refusal
                    assert response.status_code == 400, response.text
                    assert "read-only" in response.text
                return  # later requests would check the update's effect
            assert response.status_code // 100 in request.statuses, response.text
            if request.format is not None:
                document = _check_format(response, request.format)
                if request.boolean is not None:
                    assert document["boolean"] is request.boolean
