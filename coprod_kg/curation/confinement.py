"""What a case record may say: its own case, the resources it mints, and nothing else.

A submission is one case record. Its triples, and what the load-time rules
(:mod:`coprod_kg.reasoning.entailment`) would derive from them with the ontology, are checked before
anything is stored (submit, PUT, import) and again when a curator accepts it. Each refused
triple is named, with the reason, in one :class:`~coprod_kg.errors.OutsideCase` (422).

1. **Canonical IRIs.** Every IRI is written in its canonical form (:mod:`.iris`: lower-case
   scheme and host, no default port, no dot-segments, percent-encoding only where needed);
   IRIs under ``https://w3id.org/coprod/`` take no percent-encoding at all. The case IRI is
   exactly ``https://w3id.org/coprod/case/{slug}`` (:mod:`.identity`).
2. **Subjects.** Only the case IRI, its parts (``{case}#{part}``: letters, digits, ``-``,
   ``_``), blank nodes, and the resources a record may mint: ``organisation/{slug}``,
   ``person/{slug}`` and ``source/{slug}``, provided no other public graph describes them.
   Ontology terms, schemes, concepts, countries, definitions, account holders' agents, other
   cases and any other IRI are referred to, never described.
3. **No term-defining vocabulary**, whatever the subject: no ``owl:`` or ``sh:`` predicate; no
   ``rdfs:subClassOf``/``subPropertyOf``/``domain``/``range``/``isDefinedBy``; no SKOS scheme
   membership or semantic relation (``inScheme``, ``topConceptOf``, ``hasTopConcept``,
   ``broader``, ``narrower``, ``related``, the mapping relations, ``member``); no reification
   (``rdf:subject``/``predicate``/``object``, which would smuggle a statement about another
   resource). ``rdf:type`` names a class: not a meta-class (``owl:Class``, ``rdfs:Class``,
   ``rdf:Property``, ``skos:Concept``, ``skos:ConceptScheme``... or any subclass of them, so a
   record never makes a concept or a term), and, under our base, a class the ontology declares.
4. **Entailments.** The rules are run over the ontology and the record; of what they add beyond
   the ontology's own entailments, each triple must pass rule 3, and each triple about a
   resource outside rule 2's set must either already hold in the public graphs outside this
   case's graphs (it changes nothing), or type a referenced organisation, person or source as
   what its namespace says it is (``cp:Organisation``; ``cp:Agent`` or ``foaf:Person``;
   ``bibo:Document``; with their superclasses): citing a source makes it a ``bibo:Document``,
   naming a provider makes it a ``cp:Organisation``. Typing another case, a concept or an
   agent through a range is refused.

**Minted resources and updates.** A case owns the organisations, people and sources it mints for
as long as a public version of it describes them: its own later versions may describe them again
(the case's own graphs never count as "another graph"), other records may refer to them but not
describe them. When a case is withdrawn its resources are free again. If two pending records
mint the same resource, the first one accepted wins: the check runs again at accept, so the
second is then refused, and an import refuses two files that mint the same resource.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.namespace import FOAF, OWL, RDF, RDFS, SKOS

from coprod_kg.curation.identity import SLUG
from coprod_kg.curation.iris import iri_offence
from coprod_kg.curation.lookup import described_elsewhere
from coprod_kg.curation.model import CASE_BASE, CASE_GRAPH_BASE, case_slug
from coprod_kg.errors import OutsideCase
from coprod_kg.rdf.namespaces import (
    AGENT,
    BASE,
    BIBO,
    COUNTRY,
    CP,
    CPC,
    CPD,
    CPS,
    EXT,
    GRAPH,
    ONTOLOGY_GRAPH,
    ORGANISATION,
    PERSON,
    SRC,
)
from coprod_kg.rdf.terms import to_rdflib
from coprod_kg.reasoning.entailment import Schema, entail
from coprod_kg.storage.store import GraphReader

SH = "http://www.w3.org/ns/shacl#"
_TYPE = str(RDF.type)
#: The name of a part of a case, after ``#``.
FRAGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
#: Namespaces under which a record may mint a new resource, and what such a resource is.
KINDS: dict[str, tuple[str, ...]] = {
    str(ORGANISATION): (str(CP.Organisation),),
    str(PERSON): (str(CP.Agent), str(FOAF.Person)),
    str(SRC): (str(BIBO.Document),),
}
_KIND_NAMES = {str(ORGANISATION): "an organisation", str(PERSON): "a person",
               str(SRC): "a source"}
#: What the other resources under our base are, for the messages.
_REFERENCED: tuple[tuple[str, str], ...] = (
    (str(CPS), "a concept scheme"), (str(CPC), "a concept"), (str(COUNTRY), "a country"),
    (str(CPD), "a definition"), (str(AGENT), "an account holder's agent"),
    (str(EXT), "an external concept"), (str(GRAPH), "a named graph"), (CASE_BASE, "another case"),
    (str(CP), "an ontology term"), (BASE, "a resource of the knowledge graph"))
#: Predicates that define or relate terms (besides every ``owl:`` and ``sh:`` predicate).
SCHEMA_PREDICATES: frozenset[str] = frozenset(str(p) for p in (
    RDFS.subClassOf, RDFS.subPropertyOf, RDFS.domain, RDFS.range, RDFS.isDefinedBy,
    RDF.subject, RDF.predicate, RDF.object,
    SKOS.inScheme, SKOS.topConceptOf, SKOS.hasTopConcept, SKOS.member, SKOS.memberList,
    SKOS.semanticRelation, SKOS.broader, SKOS.narrower, SKOS.broaderTransitive,
    SKOS.narrowerTransitive, SKOS.related, SKOS.mappingRelation, SKOS.exactMatch,
    SKOS.closeMatch, SKOS.broadMatch, SKOS.narrowMatch, SKOS.relatedMatch))
SCHEMA_NAMESPACES: tuple[str, ...] = (str(OWL), SH)
#: Classes whose instances are terms, schemes or concepts (besides every ``owl:``/``sh:`` one).
META_CLASSES: frozenset[str] = frozenset(str(c) for c in (
    RDFS.Class, RDFS.Datatype, RDF.Property, RDF.Statement, RDFS.ContainerMembershipProperty,
    SKOS.Concept, SKOS.ConceptScheme, SKOS.Collection, SKOS.OrderedCollection))


@dataclass(frozen=True)
class OntologyView:
    """What the checks need from the ontology graph, computed once per ontology."""

    key: int  #: identifies the ontology's triples
    triples: tuple[ox.Triple, ...]
    schema: Schema
    baseline: frozenset[ox.Triple]  #: the entailments of the ontology alone
    classes: frozenset[str]  #: the IRIs the ontology declares as classes
    meta: frozenset[str]  #: classes whose instances are terms or concepts
    kinds: dict[str, frozenset[str]]  #: mintable namespace -> classes its resources may get

    @classmethod
    def of(cls, triples: Sequence[ox.Triple]) -> OntologyView:
        """Read the ontology's triples."""
        graph = Graph()
        for t in triples:
            graph.add((to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)))
        schema = Schema.of(graph)
        declared = {str(c) for kind in (OWL.Class, RDFS.Class)
                    for c in graph.subjects(RDF.type, kind) if isinstance(c, URIRef)}
        declared |= {str(c) for c in schema.superclasses}
        meta = set(META_CLASSES) | {str(c) for c, ups in schema.superclasses.items()
                                    if any(str(u) in META_CLASSES or _schema_term(str(u))
                                           for u in ups)}
        kinds = {ns: frozenset(set(roots) | {str(u) for r in roots
                                             for u in schema.superclasses.get(URIRef(r), ())})
                 for ns, roots in KINDS.items()}
        return cls(hash(frozenset(triples)), tuple(triples), schema,
                   frozenset(entail(triples, schema)), frozenset(declared), frozenset(meta),
                   kinds)


