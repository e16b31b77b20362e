"""The dataset gate: a query that can put a graph the public may not see in graph position is
refused before any engine or server runs it (Virtuoso answers ``ASK { GRAPH <g> {…} }`` with
true for a graph outside the dataset, so the gate must not leave it to the server)."""

from __future__ import annotations

import pytest

from coprod_kg.errors import BadInput
from coprod_kg.sparql.safety import analyse_query
from coprod_kg.storage.store import QueryRequest, dataset_for

HIDDEN = "https://w3id.org/coprod/graph/curation"
PUBLIC = "https://w3id.org/coprod/graph/ontology"
PROV = "https://w3id.org/coprod/graph/provenance"

#: Spellings that put ``HIDDEN`` in graph position.
NAMING_HIDDEN = [
    f"ASK {{ GRAPH <{HIDDEN}> {{ ?s ?p ?o }} }}",
    "PREFIX g: <https://w3id.org/coprod/graph/> ASK { GRAPH g:curation { ?s ?p ?o } }",
    "BASE <https://w3id.org/coprod/graph/> ASK { GRAPH <curation> { ?s ?p ?o } }",
    f"ASK {{ GRAPH <{HIDDEN}> {{ }} }}",
    f"SELECT (COUNT(*) AS ?n) {{ GRAPH <{HIDDEN}> {{ ?s ?p ?o }} }}",
    f"ASK {{ OPTIONAL {{ GRAPH <{HIDDEN}> {{ ?s ?p ?o }} }} }}",
    f"ASK {{ FILTER EXISTS {{ GRAPH <{HIDDEN}> {{ ?s ?p ?o }} }} }}",
    "PREFIX g: <https://w3id.org/coprod/graph/> "
    "ASK { FILTER NOT EXISTS { GRAPH g:curation { ?s ?p ?o } } }",
    f"SELECT * {{ ?s ?p ?o MINUS {{ GRAPH <{HIDDEN}> {{ ?s ?p ?o }} }} }}",
    f"ASK {{ {{ ?s ?p ?o }} UNION {{ GRAPH <{HIDDEN}> {{ ?s ?p ?o }} }} }}",
    f"ASK {{ VALUES ?g {{ <{HIDDEN}> }} GRAPH ?g {{ ?s ?p ?o }} }}",
    f"SELECT * {{ GRAPH ?g {{ ?s ?p ?o }} }} VALUES ?g {{ <{HIDDEN}> }}",
    f"ASK {{ BIND(<{HIDDEN}> AS ?g) GRAPH ?g {{ ?s ?p ?o }} }}",
    f"ASK {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(?g = <{HIDDEN}>) }}",
    f"ASK {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(<{HIDDEN}> = ?g) }}",
    f"ASK {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(?g IN (<{PUBLIC}>, <{HIDDEN}>)) }}",
    f"ASK {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(sameTerm(?g, <{HIDDEN}>)) }}",
    f"ASK {{ VALUES ?x {{ <{HIDDEN}> }} BIND(?x AS ?g) GRAPH ?g {{ ?s ?p ?o }} }}",
    f"SELECT * {{ {{ SELECT ?g {{ VALUES ?g {{ <{HIDDEN}> }} }} }} GRAPH ?g {{ ?s ?p ?o }} }}",
    f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{HIDDEN}> {{ ?s ?p ?o }} }}",
    "ASK { GRAPH <https://w3id.org/coprod/graph/case/x/v9> { ?s ?p ?o } }",  # unknown
]
#: Queries that mention such IRIs only as ordinary terms, or name public graphs.
ALLOWED = [
    f"SELECT * {{ GRAPH <{PROV}> {{ <https://w3id.org/coprod/graph/case/x/v1> ?p ?o }} }}",
    f"SELECT * {{ ?s ?p <{HIDDEN}> }}",
    f"ASK {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(?g = <{PUBLIC}>) }}",
    "SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
    f"ASK {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(?o = <{HIDDEN}>) }}",
]


def _check(query: str) -> None:
    dataset_for(QueryRequest(query), analyse_query(query), [PUBLIC, PROV])


@pytest.mark.parametrize("query", NAMING_HIDDEN)
def test_a_query_naming_a_graph_that_is_not_public_is_refused(query: str) -> None:
    with pytest.raises(BadInput, match="not public"):
        _check(query)


@pytest.mark.parametrize("query", ALLOWED)
def test_ordinary_mentions_and_public_graphs_pass(query: str) -> None:
    _check(query)
