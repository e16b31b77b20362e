"""``POST /validate`` and the validation page: formats, reports, and refusals of bad input."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from http_helpers import INVALID, TURTLE, as_graph, client_for, invalid_record, record
from rdflib import Graph
from rdflib.namespace import SH

from coprod_kg.config import Settings
from coprod_kg.rdf.parsing import quiet_json_ld

LIMIT = 20_000


@pytest.fixture(scope="module")
def client(real_store: Path, settings_for: object) -> Iterator[TestClient]:
    settings: Settings = settings_for(real_store, max_request_bytes=LIMIT)  # type: ignore[operator]
    with client_for(settings) as test_client:
        yield test_client


def _serialise(data: bytes, fmt: str) -> bytes:
    with quiet_json_ld():
        text = as_graph(data).serialize(format=fmt)
    return text.encode("utf-8") if isinstance(text, str) else text


def test_a_valid_record_conforms_and_the_report_is_json_by_default(client: TestClient) -> None:
    response = client.post("/validate", content=record("valid-one"), headers=TURTLE)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    report = response.json()
    assert report["conforms"] is True
    assert report["errors"] == 0


@pytest.mark.parametrize(("media_type", "fmt"), [
    ("application/ld+json", "json-ld"), ("application/rdf+xml", "xml"),
    ("application/n-triples", "nt"), ("text/turtle", "turtle")])
def test_every_rdf_syntax_is_read(client: TestClient, media_type: str, fmt: str) -> None:
    body = _serialise(invalid_record("syntax-check"), fmt)
    response = client.post("/validate", content=body, headers={"Content-Type": media_type})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["conforms"] is False
    assert any(f["path"] == "http://purl.org/dc/terms/title" for f in report["findings"])


def test_findings_carry_the_line_of_the_input(client: TestClient) -> None:
    files = sorted(INVALID.glob("Case-*.ttl"))
    assert files
    body = (INVALID / "Case-status-class.ttl").read_bytes()
    report = client.post("/validate", content=body, headers=TURTLE).json()
    assert report["conforms"] is False
    lines = body.decode("utf-8").splitlines()
    located = [f for f in report["findings"] if f["line"]]
    assert located
    for finding in located:
        assert 1 <= finding["line"] <= len(lines)


@pytest.mark.parametrize(("accept", "fmt"), [("text/turtle", "turtle"),
                                             ("application/ld+json", "json-ld")])
def test_the_shacl_report_graph_on_request(client: TestClient, accept: str, fmt: str) -> None:
    response = client.post("/validate", content=invalid_record("graph-report"),
                           headers={**TURTLE, "Accept": accept})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(accept)
    with quiet_json_ld():
        graph = Graph().parse(data=response.content, format=fmt)
    reports = list(graph.subjects(predicate=SH.conforms))
    assert len(reports) == 1
    assert graph.value(reports[0], SH.conforms).toPython() is False
    assert list(graph.objects(reports[0], SH.result))


def test_malformed_turtle_is_400_with_line_and_column(client: TestClient) -> None:
    body = b"@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:d ex:e \"unclosed .\n"
    response = client.post("/validate", content=body, headers=TURTLE)
    assert response.status_code == 400
    error = response.json()
    assert error["error"] == "ParseError"
    assert error["line"] == 3
    assert isinstance(error["column"], int)


def test_malformed_json_ld_is_400_with_line_and_column(client: TestClient) -> None:
    response = client.post("/validate", content=b'{\n  "@id": "x",\n  oops\n}',
                           headers={"Content-Type": "application/ld+json"})
    assert response.status_code == 400
    assert response.json()["line"] == 3


@pytest.mark.parametrize("media_type", ["application/pdf", "text/html", ""])
def test_unsupported_media_type_is_415(client: TestClient, media_type: str) -> None:
    headers = {"Content-Type": media_type} if media_type else {}
    response = client.post("/validate", content=b"whatever", headers=headers)
    assert response.status_code == 415
    assert "text/turtle" in response.json()["message"]


def test_a_declared_oversized_body_is_413(client: TestClient) -> None:
    response = client.post("/validate", content=b"#" * (LIMIT + 1), headers=TURTLE)
    assert response.status_code == 413


def test_a_streamed_oversized_body_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(LIMIT // 1000 + 2):
            yield b"#" * 1000

    response = client.post("/validate", content=chunks(), headers=TURTLE)
    assert "content-length" not in response.request.headers
    assert response.status_code == 413


def test_an_oversized_upload_is_413(client: TestClient) -> None:
    files = {"file": ("big.ttl", b"#" * (LIMIT + 1), "text/turtle")}
    assert client.post("/validate", files=files).status_code == 413


def test_rdf_xml_with_a_doctype_is_refused(client: TestClient) -> None:
    body = (b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x "boom">]>\n'
            b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>')
    response = client.post("/validate", content=body,
                           headers={"Content-Type": "application/rdf+xml"})
    assert response.status_code == 400
    assert "DOCTYPE" in response.json()["message"]


def test_a_remote_json_ld_context_is_refused_without_any_request(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    body = b'{"@context": "http://127.0.0.1:9/context.jsonld", "@id": "urn:x:a"}'
    response = client.post("/validate", content=body,
                           headers={"Content-Type": "application/ld+json"})
    assert response.status_code == 400
    assert "remote JSON-LD @context" in response.json()["message"]
    assert attempts == []


def test_a_file_upload_is_validated(client: TestClient) -> None:
    files = {"file": ("case.ttl", invalid_record("uploaded"), "application/octet-stream")}
    response = client.post("/validate", files=files)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["conforms"] is False
    assert report["files"] == ["case.ttl"]


def test_the_page_offers_a_form(client: TestClient) -> None:
    response = client.get("/validate")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert 'name="text"' in response.text
    assert 'type="file"' in response.text


def test_the_page_groups_findings_and_highlights_the_lines(client: TestClient) -> None:
    text = (INVALID / "Case-status-class.ttl").read_text(encoding="utf-8")
    data = {"text": text, "format": "text/turtle"}
    json_report = client.post("/validate", data=data).json()
    response = client.post("/validate", data=data, headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "does not conform" in page
    located = {f["line"] for f in json_report["findings"] if f["line"]}
    assert located
    highlighted = {int(n) for n in re.findall(r'<li id="L(\d+)" value="\d+" class="hit', page)}
    assert highlighted == located
    for finding in json_report["findings"]:
        assert finding["field"] in page


def test_the_page_shows_where_the_input_breaks(client: TestClient) -> None:
    data = {"text": "@prefix ex: <http://example.org/> .\nex:a ex:b .\n", "format": "text/turtle"}
    response = client.post("/validate", data=data, headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert "does not parse" in response.text
    assert re.search(r'<li id="L2" value="2" class="hit violation"', response.text)


def test_the_page_explains_an_empty_form(client: TestClient) -> None:
    response = client.post("/validate", data={"text": " "}, headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert "nothing to validate" in response.text