def ontology_view(reader: GraphReader, cached: OntologyView | None) -> OntologyView | None:
    """The view of the stored ontology (``cached`` if the ontology is unchanged; None if none)."""
    triples = reader.graph_triples(str(ONTOLOGY_GRAPH))
    if not triples:
        return None
    if cached is not None and cached.key == hash(frozenset(triples)):
        return cached
    return OntologyView.of(triples)


def entailments(view: OntologyView, triples: Iterable[ox.Triple]) -> set[ox.Triple]:
    """What the rules derive from the ontology plus ``triples``, beyond the ontology alone."""
    data = list(triples)
    return entail([*view.triples, *data], view.schema) - view.baseline - set(data)


# --- single triples ---------------------------------------------------------------------------


def _schema_term(iri: str) -> bool:
    return iri.startswith(SCHEMA_NAMESPACES)


def what(iri: str) -> str:
    """What ``iri`` is, in words (for messages)."""
    for namespace, name in _KIND_NAMES.items():
        if iri.startswith(namespace):
            return (f"{name} this record does not describe" if mintable(iri) else
                    f"an IRI under {namespace} whose name is not a lower-case slug")
    return next((label for ns, label in _REFERENCED if iri.startswith(ns)),
                "a resource outside the namespaces a record may mint")


def mintable(iri: str) -> bool:
    """Whether a record may mint ``iri`` (an organisation, person or source with a slug)."""
    return any(iri.startswith(ns) and SLUG.fullmatch(iri[len(ns):]) is not None for ns in KINDS)


