"""The VoID description of the public knowledge graph: sizes, licence, endpoint and dumps.

Counts come from the store (over the public graphs only); per-graph sizes from the load
manifest's records. See https://www.w3.org/TR/void/ for the vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox

from coprod_kg.publishing.dump import DUMP_FORMATS
from coprod_kg.rdf.namespaces import BASE, ONTOLOGY_IRI, PREFIXES, SD, VOID
from coprod_kg.storage.rows import count, select
from coprod_kg.storage.store import GraphRecord, KnowledgeStore

DCTERMS = "http://purl.org/dc/terms/"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
XSD_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
DEFAULT_LICENSE = "https://creativecommons.org/licenses/by/4.0/"
VOID_PATH = "/.well-known/void"


@dataclass(frozen=True)
class ClassCount:
    """How many distinct resources have one class."""

    iri: str
    entities: int


@dataclass(frozen=True)
class Summary:
    """What the VoID description states, as plain values (the HTML page shows the same)."""

    dataset: str
    title: str
    triples: int
    entities: int
    distinct_subjects: int
    distinct_objects: int
    properties: int
    classes: list[ClassCount]
    graphs: list[GraphRecord]
    license: str
    sparql_endpoint: str
    dumps: dict[str, str]
    uri_space: str
    root_resource: str


def summarise(store: KnowledgeStore, public_url: str, base_iri: str = BASE) -> Summary:
    """Count the public graphs (a handful of aggregate queries) and gather the links."""
    url = public_url.rstrip("/")
    license_rows = select(store, f"SELECT ?l WHERE {{ <{ONTOLOGY_IRI}> <{DCTERMS}license> ?l }}")
    classes = [
        ClassCount(row["c"].value, int(row["n"].value))
        for row in select(store, "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c "
                                 "FILTER(isIRI(?c)) } GROUP BY ?c ORDER BY DESC(?n) ?c")
    ]
    return Summary(
        dataset=f"{url}{VOID_PATH}#coprod-kg",
        title="coprod-kg: the knowledge graph of the co-production of public services",
        triples=count(store, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"),
        entities=count(store, "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o "
                              f"FILTER(isIRI(?s) && STRSTARTS(STR(?s), \"{base_iri}\")) }}"),
        distinct_subjects=count(store, "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o }"),
        distinct_objects=count(store, "SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE { ?s ?p ?o }"),
        properties=count(store, "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?s ?p ?o }"),
        classes=classes,
        graphs=store.graphs(),
        license=license_rows[0]["l"].value if license_rows else DEFAULT_LICENSE,
        sparql_endpoint=f"{url}/sparql",
        dumps={fmt.media_type: f"{url}/dumps/{fmt.filename}" for fmt in DUMP_FORMATS.values()},
        uri_space=base_iri,
        root_resource=ONTOLOGY_IRI,
    )


def _int(value: int) -> ox.Literal:
    return ox.Literal(str(value), datatype=XSD_INTEGER)


def void_triples(summary: Summary) -> list[ox.Triple]:
    """The VoID description of ``summary`` as triples."""
    node = ox.NamedNode(summary.dataset)
    v = str(VOID)

    def t(s: ox.NamedNode | ox.BlankNode, p: str, o: ox.NamedNode | ox.BlankNode | ox.Literal,
          ) -> ox.Triple:
        return ox.Triple(s, ox.NamedNode(p), o)

    out = [
        t(node, RDF_TYPE.value, ox.NamedNode(v + "Dataset")),
        t(node, DCTERMS + "title", ox.Literal(summary.title, language="en")),
        t(node, DCTERMS + "license", ox.NamedNode(summary.license)),
        t(node, v + "sparqlEndpoint", ox.NamedNode(summary.sparql_endpoint)),
        t(node, v + "uriSpace", ox.Literal(summary.uri_space)),
        t(node, v + "rootResource", ox.NamedNode(summary.root_resource)),
        t(node, v + "vocabulary", ox.NamedNode(PREFIXES["cp"])),
        t(node, v + "triples", _int(summary.triples)),
        t(node, v + "entities", _int(summary.entities)),
        t(node, v + "distinctSubjects", _int(summary.distinct_subjects)),
        t(node, v + "distinctObjects", _int(summary.distinct_objects)),
        t(node, v + "properties", _int(summary.properties)),
        t(node, v + "classes", _int(len(summary.classes))),
    ]
    for media_type, url in summary.dumps.items():
        dump = ox.NamedNode(url)
        out += [t(node, v + "dataDump", dump), t(dump, DCTERMS + "format", ox.Literal(media_type))]
    for index, cls in enumerate(summary.classes):
        part = ox.NamedNode(f"{summary.dataset}-class-{index + 1}")
        out += [t(node, v + "classPartition", part), t(part, v + "class", ox.NamedNode(cls.iri)),
                t(part, v + "entities", _int(cls.entities))]
    for record in summary.graphs:
        graph = ox.NamedNode(record.name)
        out += [t(node, v + "subset", graph), t(graph, RDF_TYPE.value, ox.NamedNode(v + "Dataset")),
                t(graph, str(SD) + "name", graph), t(graph, v + "triples", _int(record.triples)),
                t(graph, DCTERMS + "source", ox.Literal(record.source))]
    return out


def serialise(summary: Summary, rdf_format: ox.RdfFormat) -> bytes:
    """The VoID description in one RDF format."""
    prefixes = {"void": str(VOID), "dcterms": DCTERMS, "sd": str(SD), **PREFIXES}
    return ox.serialize(void_triples(summary), format=rdf_format, prefixes=prefixes) or b""
