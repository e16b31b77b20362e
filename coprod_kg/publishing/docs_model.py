"""Turn the ontology graph into the plain data the documentation template renders."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS
from rdflib.term import Node

from coprod_kg.rdf.namespaces import BASE, BIBO, CP, ONTOLOGY_IRI, VANN

CLASS_TYPES = (OWL.Class, RDFS.Class)
SECTION_TYPES: tuple[tuple[str, str, tuple[URIRef, ...]], ...] = (
    ("classes", "Classes", CLASS_TYPES),
    ("object-properties", "Object properties", (OWL.ObjectProperty,)),
    ("datatype-properties", "Datatype properties", (OWL.DatatypeProperty,)),
    ("annotation-properties", "Annotation properties", (OWL.AnnotationProperty, RDF.Property)),
)
#: Extra facts shown for a term when present: property -> heading.
EXTRA: tuple[tuple[URIRef, str], ...] = (
    (CP.definitionText, "Definition text"),
    (CP.locator, "Locator"),
    (DCTERMS.bibliographicCitation, "Citation"),
    (DCTERMS.title, "Title"),
    (DCTERMS.issued, "Issued"),
    (BIBO.doi, "DOI"),
    (SKOS.notation, "Notation"),
    (SKOS.exactMatch, "Exact match"),
    (SKOS.closeMatch, "Close match"),
    (SKOS.broadMatch, "Broad match"),
    (SKOS.narrowMatch, "Narrow match"),
    (SKOS.relatedMatch, "Related match"),
    (RDFS.seeAlso, "See also"),
    (OWL.deprecated, "Deprecated"),
    (DCTERMS.isReplacedBy, "Replaced by"),
)
META: tuple[tuple[URIRef, str], ...] = (
    (DCTERMS.title, "Title"), (DCTERMS.description, "Description"),
    (OWL.versionIRI, "Version IRI"), (OWL.versionInfo, "Version"),
    (OWL.priorVersion, "Prior version"), (DCTERMS.license, "Licence"),
    (DCTERMS.creator, "Creators"), (DCTERMS.contributor, "Contributors"),
    (DCTERMS.publisher, "Publisher"), (DCTERMS.created, "Created"),
    (DCTERMS.issued, "Issued"), (DCTERMS.modified, "Modified"),
    (VANN.preferredNamespacePrefix, "Preferred prefix"),
    (VANN.preferredNamespaceUri, "Preferred namespace"),
    (DCTERMS.bibliographicCitation, "Cite as"),
)


@dataclass(frozen=True)
class Link:
    """A reference to another resource: an anchor in the page when we document it."""

    text: str
    href: str


@dataclass
class Term:
    """Everything the page says about one IRI."""

    iri: str
    curie: str
    anchor: str
    label: str
    kinds: list[Link] = field(default_factory=list)
    definitions: list[str] = field(default_factory=list)
    alt_labels: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sources: list[Link] = field(default_factory=list)
    supers: list[Link] = field(default_factory=list)
    subs: list[Link] = field(default_factory=list)
    domains: list[Link] = field(default_factory=list)
    ranges: list[Link] = field(default_factory=list)
    equivalents: list[str] = field(default_factory=list)
    extra: list[tuple[str, list[Link]]] = field(default_factory=list)


@dataclass
class Section:
    """A titled list of terms (concept schemes carry their concepts in ``children``)."""

    anchor: str
    title: str
    terms: list[Term]
    children: dict[str, list[Term]] = field(default_factory=dict)


@dataclass
class Page:
    """The whole documentation page."""

    title: str
    iri: str
    metadata: list[tuple[str, list[Link]]]
    modules: list[Link]
    files: list[str]
    sections: list[Section]


class _Builder:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.ours = {s for s in graph.subjects()
                     if isinstance(s, URIRef) and str(s).startswith(BASE)}

    def curie(self, node: Node) -> str:
        if isinstance(node, URIRef):
            return self.graph.namespace_manager.normalizeUri(node).strip("<>")
        return str(node)

    def anchor(self, iri: URIRef) -> str:
        return "".join(c if c.isalnum() or c in "-_" else "-" for c in self.curie(iri))

    def link(self, node: Node) -> Link:
        if isinstance(node, URIRef):
            href = "#" + self.anchor(node) if node in self.ours else str(node)
            return Link(self.label(node) if node in self.ours else self.curie(node), href)
        if isinstance(node, BNode):
            return Link(self.expression(node), "")
        return Link(str(node), str(node) if str(node).startswith("http") else "")

    def links(self, nodes: Iterable[Node]) -> list[Link]:
        return sorted((self.link(n) for n in nodes), key=lambda link: link.text.lower())

    def texts(self, subject: URIRef, predicate: URIRef) -> list[str]:
        values = list(self.graph.objects(subject, predicate))
        english = [v for v in values if isinstance(v, Literal) and v.language in (None, "en")]
        return sorted(str(v) for v in (english or values))

    def label(self, iri: URIRef) -> str:
        for predicate in (SKOS.prefLabel, RDFS.label, DCTERMS.title):
            found = self.texts(iri, predicate)
            if found:
                return found[0]
        return self.curie(iri)

    def expression(self, node: Node) -> str:
        """A Manchester-like rendering of an OWL class expression."""
        if not isinstance(node, BNode):
            return self.curie(node)
        g = self.graph
        for predicate, joiner in ((OWL.intersectionOf, " and "), (OWL.unionOf, " or ")):
            members = g.value(node, predicate)
            if members is not None:
                parts = [self.expression(m) for m in Collection(g, members)]
                return "(" + joiner.join(parts) + ")"
        one_of = g.value(node, OWL.oneOf)
        if one_of is not None:
            return "{" + ", ".join(self.curie(m) for m in Collection(g, one_of)) + "}"
        complement = g.value(node, OWL.complementOf)
        if complement is not None:
            return "not " + self.expression(complement)
        prop = g.value(node, OWL.onProperty)
        if prop is not None:
            for predicate, word in ((OWL.someValuesFrom, "some"), (OWL.allValuesFrom, "only"),
                                    (OWL.hasValue, "value"), (OWL.minCardinality, "min"),
                                    (OWL.maxCardinality, "max"), (OWL.cardinality, "exactly"),
                                    (OWL.qualifiedCardinality, "exactly"),
                                    (OWL.minQualifiedCardinality, "min"),
                                    (OWL.maxQualifiedCardinality, "max")):
                filler = g.value(node, predicate)
                if filler is not None:
                    return f"({self.curie(prop)} {word} {self.expression(filler)})"
        return "(an anonymous class)"

    def term(self, iri: URIRef) -> Term:
        g = self.graph
        hierarchy = (RDFS.subClassOf, RDFS.subPropertyOf, SKOS.broader)
        term = Term(iri=str(iri), curie=self.curie(iri), anchor=self.anchor(iri),
                    label=self.label(iri))
        term.kinds = self.links(g.objects(iri, RDF.type))
        term.definitions = self.texts(iri, SKOS.definition) or self.texts(iri, RDFS.comment)
        term.alt_labels = self.texts(iri, SKOS.altLabel)
        term.examples = self.texts(iri, SKOS.example)
        term.notes = self.texts(iri, SKOS.scopeNote) + self.texts(iri, SKOS.note)
        term.sources = self.links(g.objects(iri, DCTERMS.source))
        term.supers = self.links(o for p in hierarchy for o in g.objects(iri, p)
                                 if isinstance(o, URIRef))
        term.subs = self.links(s for p in hierarchy for s in g.subjects(p, iri)
                               if isinstance(s, URIRef))
        term.domains = self.links(g.objects(iri, RDFS.domain))
        term.ranges = self.links(g.objects(iri, RDFS.range))
        term.equivalents = sorted(self.expression(o) for o in g.objects(iri, OWL.equivalentClass))
        term.extra = [(heading, self.links(g.objects(iri, p))) for p, heading in EXTRA
                      if (iri, p, None) in g]
        return term


def build_page(graph: Graph, files: list[str]) -> Page:
    """Sort every IRI of ours into a section and describe it."""
    b = _Builder(graph)
    ontology = URIRef(ONTOLOGY_IRI)
    placed = {s for s in graph.subjects(RDF.type, OWL.Ontology) if isinstance(s, URIRef)}
    sections: list[Section] = []

    def take(candidates: Iterable[Node]) -> list[Term]:
        chosen = sorted({c for c in candidates if isinstance(c, URIRef) and c in b.ours} - placed)
        placed.update(chosen)
        return sorted((b.term(c) for c in chosen), key=lambda t: (t.label.lower(), t.iri))

    for anchor, title, types in SECTION_TYPES:
        sections.append(Section(anchor, title, take(s for t in types
                                                    for s in graph.subjects(RDF.type, t))))
    schemes = Section("concept-schemes", "Concept schemes and concepts",
                      take(graph.subjects(RDF.type, SKOS.ConceptScheme)))
    for scheme in schemes.terms:
        members = graph.subjects(SKOS.inScheme, URIRef(scheme.iri))
        schemes.children[scheme.iri] = take(members)
    sections.append(schemes)
    sections.append(Section("other-concepts", "Concepts outside any scheme",
                            take(graph.subjects(RDF.type, SKOS.Concept))))
    sections.append(Section("definitions", "Definitions of co-production",
                            take(graph.subjects(RDF.type, CP.CoProductionDefinition))))
    sections.append(Section("bibliography", "Bibliography",
                            take(s for s in b.ours if str(s).startswith(BASE + "source/"))))
    sections.append(Section("persons", "Authors",
                            take(s for s in b.ours if str(s).startswith(BASE + "person/"))))
    sections.append(Section("other", "Other resources", take(b.ours)))
    metadata = [(heading, b.links(graph.objects(ontology, p))) for p, heading in META
                if (ontology, p, None) in graph]
    modules = sorted((Link(b.label(s), str(s)) for s in graph.subjects(RDF.type, OWL.Ontology)
                      if isinstance(s, URIRef) and s != ontology), key=lambda link: link.href)
    return Page(title=b.label(ontology), iri=ONTOLOGY_IRI, metadata=metadata, modules=modules,
                files=files, sections=[s for s in sections if s.terms])
