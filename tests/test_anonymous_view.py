"""Anonymous readers see the published state only: every anonymous GET route (taken from the
app's route table, so a new route is covered too) answers byte for byte the same, headers
included, with and without a pending revision of a published case, and with and without a
rejected one."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient
from http_helpers import (
    TURTLE,
    Users,
    as_graph,
    bearer,
    client_for,
    record,
    submit,
    writable_store,
)
from rdflib import Graph
from starlette.routing import Route

from api.views.charts import NAMES as chart_names
from api.views.linked_data import DEREFERENCEABLE
from coprod_kg.config import Settings
from coprod_kg.publishing.dump import DUMP_FORMATS

SLUG = "anon-view"
CASE = f"https://w3id.org/coprod/case/{SLUG}"
#: Values tried for each path parameter of a GET route (a route with another one fails).
PARAMETERS: dict[str, list[str]] = {
    "slug": [SLUG],
    "number": ["1", "2", "3"],
    "filename": [f.filename for f in DUMP_FORMATS.values()],
    "rest": [SLUG, f"{SLUG}-org", "fixmystreet"],
    "path": ["yasgui/yasgui.min.js"],
    "name": list(chart_names),
}
#: Queries over the case, its graphs and the whole dataset.
QUERIES = [
    f"SELECT * WHERE {{ <{CASE}> ?p ?o }} ORDER BY ?p ?o",
    f"SELECT ?g (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} "
    f"FILTER(CONTAINS(STR(?g), '{SLUG}')) }} GROUP BY ?g ORDER BY ?g",
    "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }",
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g",
    f"ASK {{ GRAPH <https://w3id.org/coprod/graph/case/{SLUG}/v2> {{ ?s ?p ?o }} }}",
    f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH ?g {{ ?s ?p ?o }} "
    f"FILTER(STRSTARTS(STR(?s), '{CASE}')) }}",
    f"DESCRIBE <{CASE}>",
    "SELECT ?v ?p ?o WHERE { GRAPH <https://w3id.org/coprod/graph/provenance> { ?v ?p ?o } "
    f"FILTER(CONTAINS(STR(?v), '{SLUG}')) }} ORDER BY ?v ?p ?o",
]
ACCEPTS = ["", "text/html", "text/turtle", "application/json", "application/ld+json"]
#: Headers that change with the clock, not with the data.
IGNORED = {"date"}
#: Graph formats whose serialisation may order blank nodes at random (rdflib's): compared as
#: graphs (isomorphism) when their bytes differ.
RDF_FORMATS = {"text/turtle": ox.RdfFormat.TURTLE, "application/n-triples": ox.RdfFormat.N_TRIPLES,
               "application/ld+json": ox.RdfFormat.JSON_LD,
               "application/rdf+xml": ox.RdfFormat.RDF_XML}


def _expand(path: str) -> Iterator[str]:
    names = re.findall(r"{(\w+)(?::\w+)?}", path)
    if not names:
        yield path
        return
    name = names[0]
    assert name in PARAMETERS, f"add sample values for {{{name}}} of {path} to PARAMETERS"
    pattern = re.compile(r"{" + name + r"(?::\w+)?}")
    for value in PARAMETERS[name]:
        yield from _expand(pattern.sub(value, path, count=1))


def get_paths(routes: Iterable[object], prefix: str = "") -> Iterator[str]:
    """The path of every GET route, through included routers (however FastAPI nests them)."""
    for route in routes:
        if isinstance(route, Route) and "GET" in (route.methods or ()):
            yield prefix + route.path
        elif hasattr(route, "original_router"):  # an included router (FastAPI >= 0.120)
            context = getattr(route, "include_context", None)
            yield from get_paths(route.original_router.routes,
                                 prefix + str(getattr(context, "prefix", "")))


def anonymous_urls(client: TestClient) -> list[str]:
    """Every GET route of the app with sample parameters, plus SPARQL queries."""
    urls: list[str] = []
    paths = sorted(set(get_paths(client.app.routes)))  # type: ignore[attr-defined]
    assert {"/cases/{slug}", "/case/{rest:path}", "/sparql", "/"} <= set(paths), paths
    for path in paths:
        urls.extend(_expand(path))
    urls += [f"/case/{SLUG}?format={name}" for name in ("ttl", "jsonld", "nt", "rdf")]
    urls += [f"/cases/{SLUG}/versions/{n}?format=nt" for n in (1, 2)]
    urls += ["/browse/cases?level=individual&phase=design", "/.well-known/void?format=ttl"]
    return urls


def snapshot(client: TestClient) -> dict[tuple[str, str], tuple[int, list[tuple[str, str]],
                                                                   bytes]]:
    """Status, headers and body of every anonymous request."""
    out = {}
    requests = [(url, accept) for url in anonymous_urls(client) for accept in ACCEPTS]
    requests += [(f"/sparql?{q}", accept) for q in
                 (f"query={query}" for query in QUERIES)
                 for accept in ("", "application/sparql-results+json", "text/turtle")]
    for url, accept in requests:
        if url.startswith("/sparql?"):
            response = client.get("/sparql", params={"query": url.split("=", 1)[1]},
                                  headers={"Accept": accept} if accept else {})
        else:
            response = client.get(url, headers={"Accept": accept} if accept else {})
        headers = sorted((k.lower(), v) for k, v in response.headers.items()
                         if k.lower() not in IGNORED)
        out[(url, accept)] = (response.status_code, headers, response.content)
    return out


def _differences(before: dict[tuple[str, str], tuple[int, list[tuple[str, str]], bytes]],
                 after: dict[tuple[str, str], tuple[int, list[tuple[str, str]], bytes]]
                 ) -> list[str]:
    assert before.keys() == after.keys()
    out = []
    for key, (status, headers, body) in before.items():
        status2, headers2, body2 = after[key]
        if status != status2:
            out.append(f"{key}: status {status} -> {status2}")
        if headers != headers2:
            changed = set(headers) ^ set(headers2)
            out.append(f"{key}: headers {sorted(changed)}")
        if body != body2 and not _same_graph(dict(headers).get("content-type", ""), body, body2):
            out.append(f"{key}: body differs ({len(body)} -> {len(body2)} bytes)")
    return out


def _same_graph(media: str, body: bytes, body2: bytes) -> bool:
    fmt = RDF_FORMATS.get(media.split(";")[0].strip())
    if fmt is None:
        return False
    def graph(data: bytes) -> Graph:
        triples = [q.triple if isinstance(q, ox.Quad) else q for q in ox.parse(data, format=fmt)]
        return as_graph(ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b"", "nt")

    return graph(body).isomorphic(graph(body2))


@pytest.fixture(scope="module")
def served(real_store: Path, settings_for: object,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Users]]:
    store = writable_store(real_store, tmp_path_factory.mktemp("anonymous") / "store")
    users = Users.make(store)
    settings: Settings = settings_for(store)  # type: ignore[operator]
    with client_for(settings) as client:
        assert submit(client, users.alice, SLUG).status_code == 201
        accepted = client.post(f"/submissions/{SLUG}/1/accept", headers=bearer(users.curator))
        assert accepted.status_code == 200
        yield client, users


def test_every_route_is_covered() -> None:
    assert set(DEREFERENCEABLE) >= {"case", "organisation"}
    assert "{bogus}" not in str(PARAMETERS)


def test_anonymous_responses_ignore_pending_and_rejected_versions(
        served: tuple[TestClient, Users]) -> None:
    client, users = served
    published = snapshot(client)
    assert _differences(published, snapshot(client)) == []  # nothing varies by itself
    assert published[(f"/cases/{SLUG}", "")][0] == 200
    assert published[(f"/case/{SLUG}", "text/turtle")][0] == 200
    state = client.get(f"/cases/{SLUG}", headers=bearer(users.curator))
    revised = client.put(f"/cases/{SLUG}", content=record(SLUG, title="A pending revision"),
                         headers=bearer(users.alice, **TURTLE,
                                        **{"If-Match": state.headers["etag"]}))
    assert revised.status_code == 200 and revised.json()["status"] == "pending"
    assert _differences(published, snapshot(client)) == []
    rejected = client.post(f"/submissions/{SLUG}/2/reject", json={"reason": "no"},
                           headers=bearer(users.curator))
    assert rejected.status_code == 200
    assert _differences(published, snapshot(client)) == []