def is_part(iri: str, case: str) -> bool:
    """Whether ``iri`` is ``case`` or one of its parts (``case#part``)."""
    return iri == case or (iri.startswith(case + "#")
                           and FRAGMENT.fullmatch(iri[len(case) + 1:]) is not None)


def _iris(triple: ox.Triple) -> Iterable[str]:
    for term in (triple.subject, triple.predicate, triple.object):
        if isinstance(term, ox.NamedNode):
            yield term.value
        elif isinstance(term, ox.Literal):
            yield term.datatype.value


def _vocabulary_offence(triple: ox.Triple, meta: frozenset[str] = META_CLASSES,
                        classes: frozenset[str] | None = None) -> str | None:
    """Rule 3 for one triple: term-defining predicates, and what ``rdf:type`` may name."""
    predicate = triple.predicate.value
    if predicate in SCHEMA_PREDICATES or _schema_term(predicate):
        return (f"<{predicate}> defines or relates terms; a case record only describes its "
                "case")
    if predicate.startswith(BASE) and not predicate.startswith(str(CP)):
        return f"<{predicate}> is {what(predicate)}, not a property"
    if predicate != _TYPE:
        return None
    kind = triple.object
    if not isinstance(kind, ox.NamedNode):
        return "rdf:type must name a class by its IRI"
    if kind.value in meta or _schema_term(kind.value):
        return (f"typing with <{kind.value}> makes {triple.subject} a term, scheme or concept; "
                "a case record does not define them")
    if kind.value.startswith(BASE) and not kind.value.startswith(str(CP)):
        return f"<{kind.value}> is {what(kind.value)}, not a class"
    if classes is not None and kind.value.startswith(str(CP)) and kind.value not in classes:
        return f"<{kind.value}> is not a class of the ontology"
    return None


def _subject_offence(triple: ox.Triple, case: str) -> str | None:
    subject = triple.subject
    if not isinstance(subject, ox.NamedNode):
        return None if isinstance(subject, ox.BlankNode) else "a quoted triple as subject"
    iri = subject.value
    if is_part(iri, case) or mintable(iri):
        return None
    if iri.startswith(case + "#"):
        return (f"<{iri}> is a malformed part of the case: after # use letters, digits, - "
                "and _")
    return (f"describes <{iri}>, which is {what(iri)}; a record describes only {case}, its "
            f"parts ({case}#...) and the organisations, people and sources it mints")


def _spelling(iri: str) -> str | None:
    reason = iri_offence(iri)
    return None if reason is None else f"<{iri}>: {reason}"


def record_offences(triples: Iterable[ox.Triple], case: str) -> list[str]:
    """Rules 1-3 for every triple of a record (no store needed): refused triple + reason."""
    out: list[str] = []
    for triple in sorted(triples, key=str):
        reasons = [r for r in (*map(_spelling, _iris(triple)), _subject_offence(triple, case),
                               _vocabulary_offence(triple)) if r is not None]
        out.extend(f"{triple} . -- {reason}" for reason in dict.fromkeys(reasons))
    return out


def check_record(triples: Iterable[ox.Triple], case: str) -> None:
    """Raise :class:`OutsideCase` if a triple of the record breaks rules 1-3."""
    offences = record_offences(triples, case)
    if offences:
        raise OutsideCase(case, offences)


# --- against the store --------------------------------------------------------------------------


def _others(public: Sequence[str], case: str) -> list[str]:
    """The public graphs that are not this case's own (versions and their entailments)."""
    own = f"{CASE_GRAPH_BASE}{case_slug(case)}/"
    return [g for g in public if not g.startswith(own)]


def _already_held(reader: GraphReader, graphs: Sequence[str],
                  triples: Sequence[ox.Triple]) -> set[ox.Triple]:
    """Which of ``triples`` (without blank nodes) the union of ``graphs`` holds: ONE query."""
    ground = [t for t in triples if not isinstance(t.object, ox.BlankNode)]
    if not ground or not graphs:
        return set()
    values = " ".join(f"({t.subject} {t.predicate} {t.object})" for t in ground)
    rows = reader.select(f"SELECT ?s ?p ?o WHERE {{ VALUES (?s ?p ?o) {{ {values} }} "
                         "?s ?p ?o }", default_graphs=list(graphs))
    found = set()
    for row in rows:
        s, p, o = row["s"], row["p"], row["o"]
        if isinstance(s, ox.NamedNode) and isinstance(p, ox.NamedNode):
            found.add(ox.Triple(s, p, o))
    return found


