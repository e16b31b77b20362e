"""The SPARQL 1.1 Service Description of the endpoint (``GET /sparql`` without a query)."""

from __future__ import annotations

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF

from coprod_kg.rdf.formats import GRAPH_FORMATS, ResultFormat
from coprod_kg.rdf.namespaces import SD
from coprod_kg.rdf.sources import new_graph

#: W3C format IRIs (https://www.w3.org/ns/formats/) of what the endpoint returns.
_FORMAT_IRIS = {
    "json": "SPARQL_Results_JSON", "xml": "SPARQL_Results_XML", "csv": "SPARQL_Results_CSV",
    "tsv": "SPARQL_Results_TSV", "turtle": "Turtle", "ntriples": "N-Triples",
    "jsonld": "JSON-LD", "rdfxml": "RDF_XML",
}
_RDFLIB_FORMATS = {"turtle": "turtle", "ntriples": "nt", "jsonld": "json-ld", "rdfxml": "xml"}


def service_description(endpoint: str, public_graphs: list[str]) -> Graph:
    """Describe the endpoint at ``endpoint``: language, formats, features and its dataset.

    >>> g = service_description("http://127.0.0.1:8000/sparql", [])
    >>> (None, SD.endpoint, URIRef("http://127.0.0.1:8000/sparql")) in g
    True
    """
    graph = new_graph()
    graph.bind("sd", str(SD))
    service = URIRef(endpoint + "#service")
    graph.add((service, RDF.type, SD.Service))
    graph.add((service, SD.endpoint, URIRef(endpoint)))
    graph.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    graph.add((service, SD.feature, SD.UnionDefaultGraph))
    for fragment in _FORMAT_IRIS.values():
        graph.add((service, SD.resultFormat, URIRef("http://www.w3.org/ns/formats/" + fragment)))
    dataset = BNode()
    graph.add((service, SD.defaultDataset, dataset))
    graph.add((dataset, RDF.type, SD.Dataset))
    default = BNode()
    graph.add((dataset, SD.defaultGraph, default))
    graph.add((default, RDF.type, SD.Graph))
    for name in public_graphs:
        named = BNode()
        graph.add((dataset, SD.namedGraph, named))
        graph.add((named, RDF.type, SD.NamedGraph))
        graph.add((named, SD.name, URIRef(name)))
    graph.add((service, URIRef("http://www.w3.org/2000/01/rdf-schema#comment"), Literal(
        "Read-only SPARQL 1.1 endpoint of the co-production knowledge graph. The default graph "
        "is the union of the public named graphs. SERVICE, LOAD and SPARQL Update are refused.",
        lang="en")))
    return graph


def serialise(graph: Graph, fmt: ResultFormat) -> bytes:
    """The description in one of the graph formats."""
    if fmt not in GRAPH_FORMATS:
        raise ValueError(f"{fmt.name} is not a graph format")
    data: bytes = graph.serialize(format=_RDFLIB_FORMATS[fmt.name], encoding="utf-8")
    return data
