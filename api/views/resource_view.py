"""Turn a resource's triples and labels into a view for its HTML page (no web framework here).

Values that are IRIs of the knowledge graph link to their own local pages; blank nodes (OWL
restrictions, author lists) are shown nested; RDF lists become ordered lists.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pyoxigraph as ox

from coprod_kg.rdf.namespaces import PREFIXES
from coprod_kg.storage.store import KnowledgeStore

from .linked_data import (
    LABEL_PROPERTIES,
    Labels,
    document_triples,
    labels_and_incoming,
    local_href,
)

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDF_FIRST = "http://www.w3.org/1999/02/22-rdf-syntax-ns#first"
RDF_REST = "http://www.w3.org/1999/02/22-rdf-syntax-ns#rest"
RDF_NIL = "http://www.w3.org/1999/02/22-rdf-syntax-ns#nil"
#: Properties whose values explain the resource, best first (the first found is shown on top).
DEFINITION_PROPERTIES: tuple[str, ...] = (
    "http://www.w3.org/2004/02/skos/core#definition",
    "https://w3id.org/coprod/ontology/definitionText",
    "http://purl.org/dc/terms/description",
    "http://www.w3.org/2000/01/rdf-schema#comment",
)
#: Properties that cite where a fact comes from; their values are listed as the sources.
SOURCE_PROPERTIES: frozenset[str] = frozenset({
    "http://purl.org/spar/cito/citesAsEvidence",
    "https://w3id.org/coprod/ontology/evidenceSource",
    "http://purl.org/dc/terms/source",
})


def curie(iri: str) -> str:
    """A prefixed name for ``iri`` when one of the project's prefixes fits, else the IRI.

    >>> curie("https://w3id.org/coprod/ontology/Coding")
    'cp:Coding'
    """
    best = ""
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and len(namespace) > len(PREFIXES.get(best, "")):
            best = prefix
    if best and re.fullmatch(r"[\w.\-]*", iri[len(PREFIXES[best]):]):
        return f"{best}:{iri[len(PREFIXES[best]):]}"
    return iri


@dataclass
class ValueView:
    """One value: its text, IRI and link if any, and nested content for blank nodes and lists."""

    text: str
    iri: str = ""
    href: str = ""
    lang: str = ""
    datatype: str = ""
    nested: list[PropertyView] = field(default_factory=list)
    items: list[ValueView] = field(default_factory=list)


@dataclass
class PropertyView:
    """One property of a subject and its values."""

    iri: str
    label: str
    href: str
    values: list[ValueView]


@dataclass
class SectionView:
    """One subject of the document: the resource itself or one of its fragments."""

    iri: str
    anchor: str
    label: str
    properties: list[PropertyView]


@dataclass
class IncomingView:
    """A link into the resource: the linking resource and the property it uses."""

    subject: ValueView
    property: ValueView


@dataclass
class ResourceView:
    """Everything the resource page shows."""

    iri: str
    label: str
    definition: str
    types: list[ValueView]
    sections: list[SectionView]
    incoming: list[IncomingView]
    sources: list[ValueView]


def _natural_key(text: str) -> list[object]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


class _Builder:
    def __init__(self, triples: list[ox.Triple], labels: Labels,
                 href: Callable[[str], str]) -> None:
        self.by_subject: dict[str, list[ox.Triple]] = {}
        for triple in triples:
            self.by_subject.setdefault(self.key(triple.subject), []).append(triple)
        self.labels = labels
        self.href = href

    @staticmethod
    def key(term: object) -> str:
        if isinstance(term, ox.BlankNode):
            return "_:" + term.value
        return str(getattr(term, "value", term))

    def iri_value(self, iri: str) -> ValueView:
        text = self.labels.labels.get(iri) or curie(iri)
        return ValueView(text=text, iri=iri, href=self.href(iri))

    def value(self, term: object, seen: frozenset[str]) -> ValueView:
        if isinstance(term, ox.NamedNode):
            return self.iri_value(term.value)
        if isinstance(term, ox.Literal):
            datatype = term.datatype.value if term.datatype else ""
            shown = "" if term.language or datatype.endswith("#string") else curie(datatype)
            return ValueView(text=term.value, lang=term.language or "", datatype=shown)
        node = self.key(term)
        if node in seen:
            return ValueView(text="(cycle)")
        items = self.list_items(node, seen | {node})
        if items is not None:
            return ValueView(text="list", items=items)
        return ValueView(text="", nested=self.properties(node, seen | {node}))

    def list_items(self, node: str, seen: frozenset[str]) -> list[ValueView] | None:
        items: list[ValueView] = []
        while node != RDF_NIL:
            triples = {self.key(t.predicate): t.object for t in self.by_subject.get(node, [])}
            if set(triples) != {RDF_FIRST, RDF_REST} or len(items) > 10_000:
                return None
            items.append(self.value(triples[RDF_FIRST], seen))
            node = self.key(triples[RDF_REST])
        return items

    def properties(self, subject: str, seen: frozenset[str]) -> list[PropertyView]:
        grouped: dict[str, list[ox.Triple]] = {}
        for triple in self.by_subject.get(subject, []):
            grouped.setdefault(triple.predicate.value, []).append(triple)
        views = []
        for predicate, triples in grouped.items():
            values = [self.value(t.object, seen) for t in triples]
            values.sort(key=lambda v: (v.lang not in ("en", ""), _natural_key(v.text)))
            views.append(PropertyView(predicate, self.labels.labels.get(predicate)
                                      or curie(predicate), self.href(predicate), values))
        order = {RDF_TYPE: 0, **{p: 1 for p in LABEL_PROPERTIES}}
        views.sort(key=lambda v: (order.get(v.iri, 2), v.label.lower()))
        return views


def _first_text(triples: list[ox.Triple], properties: tuple[str, ...]) -> str:
    for wanted in properties:
        found = [t.object for t in triples
                 if t.predicate.value == wanted and isinstance(t.object, ox.Literal)]
        found.sort(key=lambda lit: (lit.language not in ("en", None), lit.value))
        if found:
            return found[0].value
    return ""


def build_view(iri: str, triples: list[ox.Triple], labels: Labels, base_iri: str,
               public_url: str) -> ResourceView:
    """The page of ``iri`` from its document's triples and the labels of what it links to."""
    def href(target: str) -> str:
        return local_href(target, base_iri, public_url) or target

    builder = _Builder(triples, labels, href)
    main = builder.by_subject.get(iri, [])
    fragments = sorted((s for s in builder.by_subject if s.startswith(iri + "#")),
                       key=_natural_key)
    sections = []
    for subject in [iri, *fragments]:
        props = builder.properties(subject, frozenset())
        anchor = subject[len(iri) + 1:] if subject != iri else ""
        label = _first_text(builder.by_subject[subject], LABEL_PROPERTIES) or (
            "#" + anchor if anchor else curie(iri))
        sections.append(SectionView(subject, anchor, label, props))
    types = next((p.values for p in sections[0].properties if p.iri == RDF_TYPE), []) \
        if sections else []
    sources: dict[str, ValueView] = {}
    for triple in triples:
        if triple.predicate.value in SOURCE_PROPERTIES and isinstance(triple.object, ox.NamedNode):
            source = builder.iri_value(triple.object.value)
            citation = labels.citations.get(source.iri)
            if citation:
                source.text = citation
            sources[source.iri] = source
    incoming = []
    for link in labels.incoming:
        text = link.label or (
            f"{link.document_label} #{link.subject.split('#', 1)[1]}"
            if link.document_label and "#" in link.subject else curie(link.subject))
        incoming.append(IncomingView(ValueView(text, link.subject, href(link.subject)),
                                     builder.iri_value(link.predicate)))
    return ResourceView(
        iri=iri,
        label=_first_text(main, LABEL_PROPERTIES) or curie(iri),
        definition=_first_text(main, DEFINITION_PROPERTIES),
        types=types,
        sections=sections,
        incoming=incoming,
        sources=sorted(sources.values(), key=lambda v: v.text.lower()),
    )


def linked_iris(triples: list[ox.Triple]) -> set[str]:
    """The IRIs a document links to (predicates and IRI objects), whose labels the page shows."""
    found: set[str] = set()
    for triple in triples:
        found.add(triple.predicate.value)
        if isinstance(triple.object, ox.NamedNode):
            found.add(triple.object.value)
    return found


def resource_page(store: KnowledgeStore, iri: str, base_iri: str, public_url: str,
                  ) -> ResourceView:
    """Two queries: the document's triples, then labels and incoming links; 404 if unknown."""
    triples = document_triples(store, iri)
    labels = labels_and_incoming(store, iri, linked_iris(triples))
    return build_view(iri, triples, labels, base_iri, public_url)