def _kind_ok(triple: ox.Triple, view: OntologyView) -> bool:
    """A referenced organisation, person or source typed as what its namespace says it is."""
    subject, kind = triple.subject, triple.object
    if (triple.predicate.value != _TYPE or not isinstance(subject, ox.NamedNode)
            or not isinstance(kind, ox.NamedNode)):
        return False
    return any(subject.value.startswith(ns) and mintable(subject.value) and kind.value in classes
               for ns, classes in view.kinds.items())


def _cause(entailed: ox.Triple, triples: Sequence[ox.Triple], view: OntologyView) -> str:
    """The asserted triple an entailment most likely comes from (for the message)."""
    subject = entailed.subject
    causes = [t for t in triples if subject in (t.object, t.subject)]

    def weight(t: ox.Triple) -> int:  # prefer the property whose range gives the type
        prop = URIRef(t.predicate.value)
        props = {prop} | view.schema.superproperties.get(prop, set())
        ranges = {c for p in props for c in view.schema.ranges.get(p, ())}
        kinds = ranges | {u for c in ranges for u in view.schema.superclasses.get(c, ())}
        kind = entailed.object
        typed = isinstance(kind, ox.NamedNode) and URIRef(kind.value) in kinds
        return 0 if t.object == subject and typed else 1

    if not causes:
        return "entailed"
    return f"entailed from {min(causes, key=lambda t: (weight(t), str(t)))} ."


def confine(reader: GraphReader, public: Sequence[str], view: OntologyView | None,
            triples: Sequence[ox.Triple], case: str) -> set[str]:
    """Check a record against rules 1-4; returns the IRIs it mints (new resources).

    Raises :class:`OutsideCase` naming every refused triple.
    """
    offences = record_offences(triples, case)
    minted = minted_by(triples)
    offences += taken_offences(reader, public, triples, case)
    if view is not None and not offences:
        offences += _class_offences(view, triples) + _entailment_offences(
            reader, public, view, triples, case, minted)
    if offences:
        raise OutsideCase(case, offences)
    return minted


def minted_by(triples: Iterable[ox.Triple]) -> set[str]:
    """The organisations, people and sources ``triples`` describe (as subjects)."""
    return {t.subject.value for t in triples
            if isinstance(t.subject, ox.NamedNode) and mintable(t.subject.value)}


def taken_offences(reader: GraphReader, public: Sequence[str],
                   triples: Sequence[ox.Triple], case: str) -> list[str]:
    """The triples describing a minted resource that another public graph already describes."""
    minted = minted_by(triples)
    taken = described_elsewhere(reader, public, minted, case) if minted else {}
    return [f"{t} . -- the record redefines <{t.subject.value}>, which "
            f"<{taken[t.subject.value]}> already describes; refer to it without describing it"
            for t in sorted(triples, key=str)
            if isinstance(t.subject, ox.NamedNode) and t.subject.value in taken]


def _class_offences(view: OntologyView, triples: Sequence[ox.Triple]) -> list[str]:
    out = []
    for triple in sorted(triples, key=str):
        reason = _vocabulary_offence(triple, view.meta, view.classes)
        if reason is not None:
            out.append(f"{triple} . -- {reason}")
    return out


def _entailment_offences(reader: GraphReader, public: Sequence[str], view: OntologyView,
                         triples: Sequence[ox.Triple], case: str, minted: set[str]) -> list[str]:
    """Rule 4: what the record entails stays within what it may describe."""
    out: list[str] = []
    outside: list[ox.Triple] = []
    for triple in sorted(entailments(view, triples), key=str):
        reason = _vocabulary_offence(triple, view.meta)
        if reason is not None:
            out.append(f"{triple} . ({_cause(triple, triples, view)}) -- {reason}")
            continue
        subject = triple.subject
        own = isinstance(subject, ox.BlankNode) or (
            isinstance(subject, ox.NamedNode)
            and (is_part(subject.value, case) or subject.value in minted))
        if not own and not _kind_ok(triple, view):
            outside.append(triple)
    held = _already_held(reader, _others(public, case), outside)
    for triple in outside:
        if triple not in held:
            subject = triple.subject
            about = (f"<{subject.value}>, which is {what(subject.value)}"
                     if isinstance(subject, ox.NamedNode) else str(subject))
            out.append(f"{triple} . ({_cause(triple, triples, view)}) -- this would say something "
                       f"new about {about}")
    return out
