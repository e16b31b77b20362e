"""Dumps (streamed, ETag, 304, public graphs only), the ``dump`` command, and VoID."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from backends import backend_env, manifest_of, store_of, write_manifest_of, writer_of
from fastapi.testclient import TestClient
from ld_helpers import parse_quads, parse_triples

from api.app import create_app
from coprod_kg.cli import main
from coprod_kg.config import Settings
from coprod_kg.loading import load_store
from coprod_kg.rdf.namespaces import VOID
from coprod_kg.storage.rows import count
from coprod_kg.storage.store import GraphRecord

PRIVATE = "https://w3id.org/coprod/graph/pending/secret-submission"
SECRET = "https://w3id.org/coprod/case/secret-case"


@pytest.fixture(scope="module")
def store_with_private_graph(mini_store: Path,
                             tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the miniature store plus a private graph (a pending submission)."""
    store = tmp_path_factory.mktemp("private") / "store"
    shutil.copytree(mini_store, store)
    writer = writer_of(store)
    n = writer.replace_graph(PRIVATE, [ox.Triple(
        ox.NamedNode(SECRET), ox.NamedNode("http://purl.org/dc/terms/title"),
        ox.Literal("must not leak"))])
    writer.close()
    del writer
    manifest = manifest_of(store)
    assert manifest is not None
    manifest.graphs[PRIVATE] = GraphRecord(PRIVATE, "pending", "0" * 64, n, public=False)
    write_manifest_of(store, manifest)
    return store


@pytest.fixture(scope="module")
def client(store_with_private_graph: Path,
           settings_for: object) -> Iterator[TestClient]:
    settings: Settings = settings_for(store_with_private_graph)  # type: ignore[operator]
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def public_quads(store: Path) -> int:
    manifest = manifest_of(store)
    assert manifest is not None and manifest.public_graphs()
    return sum(manifest.graphs[g].triples for g in manifest.public_graphs())


def test_nquads_dump_holds_the_public_graphs_only(client: TestClient,
                                                  store_with_private_graph: Path) -> None:
    response = client.get("/dumps/coprod.nq")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/n-quads")
    assert response.headers["etag"]
    quads = parse_quads(response.content)
    manifest = manifest_of(store_with_private_graph)
    assert manifest is not None
    assert {q[3] for q in quads} == set(manifest.public_graphs())
    assert len(quads) == public_quads(store_with_private_graph)
    assert SECRET.encode() not in response.content


@pytest.mark.parametrize(("name", "media_type"), [("coprod.ttl", "text/turtle"),
                                                  ("coprod.nt", "application/n-triples")])
def test_triple_dumps_parse(client: TestClient, name: str, media_type: str) -> None:
    response = client.get(f"/dumps/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    triples = parse_triples(response.content, media_type)
    assert triples
    assert not any(SECRET in t for t in triples)


def test_etag_and_not_modified(client: TestClient) -> None:
    first = client.get("/dumps/coprod.nq")
    tag = first.headers["etag"]
    again = client.get("/dumps/coprod.nq", headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert again.headers["etag"] == tag
    assert not again.content
    other = client.get("/dumps/coprod.nq", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200
    assert client.get("/dumps/coprod.ttl").headers["etag"] != tag  # one tag per format


def test_etag_follows_the_content(store_with_private_graph: Path, tmp_path: Path,
                                  settings_for: object) -> None:
    store = tmp_path / "store"
    shutil.copytree(store_with_private_graph, store)
    settings: Settings = settings_for(store)  # type: ignore[operator]
    with TestClient(create_app(settings)) as test_client:
        before = test_client.get("/dumps/coprod.nq").headers["etag"]
    # the server is the store's one writer while it runs: change the content between runs
    extra = tmp_path / "extra.ttl"
    extra.write_text('<https://w3id.org/coprod/case/etag-probe> '
                     '<http://www.w3.org/2000/01/rdf-schema#label> "probe"@en .\n')
    load_store(settings, [extra])
    with TestClient(create_app(settings)) as test_client:
        after = test_client.get("/dumps/coprod.nq").headers["etag"]
    assert before != after


def test_unknown_dump_is_404(client: TestClient) -> None:
    assert client.get("/dumps/coprod.csv").status_code == 404


def test_dump_command(store_with_private_graph: Path, tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in backend_env(store_with_private_graph).items():
        monkeypatch.setenv(name, value)
    output = tmp_path / "out" / "kg.nq"
    code = main(["dump", "--format", "nquads", "--output", str(output),
                 "--store", str(store_with_private_graph)])
    assert code == 0
    assert len(parse_quads(output.read_bytes())) == public_quads(store_with_private_graph)
    assert main(["dump", "--format", "turtle", "--output", str(tmp_path / "kg.ttl"),
                 "--store", str(store_with_private_graph)]) == 0
    assert parse_triples((tmp_path / "kg.ttl").read_bytes(), "text/turtle")


# --- VoID -------------------------------------------------------------------------------------

def test_void_counts_match_the_store(client: TestClient,
                                     store_with_private_graph: Path) -> None:
    response = client.get("/.well-known/void", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    assert "accept" in response.headers["vary"].lower()
    triples = parse_triples(response.content, "text/turtle")

    def value(predicate: str, subject: str | None = None) -> str:
        found = [o for s, p, o in triples if p == str(VOID) + predicate
                 and (subject is None or s == subject)]
        assert found, predicate
        return found[0]

    dataset = next(s for s, p, o in triples if o == str(VOID.Dataset) and "#" in s)
    store = store_of(store_with_private_graph)
    assert int(value("triples", dataset)) == count(
        store, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    assert int(value("distinctSubjects", dataset)) == count(
        store, "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o }")
    assert value("sparqlEndpoint").endswith("/sparql")
    dumps = {o.rsplit("/", 1)[-1] for s, p, o in triples if p == str(VOID.dataDump)}
    assert dumps == {"coprod.nq", "coprod.ttl", "coprod.nt"}
    assert any(p == "http://purl.org/dc/terms/license" for _, p, _ in triples)
    subsets = {o for s, p, o in triples if s == dataset and p == str(VOID.subset)}
    manifest = manifest_of(store_with_private_graph)
    assert manifest is not None
    assert subsets == set(manifest.public_graphs())
    assert PRIVATE not in {t[0] for t in triples}
    partitions = [o for s, p, o in triples if p == str(VOID["class"])]
    assert "https://w3id.org/coprod/ontology/CoProductionCase" in partitions


@pytest.mark.parametrize(("accept", "media_type"), [
    ("application/ld+json", "application/ld+json"),
    ("text/turtle;q=0.5, application/ld+json;q=0.9", "application/ld+json"),
    ("text/html", "text/html"),
])
def test_void_negotiates(client: TestClient, accept: str, media_type: str) -> None:
    response = client.get("/.well-known/void", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    if media_type == "text/html":
        assert "SPARQL endpoint" in response.text
    else:
        assert parse_triples(response.content, media_type)


def test_void_nothing_acceptable(client: TestClient) -> None:
    assert client.get("/.well-known/void", headers={"Accept": "image/png"}).status_code == 406
