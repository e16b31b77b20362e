"""Dereference the knowledge graph's IRIs: what the store says about one resource.

A resource's document holds the triples about its IRI, about its fragment IRIs (a case carries
``case/slug#coding-1``, ``#service``... along with it) and about the blank nodes they lead to,
as the engine's DESCRIBE gives them (a concise bounded description). The HTML view adds the
labels of the linked values and the resources that link to it, in one more query. Everything is
read from the public graphs as loaded; nothing is reasoned per request.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import pyoxigraph as ox

from coprod_kg.errors import BadInput, CoprodError, NotFound
from coprod_kg.rdf.formats import GRAPH_FORMATS
from coprod_kg.rdf.namespaces import BASE, ONTOLOGY_IRI
from coprod_kg.storage.rows import Row, select
from coprod_kg.storage.store import KnowledgeStore, QueryRequest

#: First path segments of the IRIs the server dereferences (one per namespace of the scheme).
DEREFERENCEABLE: tuple[str, ...] = (
    "ontology", "scheme", "concept", "country", "definition", "source", "person",
    "case", "organisation", "agent", "external", "claim",
)

#: Store format names for each RDF media type a page offers.
STORE_FORMATS: dict[str, str] = {f.media_type: f.name for f in GRAPH_FORMATS}

#: Properties whose value names a thing, best first (the first found is the display label).
LABEL_PROPERTIES: tuple[str, ...] = (
    "http://www.w3.org/2004/02/skos/core#prefLabel",
    "http://www.w3.org/2000/01/rdf-schema#label",
    "http://purl.org/dc/terms/title",
    "http://xmlns.com/foaf/0.1/name",
    "http://www.w3.org/ns/org#name",
)
#: Incoming links listed on a page, at most (a concept can be the value of many codings).
MAX_INCOMING = 500
_IRI_FORBIDDEN = set('<>"{}|^`\\ \n\r\t')


def check_iri(iri: str) -> str:
    """Refuse a string that cannot be written as ``<iri>`` in SPARQL.

    >>> check_iri("https://w3id.org/coprod/case/x")
    'https://w3id.org/coprod/case/x'
    """
    if not iri or _IRI_FORBIDDEN.intersection(iri):
        raise BadInput(f"not an IRI: {iri!r}")
    return iri


def iri_for_path(path: str, base_iri: str = BASE) -> str:
    """The IRI a request path under the server stands for (``case/x`` -> ``{base}case/x``).

    >>> iri_for_path("/concept/complementary")
    'https://w3id.org/coprod/concept/complementary'
    """
    return check_iri(base_iri + path.lstrip("/"))


def local_href(iri: str, base_iri: str, public_url: str) -> str | None:
    """The server-relative link of an IRI under ``base_iri`` (fragment kept), else ``None``.

    >>> local_href("https://w3id.org/coprod/case/x#coding-1", BASE, "http://h:8000")
    '/case/x#coding-1'
    >>> local_href("http://example.org/x", BASE, "http://h:8000") is None
    True
    """
    if not iri.startswith(base_iri):
        return None
    prefix = urlsplit(public_url).path.rstrip("/")
    return f"{prefix}/{iri[len(base_iri):]}"


def document_iri(iri: str) -> str:
    """The IRI without its fragment: the document a fragment IRI is described in."""
    return iri.split("#", 1)[0]


def _describe_query(iri: str) -> str:
    # The resource, and fragment IRIs reached in one or two steps (case -> coding -> task).
    frag = iri + "#"
    return (
        "DESCRIBE ?s WHERE {\n"
        f"  {{ BIND(<{iri}> AS ?s) }}\n"
        f"  UNION {{ <{iri}> ?p ?s FILTER(isIRI(?s) && STRSTARTS(STR(?s), \"{frag}\")) }}\n"
        f"  UNION {{ <{iri}> ?p ?x . ?x ?q ?s "
        f"FILTER(isIRI(?x) && isIRI(?s) && STRSTARTS(STR(?s), \"{frag}\")) }}\n"
        "}"
    )


def _ask(store: KnowledgeStore, query: str) -> bool:
    body = store.query(QueryRequest(query, "json")).body
    try:
        return json.loads(body)["boolean"] is True
    except (ValueError, KeyError, TypeError) as exc:
        raise CoprodError(f"the store returned an unreadable ASK answer: {exc}") from exc


def exists(store: KnowledgeStore, iri: str) -> bool:
    """Whether the public graphs say anything about ``iri`` (it is the subject of a triple)."""
    check_iri(iri)
    return _ask(store, f"ASK {{ <{iri}> ?p ?o }}")


def is_version_iri(store: KnowledgeStore, iri: str) -> bool:
    """Whether ``iri`` is the ``owl:versionIRI`` of the ontology (it has no triples of its own)."""
    check_iri(iri)
    query = f"ASK {{ <{ONTOLOGY_IRI}> <http://www.w3.org/2002/07/owl#versionIRI> <{iri}> }}"
    return _ask(store, query)


def rdf_document(store: KnowledgeStore, iri: str, media_type: str) -> bytes:
    """The resource's document serialised by the engine as ``media_type``; 404 if unknown."""
    if media_type not in STORE_FORMATS:
        raise BadInput(f"{media_type} is not an RDF format this server writes")
    if not exists(store, iri):
        raise NotFound(f"nothing is known about <{iri}>")
    return store.query(QueryRequest(_describe_query(iri), STORE_FORMATS[media_type])).body


