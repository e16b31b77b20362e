"""Every IRI base, prefix and named-graph name the project uses, in one place."""

from __future__ import annotations

from typing import Final

from rdflib import Namespace

BASE: Final = "https://w3id.org/coprod/"

#: The ontology itself (an owl:Ontology) and the namespace of its classes and properties.
ONTOLOGY_IRI: Final = BASE + "ontology"
CP: Final = Namespace(BASE + "ontology/")
#: Concept schemes and their concepts (typologies).
CPS: Final = Namespace(BASE + "scheme/")
CPC: Final = Namespace(BASE + "concept/")
#: Country concepts generated from ISO 3166-1 (pycountry).
COUNTRY: Final = Namespace(BASE + "country/")
#: Definitions of co-production, as citable resources.
CPD: Final = Namespace(BASE + "definition/")
#: Bibliographic resources and their authors.
SRC: Final = Namespace(BASE + "source/")
PERSON: Final = Namespace(BASE + "person/")
#: Case records, organisations, curators.
CASE: Final = Namespace(BASE + "case/")
ORGANISATION: Final = Namespace(BASE + "organisation/")
AGENT: Final = Namespace(BASE + "agent/")
#: The arguments of sources as claims (subject, relation, object, source, locator, quote).
CLAIM: Final = Namespace(BASE + "claim/")
#: Stand-in IRIs for terms of other typologies that publish none (targets of SKOS mappings).
EXT: Final = Namespace(BASE + "external/")
#: Named graphs in the store.
GRAPH: Final = Namespace(BASE + "graph/")
ONTOLOGY_GRAPH: Final = GRAPH["ontology"]
INFERRED_GRAPH: Final = GRAPH["inferred"]

# External vocabularies (rdflib ships most; these it does not).
BIBO: Final = Namespace("http://purl.org/ontology/bibo/")
CITO: Final = Namespace("http://purl.org/spar/cito/")
CPSV: Final = Namespace("http://purl.org/vocab/cpsv#")
CV: Final = Namespace("http://data.europa.eu/m8g/")
FABIO: Final = Namespace("http://purl.org/spar/fabio/")
VANN: Final = Namespace("http://purl.org/vocab/vann/")
SD: Final = Namespace("http://www.w3.org/ns/sparql-service-description#")
VOID: Final = Namespace("http://rdfs.org/ns/void#")

#: Prefixes bound when serialising and offered to SPARQL users.
PREFIXES: Final[dict[str, str]] = {
    "cp": str(CP),
    "cps": str(CPS),
    "cpc": str(CPC),
    "country": str(COUNTRY),
    "cpd": str(CPD),
    "src": str(SRC),
    "person": str(PERSON),
    "ext": str(EXT),
    "case": str(CASE),
    "organisation": str(ORGANISATION),
    "agent": str(AGENT),
    "claim": str(CLAIM),
    "bibo": str(BIBO),
    "cito": str(CITO),
    "cpsv": str(CPSV),
    "cv": str(CV),
    "fabio": str(FABIO),
    "vann": str(VANN),
    "dcterms": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "org": "http://www.w3.org/ns/org#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "prov": "http://www.w3.org/ns/prov#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "sh": "http://www.w3.org/ns/shacl#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
