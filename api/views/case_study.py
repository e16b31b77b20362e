"""A case page that reads like a case study: header card, coded claims with their evidence,
participations, what the sources report (trajectory, participants, funding, activities, measured
outcomes), outcomes, primary documents, sources, versions.

A few SELECT queries over the public graphs; labels are picked in the reader's language. The raw
triples stay on the page (folded), from :mod:`api.views.resource_view`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from coprod_kg.errors import NotFound
from coprod_kg.rdf.namespaces import CITO, CP, PREFIXES
from coprod_kg.storage.rows import Row, select
from coprod_kg.storage.store import KnowledgeStore

from .facets import ILLUSTRATION
from .i18n import pick
from .linked_data import check_iri

_P = "\n".join(f"PREFIX {p}: <{iri}>" for p, iri in PREFIXES.items()) + "\n"
RDF_TYPE = PREFIXES["rdf"] + "type"
#: Properties of a coding that carry its evidence, not its claim.
EVIDENCE = {str(CP[n]) for n in ("evidenceSource", "locator", "quote", "evidenceBasis",
                                 "rationale")} | {RDF_TYPE, str(CITO.citesAsEvidence)}
#: Claim dimensions in reading order (others follow by label).
DIMENSION_ORDER = [str(CP[n]) for n in (
    "trajectory", "level", "phase", "relationType", "clientTask", "actsThrough", "timeDimension",
    "innovationType", "meetsCriterion", "reportedOutcome", "reportedRisk", "participantCount",
    "activity", "funding", "measuredOutcome")]
OUTCOMES = {str(CP["reportedOutcome"]), str(CP["reportedRisk"])}
#: The facts beyond the typology that case databases record, in the order the page lists them.
FACTS = [str(CP[n]) for n in ("trajectory", "participantCount", "funding", "activity",
                              "measuredOutcome")]
_LABEL_CHUNK = 300


@dataclass(frozen=True)
class Link:
    """A resource to link to, with its label (``iri`` empty for plain text)."""

    text: str
    iri: str = ""
    note: str = ""


@dataclass
class Claim:
    """One coding: its dimensions and values, and the evidence it rests on."""

    anchor: str
    dimensions: list[tuple[Link, list[Link]]]
    basis: Link | None
    source: Link | None
    locator: str
    quote: str
    quote_lang: str
    rationale: str


@dataclass
class SourceRef:
    """A source of the case, as a reference with its DOI."""

    iri: str
    text: str
    doi: str = ""


@dataclass
class Version:
    """One published version of the case (from the public provenance graph)."""

    number: int
    issued: str
    graph: str


@dataclass
class CaseStudy:
    """Everything the case page shows above the raw triples."""

    iri: str
    title: str
    description: str
    illustration: bool
    country: Link | None = None
    place: str = ""
    start: str = ""
    end: str = ""
    ongoing: bool = False
    service: str = ""
    service_kinds: list[Link] = field(default_factory=list)
    service_fields: list[Link] = field(default_factory=list)
    providers: list[tuple[Link, list[Link]]] = field(default_factory=list)
    participants: list[tuple[Link, str]] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    outcomes: list[tuple[Link, Link, Claim]] = field(default_factory=list)
    facts: list[tuple[Link, Link, Claim]] = field(default_factory=list)
    primary_documents: list[Link] = field(default_factory=list)
    sources: list[SourceRef] = field(default_factory=list)
    versions: list[Version] = field(default_factory=list)
    illustrates: list[Link] = field(default_factory=list)


def _by_lang(rows: Iterable[Row], var: str) -> dict[str, str]:
    return {r[var].lang: r[var].value for r in rows if var in r}


def labels(store: KnowledgeStore, iris: Iterable[str]) -> dict[str, dict[str, str]]:
    """Every label (``skos:prefLabel`` first, then ``rdfs:label``, names) of ``iris``, by
    language."""
    found: dict[str, dict[str, str]] = {}
    ordered = sorted({i for i in iris if i.startswith(("http://", "https://"))})
    for start in range(0, len(ordered), _LABEL_CHUNK):
        chunk = " ".join(f"<{check_iri(i)}>" for i in ordered[start:start + _LABEL_CHUNK])
        rows = select(store, _P + f"SELECT ?x ?p ?l WHERE {{ VALUES ?x {{ {chunk} }} "
                      "VALUES ?p { skos:prefLabel rdfs:label foaf:name org:name dcterms:title } "
                      "?x ?p ?l }")
        rank = {PREFIXES["skos"] + "prefLabel": 0, PREFIXES["rdfs"] + "label": 1}
        for row in sorted(rows, key=lambda r: rank.get(r["p"].value, 2)):
            found.setdefault(row["x"].value, {}).setdefault(row["l"].lang, row["l"].value)
    return found


def _in_one_language(literals: list[Row], lang: str) -> list[str]:
    """The texts of ``literals`` (rows with ``?o``) in one language, the reader's if there are
    any, else English, else the first found; numbers and untagged texts always."""
    tags = {r["o"].lang for r in literals if r["o"].lang}
    chosen = next((t for t in (lang, "en") if t in tags), min(tags) if tags else "")
    return sorted(r["o"].value for r in literals if r["o"].lang in ("", chosen))


def _dimension_name(text: str) -> str:
    return re.sub(r"^has ", "", text)


def references(store: KnowledgeStore, iris: Iterable[str]) -> dict[str, SourceRef]:
    """The reference text and DOI of each source IRI (its ``dcterms:bibliographicCitation``,
    else its title)."""
    wanted = sorted(set(iris))
    if not wanted:
        return {}
    values = " ".join(f"<{check_iri(i)}>" for i in wanted)
    rows = select(store, _P + "SELECT ?s (SAMPLE(?c) AS ?citation) (SAMPLE(?t) AS ?title) "
                  "(SAMPLE(?l) AS ?label) (SAMPLE(?d) AS ?doi) WHERE { "
                  f"VALUES ?s {{ {values} }} OPTIONAL {{ ?s dcterms:bibliographicCitation ?c }} "
                  "OPTIONAL { ?s dcterms:title ?t } OPTIONAL { ?s rdfs:label ?l } "
                  "OPTIONAL { ?s bibo:doi ?d } } GROUP BY ?s")
    out = {}
    for row in rows:
        iri = row["s"].value
        text = next((row[v].value for v in ("citation", "title", "label") if v in row), iri)
        out[iri] = SourceRef(iri, text, row["doi"].value if "doi" in row else "")
    return out


def case_study(store: KnowledgeStore, iri: str, lang: str = "en") -> CaseStudy:
    """The case study view of case ``iri``; 404 when it is not a published case."""
    check_iri(iri)
    head = select(store, _P + f"SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }}")
    types = {r["o"].value for r in head if r["p"].value == RDF_TYPE}
    if str(CP["CoProductionCase"]) not in types:
        raise NotFound(f"{iri} is not a published case")
    by_prop: dict[str, list[Row]] = {}
    for row in head:
        by_prop.setdefault(row["p"].value.rsplit("/", 1)[-1], []).append(row)
    service_rows = select(store, _P + "SELECT ?s ?p ?o WHERE { "
                          f"<{iri}> cp:service ?s . ?s ?p ?o }}")
    coding_rows = select(store, _P + "SELECT ?c ?p ?o WHERE { "
                         f"<{iri}> cp:hasCoding ?c . ?c ?p ?o }}")
    provider_rows = select(store, _P + "SELECT ?org ?sector ?form WHERE { "
                           f"<{iri}> cp:provider ?org . OPTIONAL {{ ?org cp:sector ?sector }} "
                           "OPTIONAL { ?org cp:legalForm ?form } }")
    participation_rows = select(store, _P + "SELECT ?pa ?role ?who WHERE { "
                                f"<{iri}> cv:hasParticipation ?pa . "
                                "OPTIONAL { ?pa cv:role ?role } "
                                "OPTIONAL { ?pa cv:hasParticipant ?who } }")
    service_class_rows = select(store, _P + "SELECT DISTINCT ?k WHERE { "
                                f"<{iri}> cp:service/rdf:type ?k . ?k rdfs:subClassOf+ cp:Service "
                                "FILTER NOT EXISTS { "
                                f"<{iri}> cp:service/rdf:type ?narrower . "
                                "?narrower rdfs:subClassOf+ ?k FILTER(?narrower != ?k) } }")
    version_rows = select(store, _P + "SELECT ?v ?issued WHERE { "
                          f"?v prov:specializationOf <{iri}> . "
                          "OPTIONAL { ?v dcterms:issued ?issued } }")

    iris: set[str] = set()
    for rows in (head, service_rows, coding_rows, provider_rows, participation_rows,
                 service_class_rows):
        for row in rows:
            iris.update(t.value for t in row.values() if t.is_iri)
    names = labels(store, iris)

    def link(target: str, note: str = "") -> Link:
        found = names.get(target)
        text = pick(found, lang) if found else target.rsplit("/", 1)[-1].rsplit("#", 1)[-1]
        return Link(text, target, note)

    def text_of(prop: str) -> str:
        return pick(_by_lang(by_prop.get(prop, []), "o"), lang)

    study = CaseStudy(iri, text_of("title") or iri.rsplit("/", 1)[-1], text_of("description"),
                      ILLUSTRATION in types)
    if by_prop.get("country"):
        study.country = link(by_prop["country"][0]["o"].value)
    study.place = text_of("placeName")
    study.start = min((r["o"].value for r in by_prop.get("startDate", [])), default="")
    study.end = max((r["o"].value for r in by_prop.get("endDate", [])), default="")
    study.ongoing = any(r["o"].value in ("true", "1") for r in by_prop.get("ongoing", []))
    study.illustrates = [link(r["o"].value) for r in by_prop.get("illustrates", [])]
    service_labels = {r["o"].lang: r["o"].value for r in service_rows
                      if r["p"].value.endswith(("#label", "prefLabel"))}
    study.service = pick(service_labels, lang)
    study.service_kinds = [link(r["k"].value) for r in service_class_rows]
    study.service_fields = [link(r["o"].value) for r in service_rows
                            if r["p"].value == str(CP["serviceField"])]
    providers: dict[str, list[Link]] = {}
    for row in provider_rows:
        extras = providers.setdefault(row["org"].value, [])
        for var in ("sector", "form"):
            if var in row and all(e.iri != row[var].value for e in extras):
                extras.append(link(row[var].value))
    study.providers = [(link(org), extras) for org, extras in providers.items()]
    study.participants = [(link(r["role"].value) if "role" in r else Link(""),
                           link(r["who"].value).text if "who" in r else "")
                          for r in sorted(participation_rows, key=lambda r: r["pa"].value)]
    study.primary_documents = [Link(r["o"].value, r["o"].value)
                               for r in sorted(by_prop.get("primaryDocument", []),
                                               key=lambda r: r["o"].value) if r["o"].is_iri]
    study.claims = _claims(coding_rows, link, lang)
    for claim in study.claims:
        for dimension, values in claim.dimensions:
            if dimension.iri in OUTCOMES:
                study.outcomes.extend((dimension, value, claim) for value in values)
    order = {p: i for i, p in enumerate(FACTS)}
    study.facts = sorted(((dimension, value, claim) for claim in study.claims
                          for dimension, values in claim.dimensions
                          if dimension.iri in order for value in values),
                         key=lambda f: order[f[0].iri])
    cited = {r["o"].value for r in head if r["p"].value == str(CITO.citesAsEvidence)}
    cited |= {c.source.iri for c in study.claims if c.source}
    refs = references(store, cited)
    study.sources = sorted(refs.values(), key=lambda s: s.text.lower())
    for claim in study.claims:
        if claim.source and claim.source.iri in refs:
            claim.source = Link(refs[claim.source.iri].text, claim.source.iri)
    study.versions = sorted(
        (Version(int(m.group(1)), r["issued"].value if "issued" in r else "", r["v"].value)
         for r in version_rows if (m := re.search(r"/v(\d+)$", r["v"].value))),
        key=lambda v: v.number)
    return study


def _claims(rows: list[Row], make: Callable[[str], Link], lang: str) -> list[Claim]:
    by_coding: dict[str, list[Row]] = {}
    for row in rows:
        by_coding.setdefault(row["c"].value, []).append(row)
    claims = []
    for coding, found in by_coding.items():
        dims: dict[str, list[Link]] = {}
        texts: dict[str, list[Row]] = {}
        evidence: dict[str, list[Row]] = {}
        for row in found:
            prop = row["p"].value
            if prop in EVIDENCE:
                evidence.setdefault(prop.rsplit("/", 1)[-1], []).append(row)
            elif row["o"].is_iri:
                dims.setdefault(prop, []).append(make(row["o"].value))
            else:
                texts.setdefault(prop, []).append(row)
        for prop, literals in texts.items():
            dims.setdefault(prop, []).extend(Link(v) for v in _in_one_language(literals, lang))
        order = {p: i for i, p in enumerate(DIMENSION_ORDER)}
        dimensions = [(Link(_dimension_name(make(p).text), p), sorted(v, key=lambda x: x.text))
                      for p, v in sorted(dims.items(),
                                         key=lambda kv: (order.get(kv[0], 99), kv[0]))]
        quotes = evidence.get("quote", [])
        quote = next((r["o"] for r in quotes if r["o"].lang == lang), None) or next(
            (r["o"] for r in quotes), None)
        claims.append(Claim(
            anchor=coding.rsplit("#", 1)[-1] if "#" in coding else "",
            dimensions=dimensions,
            basis=make(evidence["evidenceBasis"][0]["o"].value)
            if evidence.get("evidenceBasis") else None,
            source=Link(evidence["evidenceSource"][0]["o"].value,
                        evidence["evidenceSource"][0]["o"].value)
            if evidence.get("evidenceSource") else None,
            locator="; ".join(r["o"].value for r in evidence.get("locator", [])),
            quote=quote.value if quote else "", quote_lang=quote.lang if quote else "",
            rationale=pick(_by_lang(evidence.get("rationale", []), "o"), lang)))
    claims.sort(key=lambda c: [int(p) if p.isdigit() else p
                               for p in re.split(r"(\d+)", c.anchor)])
    return claims
