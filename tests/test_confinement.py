"""A submission describes its own case and nothing else (issue 9): every injection is a 422
naming the triple, over HTTP, in Turtle, JSON-LD and RDF/XML; entailments are checked and shown
to the curator; accepting a legitimate record changes nothing outside its own graphs."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from http_helpers import CASE_BASE, TURTLE, Users, bearer, client_for, record, writable_store
from rdflib import Graph

from coprod_kg.config import PROJECT_ROOT, Settings
from coprod_kg.curation.iris import canonical_iri, iri_offence

RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
OWL = "http://www.w3.org/2002/07/owl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
CP = "https://w3id.org/coprod/ontology/"
ALICE_AGENT = "https://w3id.org/coprod/agent/alice"
OTHER_CASE = "https://w3id.org/coprod/case/fixmystreet"
LEVELS = "https://w3id.org/coprod/scheme/levels"


# --- canonical IRIs (no store) -------------------------------------------------------------

@pytest.mark.parametrize(("given", "canonical"), [
    ("HTTPS://w3id.org/coprod/case/x", "https://w3id.org/coprod/case/x"),
    ("Https://w3id.org/coprod/case/x", "https://w3id.org/coprod/case/x"),
    ("https://W3ID.ORG/coprod/case/x", "https://w3id.org/coprod/case/x"),
    ("https://w3id.org:443/coprod/case/x", "https://w3id.org/coprod/case/x"),
    ("http://w3id.org:80/coprod/case/x", "http://w3id.org/coprod/case/x"),
    ("https://w3id.org./coprod/case/x", "https://w3id.org/coprod/case/x"),
    ("https://w3id.org/coprod/./case/x", "https://w3id.org/coprod/case/x"),
    ("https://w3id.org/coprod/y/../case/x", "https://w3id.org/coprod/case/x"),
    ("https://w3id.org/coprod/case/x/..", "https://w3id.org/coprod/case/"),
    ("https://w3id.org/coprod/case/%78", "https://w3id.org/coprod/case/x"),
    ("https://w3id.org/coprod/%63ase/x", "https://w3id.org/coprod/case/x"),
    ("https://w3id.org/coprod/case/x#%2e%2e", "https://w3id.org/coprod/case/x#.."),
    ("https://example.org/a%2fb", "https://example.org/a%2Fb"),
])
def test_non_canonical_spellings_are_named_with_their_canonical_form(given: str,
                                                                     canonical: str) -> None:
    assert canonical_iri(given) == canonical
    reason = iri_offence(given)
    assert reason is not None and f"<{canonical}>" in reason


@pytest.mark.parametrize("iri", [
    "https://w3id.org/coprod/case/x", "https://w3id.org/coprod/case/x#coding-1",
    "https://creativecommons.org/licenses/by/4.0/", "urn:isbn:0-486-27557-4",
    "https://doi.org/10.1002/%28SICI%291097", "http://example.org:8080/a?b=c#d",
])
def test_canonical_iris_pass(iri: str) -> None:
    assert iri_offence(iri) is None


def test_our_iris_take_no_percent_encoding() -> None:
    assert iri_offence("https://w3id.org/coprod/case/fixmystreet%23service") is not None


# --- the world: a private store and its accounts ------------------------------------------

class World:
    def __init__(self, client: TestClient, users: Users) -> None:
        self.client = client
        self.users = users

    def post(self, body: bytes, media_type: str = "text/turtle",
             token: str | None = None) -> tuple[int, dict[str, object]]:
        response = self.client.post("/submissions", content=body, headers=bearer(
            token or self.users.alice, **{"Content-Type": media_type}))
        return response.status_code, response.json()

    def exists(self, slug: str) -> bool:
        response = self.client.get(f"/cases/{slug}", headers=bearer(self.users.curator))
        assert response.status_code in (200, 404), response.text
        return response.status_code == 200

    def accept(self, slug: str, number: int) -> tuple[int, dict[str, object]]:
        response = self.client.post(f"/submissions/{slug}/{number}/accept",
                                    headers=bearer(self.users.curator))
        return response.status_code, response.json()


@pytest.fixture(scope="module")
def world(real_store: Path, settings_for: Callable[..., Settings],
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    store = writable_store(real_store, tmp_path_factory.mktemp("confinement") / "store")
    users = Users.make(store)
    with client_for(settings_for(store)) as client:
        yield World(client, users)


def _turtle(slug: str, extra: str) -> bytes:
    return record(slug) + b"\n" + extra.format(case=CASE_BASE + slug).encode("utf-8")


def _with_case_spelled(slug: str, spelling: str) -> bytes:
    return record(slug).replace(b"@prefix case:    <https://w3id.org/coprod/case/>",
                                f"@prefix case:    <{spelling}>".encode())


def _jsonld(slug: str, nodes: list[dict[str, object]]) -> bytes:
    document = json.loads(Graph().parse(data=record(slug), format="turtle")
                          .serialize(format="json-ld"))
    listed = document if isinstance(document, list) else document["@graph"]
    text = json.dumps([*listed, *nodes]).replace("{case}", CASE_BASE + slug)
    return text.encode("utf-8")


def _rdfxml(slug: str, element: str) -> bytes:
    document = Graph().parse(data=record(slug), format="turtle").serialize(format="xml")
    inserted = element.format(case=CASE_BASE + slug)
    return document.replace("</rdf:RDF>", inserted + "\n</rdf:RDF>").encode("utf-8")


_NS = ('xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
       'xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#" '
       f'xmlns:skos="{SKOS}" xmlns:cp="{CP}" xmlns:ex="http://example.org/"')

#: (name, builder(slug) -> (body, media type), text the refusal must contain: the triple).
Injection = tuple[str, Callable[[str], tuple[bytes, str]], str]
T = "text/turtle"
J = "application/ld+json"
X = "application/rdf+xml"

INJECTIONS: list[Injection] = [
    # relabel an account holder's agent
    ("agent-label", lambda s: (_turtle(s, f'<{ALICE_AGENT}> rdfs:label "Mallory"@en .'), T),
     f'<{ALICE_AGENT}> {LABEL} "Mallory"@en'),
    ("agent-editors-name", lambda s: (_turtle(
        s, '<https://w3id.org/coprod/agent/coprod-kg-editors> '
           '<http://xmlns.com/foaf/0.1/name> "pwned" .'), T),
     '<https://w3id.org/coprod/agent/coprod-kg-editors> <http://xmlns.com/foaf/0.1/name> '
     '"pwned"'),
    ("agent-by-base", lambda s: (_turtle(
        s, "@base <https://w3id.org/coprod/agent/> .\n<carol> a cp:Curator ."), T),
     f"<https://w3id.org/coprod/agent/carol> {RDF_TYPE} <{CP}Curator>"),
    ("agent-dot-segments", lambda s: (_turtle(
        s, '<{case}/../../agent/alice> rdfs:label "Mallory"@en .'), T),
     "/../../agent/alice>"),
    ("agent-same-as-blank", lambda s: (_turtle(
        s, f'[] <{OWL}sameAs> <{ALICE_AGENT}> ; rdfs:label "Mallory"@en .'), T),
     f"<{OWL}sameAs> <{ALICE_AGENT}>"),
    ("agent-reified", lambda s: (_turtle(
        s, f'[] <http://www.w3.org/1999/02/22-rdf-syntax-ns#subject> <{ALICE_AGENT}> ; '
           '<http://www.w3.org/1999/02/22-rdf-syntax-ns#predicate> rdfs:label ; '
           '<http://www.w3.org/1999/02/22-rdf-syntax-ns#object> "Mallory" .'), T),
     f"<http://www.w3.org/1999/02/22-rdf-syntax-ns#subject> <{ALICE_AGENT}>"),
    ("agent-typed-by-range", lambda s: (_turtle(
        s, f"<{{case}}#coding-1> cp:isNewTo <{ALICE_AGENT}> ."), T),
     f"<{ALICE_AGENT}> {RDF_TYPE} <{CP}Organisation>"),
    ("agent-jsonld", lambda s: (_jsonld(s, [
        {"@id": ALICE_AGENT, "http://www.w3.org/2000/01/rdf-schema#label": "Mallory"}]), J),
     f'<{ALICE_AGENT}> {LABEL} "Mallory"'),
    ("agent-jsonld-reverse", lambda s: (_jsonld(s, [
        {"@id": "{case}", "@reverse": {"http://www.w3.org/2000/01/rdf-schema#seeAlso": {
            "@id": ALICE_AGENT}}}]), J),
     f"<{ALICE_AGENT}> <http://www.w3.org/2000/01/rdf-schema#seeAlso>"),
    ("agent-jsonld-base", lambda s: (_jsonld(s, [
        {"@context": {"@base": "https://w3id.org/coprod/agent/"}, "@id": "alice",
         "http://www.w3.org/2000/01/rdf-schema#label": "Mallory"}]), J),
     f'<{ALICE_AGENT}> {LABEL} "Mallory"'),
    ("agent-rdfxml", lambda s: (_rdfxml(
        s, f'<rdf:Description {_NS} rdf:about="{ALICE_AGENT}">'
           '<rdfs:label>Mallory</rdfs:label></rdf:Description>'), X),
     f'<{ALICE_AGENT}> {LABEL} "Mallory"'),
    # add a class under cp:
    ("class-declared", lambda s: (_turtle(
        s, f"cp:Evil a <{OWL}Class> ; rdfs:subClassOf cp:CoProductionCase ."), T),
     f"<{CP}Evil> {RDF_TYPE} <{OWL}Class>"),
    ("class-own-subclass", lambda s: (_turtle(
        s, "<{case}#evil> rdfs:subClassOf cp:CoProductionCase ."), T),
     "#evil> <http://www.w3.org/2000/01/rdf-schema#subClassOf>"),
    ("class-own-rdfs-class", lambda s: (_turtle(
        s, "<{case}#evil> a rdfs:Class ."), T),
     f"#evil> {RDF_TYPE} <http://www.w3.org/2000/01/rdf-schema#Class>"),
    ("class-equivalent", lambda s: (_turtle(
        s, f"<{{case}}#evil> <{OWL}equivalentClass> cp:Organisation ."), T),
     f"#evil> <{OWL}equivalentClass> <{CP}Organisation>"),
    ("class-relabel-term", lambda s: (_turtle(
        s, 'cp:CoProductionCase rdfs:label "hijacked"@en .'), T),
     f'<{CP}CoProductionCase> {LABEL} "hijacked"@en'),
    ("class-dot-segment", lambda s: (_turtle(
        s, f"<{CP}../ontology/Evil> a <{OWL}Class> ."), T),
     f"<{CP}../ontology/Evil>"),
    ("class-blank-intersection", lambda s: (_turtle(
        s, f"[ <{OWL}intersectionOf> ( cp:Coding cp:Organisation ) ] "
           "rdfs:subClassOf cp:Agent ."), T),
     f"<{OWL}intersectionOf>"),
    ("class-subproperty", lambda s: (_turtle(
        s, f"<{{case}}#p> rdfs:subPropertyOf <{SKOS}inScheme> ."), T),
     "#p> <http://www.w3.org/2000/01/rdf-schema#subPropertyOf>"),
    ("class-domain", lambda s: (_turtle(s, "<{case}#p> rdfs:domain cp:Coding ."), T),
     "#p> <http://www.w3.org/2000/01/rdf-schema#domain>"),
    ("class-jsonld", lambda s: (_jsonld(s, [
        {"@id": f"{CP}Evil", "@type": f"{OWL}Class"}]), J),
     f"<{CP}Evil> {RDF_TYPE} <{OWL}Class>"),
    ("class-rdfxml-base", lambda s: (_rdfxml(
        s, f'<rdf:Description {_NS} xml:base="{{case}}" rdf:about="../ontology/Evil">'
           f'<rdf:type rdf:resource="{OWL}Class"/></rdf:Description>'), X),
     f"<{CP}Evil> {RDF_TYPE} <{OWL}Class>"),
    # add a concept to an official scheme
    ("concept-minted", lambda s: (_turtle(
        s, f'<https://w3id.org/coprod/concept/evil-level> <{SKOS}inScheme> <{LEVELS}> .'), T),
     f"<https://w3id.org/coprod/concept/evil-level> <{SKOS}inScheme> <{LEVELS}>"),
    ("concept-own-in-scheme", lambda s: (_turtle(
        s, f"<{{case}}#level> <{SKOS}inScheme> <{LEVELS}> ."), T),
     f"#level> <{SKOS}inScheme> <{LEVELS}>"),
    ("concept-top-of-scheme", lambda s: (_turtle(
        s, f"<{LEVELS}> <{SKOS}hasTopConcept> <{{case}}#level> ."), T),
     f"<{LEVELS}> <{SKOS}hasTopConcept>"),
    ("concept-top-concept-of", lambda s: (_turtle(
        s, f"<{{case}}#level> <{SKOS}topConceptOf> <https://w3id.org/coprod/scheme/phases> ."),
        T), f"#level> <{SKOS}topConceptOf>"),
    ("concept-typed-level", lambda s: (_turtle(s, "<{case}#level> a cp:Level ."), T),
     f"#level> {RDF_TYPE} <{CP}Level>"),
    ("concept-broader", lambda s: (_turtle(
        s, f"<{{case}}#level> <{SKOS}broader> cpc:individual-level ."), T),
     f"#level> <{SKOS}broader>"),
    ("concept-blank", lambda s: (_turtle(
        s, f'[] <{SKOS}inScheme> <{LEVELS}> ; <{SKOS}prefLabel> "ghost"@en .'), T),
     f"<{SKOS}inScheme> <{LEVELS}>"),
    ("concept-by-range", lambda s: (_turtle(
        s, "<{case}#definition> cp:distinguishesFrom <{case}#level> ."), T),
     f"#level> {RDF_TYPE} <{SKOS}Concept>"),
    ("concept-on-minted-org", lambda s: (_turtle(
        s, f"organisation:{s}-org <{SKOS}inScheme> <{LEVELS}> ."), T),
     f"-org> <{SKOS}inScheme> <{LEVELS}>"),
    ("concept-jsonld-nested", lambda s: (_jsonld(s, [
        {"@id": "{case}", "http://example.org/p": {f"{SKOS}inScheme": {"@id": LEVELS}}}]), J),
     f"<{SKOS}inScheme> <{LEVELS}>"),
    ("concept-rdfxml-parse-type", lambda s: (_rdfxml(
        s, f'<rdf:Description {_NS} rdf:about="{{case}}"><ex:p rdf:parseType="Resource">'
           f'<skos:inScheme rdf:resource="{LEVELS}"/></ex:p></rdf:Description>'), X),
     f"<{SKOS}inScheme> <{LEVELS}>"),
    # type another published case (or a concept) through a range
    ("case-range-coding", lambda s: (_turtle(
        s, f"<{{case}}#coding-1> cp:isNewTo <{OTHER_CASE}> ."), T),
     f"<{OTHER_CASE}> {RDF_TYPE} <{CP}Organisation>"),
    ("case-range-blank", lambda s: (_turtle(s, f"[] cp:isNewTo <{OTHER_CASE}> ."), T),
     f"<{OTHER_CASE}> {RDF_TYPE} <{CP}Organisation>"),
    ("case-range-case", lambda s: (_turtle(
        s, "<{case}> cp:isNewTo <https://w3id.org/coprod/case/orangi-pilot-project> ."), T),
     f"<https://w3id.org/coprod/case/orangi-pilot-project> {RDF_TYPE} <{CP}Organisation>"),
    ("concept-typed-by-range", lambda s: (_turtle(
        s, "<{case}#coding-1> cp:statedMotive cpc:individual-level ."), T),
     f"<https://w3id.org/coprod/concept/individual-level> {RDF_TYPE} <{CP}GovernmentMotive>"),
    ("case-typed-directly", lambda s: (_turtle(s, f"<{OTHER_CASE}> a cp:Organisation ."), T),
     f"<{OTHER_CASE}> {RDF_TYPE} <{CP}Organisation>"),
    ("case-part", lambda s: (_turtle(
        s, f'<{OTHER_CASE}#service> rdfs:label "renamed"@en .'), T),
     f'<{OTHER_CASE}#service> {LABEL} "renamed"@en'),
    ("case-range-jsonld", lambda s: (_jsonld(s, [
        {"@id": "{case}#coding-1", f"{CP}isNewTo": {"@id": OTHER_CASE}}]), J),
     f"<{OTHER_CASE}> {RDF_TYPE} <{CP}Organisation>"),
    ("case-range-rdfxml", lambda s: (_rdfxml(
        s, f'<rdf:Description {_NS} rdf:about="{{case}}#coding-1">'
           f'<cp:isNewTo rdf:resource="{OTHER_CASE}"/></rdf:Description>'), X),
     f"<{OTHER_CASE}> {RDF_TYPE} <{CP}Organisation>"),
    # spellings of the case IRI (and of another case's)
    ("case-upper-scheme", lambda s: (_with_case_spelled(s, "HTTPS://w3id.org/coprod/case/"), T),
     "<HTTPS://w3id.org/coprod/case/"),
    ("case-mixed-scheme", lambda s: (_with_case_spelled(s, "Https://w3id.org/coprod/case/"), T),
     "<Https://w3id.org/coprod/case/"),
    ("case-upper-host", lambda s: (_with_case_spelled(s, "https://W3ID.ORG/coprod/case/"), T),
     "<https://W3ID.ORG/coprod/case/"),
    ("case-default-port", lambda s: (
        _with_case_spelled(s, "https://w3id.org:443/coprod/case/"), T),
     "<https://w3id.org:443/coprod/case/"),
    ("case-dot-segment", lambda s: (
        _with_case_spelled(s, "https://w3id.org/coprod/x/../case/"), T),
     "<https://w3id.org/coprod/x/../case/"),
    ("case-dot", lambda s: (_with_case_spelled(s, "https://w3id.org/coprod/case/./"), T),
     "<https://w3id.org/coprod/case/./"),
    ("case-percent", lambda s: (_with_case_spelled(s, "https://w3id.org/coprod/%63ase/"), T),
     "<https://w3id.org/coprod/%63ase/"),
    ("other-case-upper", lambda s: (_turtle(
        s, '<HTTPS://w3id.org/coprod/case/fixmystreet> dcterms:title "hijacked"@en .'), T),
     '<HTTPS://w3id.org/coprod/case/fixmystreet> <http://purl.org/dc/terms/title> '
     '"hijacked"@en'),
    ("other-case-percent-hash", lambda s: (_turtle(
        s, '<https://w3id.org/coprod/case/fixmystreet%23service> rdfs:label "x"@en .'), T),
     "<https://w3id.org/coprod/case/fixmystreet%23service>"),
    ("own-part-dots", lambda s: (_turtle(s, '<{case}#%2E%2E> rdfs:label "x"@en .'), T),
     "#%2E%2E>"),
    ("own-part-path", lambda s: (_turtle(
        s, '<{case}#a/../../fixmystreet> rdfs:label "x"@en .'), T),
     "#a/../../fixmystreet>"),
    ("other-case-jsonld-upper", lambda s: (_jsonld(s, [
        {"@id": "HTTPS://W3ID.ORG/coprod/case/fixmystreet",
         "http://purl.org/dc/terms/title": "x"}]), J),
     "<HTTPS://W3ID.ORG/coprod/case/fixmystreet>"),
    ("other-case-rdfxml-upper", lambda s: (_rdfxml(
        s, f'<rdf:Description {_NS} rdf:about="HTTPS://w3id.org/coprod/case/fixmystreet">'
           '<rdfs:label>x</rdfs:label></rdf:Description>'), X),
     # the RDF/XML parser lower-cases the scheme: then it is plainly another case
     f'<{OTHER_CASE}> {LABEL} "x"'),
    # redescribe what another record owns
    ("redescribe-organisation", lambda s: (_turtle(
        s, 'organisation:orangi-pilot-project rdfs:label "renamed"@en .'), T),
     '<https://w3id.org/coprod/organisation/orangi-pilot-project> '
     f'{LABEL} "renamed"@en'),
    ("redescribe-source", lambda s: (_turtle(
        s, "src:pestoff-2015 rdfs:seeAlso <https://example.org/elsewhere> ."), T),
     "<https://w3id.org/coprod/source/pestoff-2015> "
     "<http://www.w3.org/2000/01/rdf-schema#seeAlso>"),
    ("outside-namespace", lambda s: (_turtle(
        s, '<https://example.org/thing> rdfs:label "x"@en .'), T),
     f'<https://example.org/thing> {LABEL} "x"@en'),
]


@pytest.mark.parametrize(("name", "build", "named"), INJECTIONS, ids=[i[0] for i in INJECTIONS])
def test_injections_are_refused_naming_the_triple(world: World, name: str,
                                                  build: Callable[[str], tuple[bytes, str]],
                                                  named: str) -> None:
    slug = f"inject-{name}"
    body, media_type = build(slug)
    status, answer = world.post(body, media_type)
    assert status == 422, answer
    assert answer["error"] == "OutsideCase", answer
    assert named in str(answer["message"]), answer["message"]
    triples = answer["triples"]
    assert isinstance(triples, list) and any(named in line for line in triples)
    assert not world.exists(slug)


@pytest.mark.parametrize("media_type", [T, J, X])
def test_the_same_record_in_every_syntax_is_accepted(world: World, media_type: str) -> None:
    slug = f"plain-{media_type.split('/')[1].split('+')[0]}"
    body = {T: lambda: record(slug), J: lambda: _jsonld(slug, []),
            X: lambda: _rdfxml(slug, "")}[media_type]()
    status, answer = world.post(body, media_type)
    assert status == 201, answer


def test_the_review_shows_entailed_triples(world: World) -> None:
    slug = "entailed-shown"
    status, _ = world.post(record(slug))
    assert status == 201
    page = world.client.get(f"/submissions/{slug}/1",
                            headers=bearer(world.users.curator, Accept="text/html"))
    assert page.status_code == 200
    text = page.text
    assert "Entailed: added" in text
    entailed = text[text.index("Entailed: added"):]
    # the minted organisation is an agent by the ontology's hierarchy: entailed, not asserted
    assert f"{slug}-org" in entailed and "cp:Agent" in entailed
    data = world.client.get(f"/submissions/{slug}/1",
                            headers=bearer(world.users.curator, Accept="application/json"))
    assert data.status_code == 200
    diff = data.json()["diff"]
    assert any(f"{slug}-org" in line and "Agent" in line for line in diff["entailed_added"])
    assert "Agent" in diff["entailed_added_turtle"]


def test_a_minted_organisation_belongs_to_the_first_accepted_case(world: World) -> None:
    shared = 'organisation:shared-new-org a cp:Organisation ; rdfs:label "Shared"@en ; ' \
             "cp:sector cpc:third-sector ."
    first, second = "mint-first", "mint-second"
    assert world.post(_turtle(first, shared))[0] == 201
    assert world.post(_turtle(second, shared), token=world.users.bob)[0] == 201
    assert world.accept(first, 1)[0] == 200
    status, answer = world.accept(second, 1)
    assert status == 422 and answer["error"] == "OutsideCase"
    assert "<https://w3id.org/coprod/organisation/shared-new-org>" in str(answer["message"])
    assert "redefines" in str(answer["message"])
    # the owner may describe it again in its next version
    etag = world.client.get(f"/cases/{first}", headers=bearer(world.users.curator)
                            ).headers["etag"]
    revised = _turtle(first, shared.replace('"Shared"@en', '"Shared, renamed"@en'))
    response = world.client.put(f"/cases/{first}", content=revised, headers=bearer(
        world.users.alice, **TURTLE, **{"If-Match": etag}))
    assert response.status_code == 200, response.text
    assert world.accept(first, 2)[0] == 200


def test_every_bundled_and_example_record_passes(real_store: Path,
                                                 settings_for: Callable[..., Settings]) -> None:
    from coprod_kg.curation import Curation
    from coprod_kg.curation.prepare import prepare
    from coprod_kg.rdf.parsing import media_type_for

    files = [*sorted((PROJECT_ROOT / "data" / "cases").glob("*.ttl")),
             *sorted(p for p in (Path(__file__).parent / "data" / "valid").glob("*.ttl")
                     if p.name != "claim.ttl"),  # a claim of the paper, not a case record
             *sorted((Path(__file__).parent / "data" / "warnings").glob("*.ttl")),
             PROJECT_ROOT / "docs" / "example-case.json"]
    assert len(files) > 30
    service = Curation.open(settings_for(real_store), repair=False)
    try:
        for path in files:
            item = prepare(path.read_bytes(), media_type_for(path), str(path), None)
            service.confine(item.case, item.triples)  # raises OutsideCase naming the triple
    finally:
        service.close()


# --- the facts beyond the typology, on the submission's own nodes -------------------------

XSD = "http://www.w3.org/2001/XMLSchema#"
CPC = "https://w3id.org/coprod/concept/"
_QUOTE = ("Parent participation in cooperative or associative preschool services provides a good "
          "example.")
_FACTS_TTL = (
    '<{case}> cp:primaryDocument <https://example.org/reports/annual-2023.pdf> ; '
    "cp:hasCoding <{case}#coding-9> .\n"
    "<{case}#coding-9> a cp:Coding ; cp:trajectory cpc:discontinued ; "
    'cp:participantCount "350"^^xsd:integer ; cp:funding "A city grant."@en ; '
    'cp:activity "Parents cook."@en ; cp:measuredOutcome "Fewer complaints, by survey."@en ; '
    "cp:evidenceBasis cpc:stated-in-source ; cp:evidenceSource src:pestoff-2015 ; "
    f'cp:locator "section 4" ; cp:quote "{_QUOTE}"@en .')


def _facts_jsonld(slug: str) -> bytes:
    coding = "{case}#coding-9"
    return _jsonld(slug, [
        {"@id": "{case}", f"{CP}primaryDocument": {"@id": "https://example.org/reports/a.pdf"},
         f"{CP}hasCoding": {"@id": coding}},
        {"@id": coding, "@type": f"{CP}Coding", f"{CP}trajectory": {"@id": f"{CPC}failed"},
         f"{CP}participantCount": {"@value": "350", "@type": f"{XSD}integer"},
         f"{CP}funding": {"@value": "A city grant.", "@language": "en"},
         f"{CP}activity": {"@value": "Parents cook.", "@language": "en"},
         f"{CP}measuredOutcome": {"@value": "Fewer complaints.", "@language": "en"},
         f"{CP}evidenceBasis": {"@id": f"{CPC}stated-in-source"},
         f"{CP}evidenceSource": {"@id": "https://w3id.org/coprod/source/pestoff-2015"},
         f"{CP}locator": "section 4", f"{CP}quote": {"@value": _QUOTE, "@language": "en"}}])


def _facts_rdfxml(slug: str) -> bytes:
    return _rdfxml(slug, (
        f'<rdf:Description {_NS} rdf:about="{{case}}">'
        '<cp:primaryDocument rdf:resource="https://example.org/reports/a.pdf"/>'
        '<cp:hasCoding rdf:resource="{case}#coding-9"/></rdf:Description>'
        f'<rdf:Description {_NS} rdf:about="{{case}}#coding-9">'
        f'<rdf:type rdf:resource="{CP}Coding"/>'
        f'<cp:trajectory rdf:resource="{CPC}discouraged"/>'
        f'<cp:participantCount rdf:datatype="{XSD}integer">350</cp:participantCount>'
        '<cp:funding xml:lang="en">A city grant.</cp:funding>'
        '<cp:activity xml:lang="en">Parents cook.</cp:activity>'
        '<cp:measuredOutcome xml:lang="en">Fewer complaints.</cp:measuredOutcome>'
        f'<cp:evidenceBasis rdf:resource="{CPC}stated-in-source"/>'
        '<cp:evidenceSource rdf:resource="https://w3id.org/coprod/source/pestoff-2015"/>'
        '<cp:locator>section 4</cp:locator>'
        f'<cp:quote xml:lang="en">{_QUOTE}</cp:quote></rdf:Description>'))


@pytest.mark.parametrize("media_type", [T, J, X])
def test_a_record_with_the_new_facts_on_its_own_codings_is_accepted(world: World,
                                                                     media_type: str) -> None:
    slug = f"facts-{media_type.split('/')[1].split('+')[0]}"
    body = {T: lambda: _turtle(slug, _FACTS_TTL), J: lambda: _facts_jsonld(slug),
            X: lambda: _facts_rdfxml(slug)}[media_type]()
    status, answer = world.post(body, media_type)
    assert status == 201, answer
    assert world.accept(slug, 1)[0] == 200
    page = world.client.get(f"/case/{slug}")
    assert page.status_code == 200
    assert "What the sources report" in page.text and "350" in page.text
    assert 'href="https://example.org/reports/' in page.text


@pytest.mark.parametrize(("name", "extra", "named"), [
    ("facts-on-another-coding",
     f"<{OTHER_CASE}#coding-1> cp:trajectory cpc:failed .", f"<{OTHER_CASE}#coding-1>"),
    ("document-on-another-case",
     f"<{OTHER_CASE}> cp:primaryDocument <https://example.org/x> .", f"<{OTHER_CASE}>"),
    ("count-on-another-case",
     f'<{OTHER_CASE}#coding-9> cp:participantCount "1"^^xsd:integer .',
     f"<{OTHER_CASE}#coding-9>"),
])
def test_the_new_facts_cannot_be_written_on_another_case(world: World, name: str, extra: str,
                                                          named: str) -> None:
    slug = f"inject-{name}"
    status, answer = world.post(_turtle(slug, extra.replace("{", "{{").replace("}", "}}")))
    assert status == 422, answer
    assert answer["error"] == "OutsideCase", answer
    assert named in str(answer["message"]), answer["message"]
    assert not world.exists(slug)