def document_triples(store: KnowledgeStore, iri: str) -> list[ox.Triple]:
    """The triples of the resource's document; :class:`NotFound` when there are none."""
    check_iri(iri)
    body = store.query(QueryRequest(_describe_query(iri), "ntriples")).body
    triples = [q.triple if isinstance(q, ox.Quad) else q
               for q in ox.parse(body, ox.RdfFormat.N_TRIPLES)]
    if not any(isinstance(t.subject, ox.NamedNode) and t.subject.value == iri for t in triples):
        raise NotFound(f"nothing is known about <{iri}>")
    return triples


@dataclass(frozen=True)
class Incoming:
    """A resource that links to the described one: its IRI, the property, and labels."""

    subject: str
    predicate: str
    label: str
    document_label: str


@dataclass(frozen=True)
class Labels:
    """Display labels (and citations of sources) for IRIs, and the incoming links."""

    labels: dict[str, str]
    citations: dict[str, str]
    incoming: list[Incoming]


def _pick_label(candidates: list[Row], var: str) -> str:
    """The English label if there is one, else one with no language, else any."""
    found = [row[var] for row in candidates if var in row]
    for wanted in ("en", ""):
        for term in found:
            if term.lang.lower().startswith(wanted) if wanted else not term.lang:
                return term.value
    return found[0].value if found else ""


def _values(iris: Iterable[str]) -> str:
    return " ".join(f"<{check_iri(i)}>" for i in sorted(set(iris)))


def labels_and_incoming(store: KnowledgeStore, iri: str, linked: Iterable[str]) -> Labels:
    """One query: the labels (and citations) of ``linked`` IRIs and the links into ``iri``."""
    label_path = "|".join(f"<{p}>" for p in LABEL_PROPERTIES)
    values = _values(linked)
    linked_part = (
        f"{{ VALUES ?x {{ {values} }}\n"
        f"  OPTIONAL {{ ?x {label_path} ?label }}\n"
        "  OPTIONAL { ?x <http://purl.org/dc/terms/bibliographicCitation> ?citation } }\n"
        "UNION\n" if values else ""
    )
    query = (
        "SELECT ?x ?label ?citation ?in_s ?in_p ?in_label ?doc_label WHERE {\n"
        + linked_part
        + f"{{ {{ SELECT DISTINCT ?in_s ?in_p WHERE {{ ?in_s ?in_p <{check_iri(iri)}> "
        f"FILTER(isIRI(?in_s) && !STRSTARTS(STR(?in_s), \"{iri}#\")) }} "
        f"ORDER BY ?in_s ?in_p LIMIT {MAX_INCOMING} }}\n"
        f"  OPTIONAL {{ ?in_s {label_path} ?in_label }}\n"
        f"  OPTIONAL {{ ?doc ?any ?in_s . ?doc {label_path} ?doc_label "
        "FILTER(isIRI(?doc) && STRSTARTS(STR(?in_s), CONCAT(STR(?doc), \"#\"))) } }\n"
        "}"
    )
    by_iri: dict[str, list[Row]] = {}
    incoming_rows: dict[tuple[str, str], list[Row]] = {}
    for row in select(store, query):
        if "x" in row:
            by_iri.setdefault(row["x"].value, []).append(row)
        elif "in_s" in row and "in_p" in row:
            incoming_rows.setdefault((row["in_s"].value, row["in_p"].value), []).append(row)
    labels = {key: _pick_label(rows, "label") for key, rows in by_iri.items()}
    citations = {key: _pick_label(rows, "citation") for key, rows in by_iri.items()}
    incoming = [Incoming(s, p, _pick_label(rows, "in_label"), _pick_label(rows, "doc_label"))
                for (s, p), rows in sorted(incoming_rows.items())]
    return Labels({k: v for k, v in labels.items() if v},
                  {k: v for k, v in citations.items() if v}, incoming)
