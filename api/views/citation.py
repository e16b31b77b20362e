"""Citations of sources, cases, concepts and the dataset: CSL-JSON, BibTeX and RIS.

The record of each citation is built once, as a CSL-JSON item (the Citation Style Language's
data schema, which Zotero, Pandoc and citeproc read); BibTeX is written by pybtex and RIS by
rispy from that item, so the three always say the same. A source is cited as the work it is; a
case, a concept and the dataset are cited as parts of this knowledge graph, with its version.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

import rispy
from pybtex.database import BibliographyData, Entry, Person

from coprod_kg import __version__
from coprod_kg.errors import NotFound
from coprod_kg.rdf.namespaces import BASE, PREFIXES
from coprod_kg.storage.rows import Row, select
from coprod_kg.storage.store import KnowledgeStore

from .i18n import pick
from .linked_data import check_iri

BIBTEX = "application/x-bibtex"
RIS = "application/x-research-info-systems"
CSL_JSON = "application/vnd.citationstyles.csl+json"
#: Citation media types, their ``?format=`` names and file extensions.
FORMATS: dict[str, tuple[str, str]] = {
    BIBTEX: ("bibtex", "bib"), RIS: ("ris", "ris"), CSL_JSON: ("csljson", "json"),
}
BY_NAME: dict[str, str] = {name: media for media, (name, _) in FORMATS.items()}
DATASET_TITLE = "coprod-kg: the knowledge graph of the co-production of public services"
PUBLISHER = "coprod-kg"
EDITORS = "coprod-kg editors"
_P = "\n".join(f"PREFIX {p}: <{iri}>" for p, iri in PREFIXES.items()) + "\n"
#: bibo classes -> CSL item types (others are "document").
CSL_TYPES: dict[str, str] = {
    "AcademicArticle": "article-journal", "Article": "article-journal", "Book": "book",
    "EditedBook": "book", "BookSection": "chapter", "Chapter": "chapter", "Report": "report",
    "Thesis": "thesis", "Proceedings": "book", "Webpage": "webpage", "Document": "document",
}
#: CSL types -> BibTeX entry types and RIS reference types.
BIBTEX_TYPES = {"article-journal": "article", "book": "book", "chapter": "incollection",
                "report": "techreport", "thesis": "phdthesis", "paper-conference":
                "inproceedings"}
RIS_TYPES = {"article-journal": "JOUR", "book": "BOOK", "chapter": "CHAP", "report": "RPRT",
             "thesis": "THES", "dataset": "DATA", "entry-dictionary": "DICT",
             "webpage": "ELEC", "paper-conference": "CPAPER"}


@dataclass(frozen=True)
class Citation:
    """One citable thing: its CSL-JSON item and a line of text for people."""

    item: dict[str, Any]
    text: str
    key: str


def _one(rows: list[Row], var: str, lang: str = "en") -> str:
    texts = {r[var].lang: r[var].value for r in rows if var in r}
    return pick(texts, lang) if texts else ""


def _year(value: str) -> list[list[int]]:
    parts = [int(p) for p in re.findall(r"\d+", value)[:3]]
    return [parts] if parts else []


def _key(iri: str) -> str:
    tail = iri.rstrip("/").rsplit("/", 1)[-1]
    return re.sub(r"[^A-Za-z0-9_:-]", "-", tail) or "coprod-kg"


def _authors(store: KnowledgeStore, iri: str) -> list[dict[str, str]]:
    rows = select(store, _P + "SELECT ?a (COUNT(?mid) AS ?pos) (SAMPLE(?f) AS ?family) "
                  "(SAMPLE(?g) AS ?given) (SAMPLE(?n) AS ?name) WHERE { "
                  f"<{iri}> bibo:authorList ?list . ?list rdf:rest* ?mid . ?mid rdf:rest* ?node . "
                  "?node rdf:first ?a . OPTIONAL { ?a foaf:familyName ?f } "
                  "OPTIONAL { ?a foaf:givenName ?g } OPTIONAL { ?a foaf:name|rdfs:label ?n } } "
                  "GROUP BY ?a ?node ORDER BY ?pos")
    if not rows:
        rows = select(store, _P + "SELECT ?a (SAMPLE(?f) AS ?family) (SAMPLE(?g) AS ?given) "
                      f"(SAMPLE(?n) AS ?name) WHERE {{ <{iri}> dcterms:creator ?a . "
                      "OPTIONAL { ?a foaf:familyName ?f } OPTIONAL { ?a foaf:givenName ?g } "
                      "OPTIONAL { ?a foaf:name|rdfs:label ?n } } GROUP BY ?a ORDER BY ?a")
    people = []
    seen: set[str] = set()
    for row in rows:
        if row["a"].value in seen:  # the same list, copied into two graphs
            continue
        seen.add(row["a"].value)
        if "family" in row:
            person = {"family": row["family"].value}
            if "given" in row:
                person["given"] = row["given"].value
            people.append(person)
        elif "name" in row:
            people.append({"literal": row["name"].value})
    return people


def source_item(store: KnowledgeStore, iri: str) -> dict[str, Any]:
    """The CSL-JSON item of a bibliographic resource; 404 if the graph has none."""
    check_iri(iri)
    rows = select(store, _P + "SELECT ?type ?title ?issued ?volume ?issue ?start ?end ?doi "
                  "?uri ?container ?publisher ?number ?isbn WHERE { "
                  f"<{iri}> a ?type . FILTER(STRSTARTS(STR(?type), STR(bibo:)) || "
                  "STRSTARTS(STR(?type), STR(fabio:))) "
                  f"OPTIONAL {{ <{iri}> dcterms:title ?title }} "
                  f"OPTIONAL {{ <{iri}> dcterms:issued ?issued }} "
                  f"OPTIONAL {{ <{iri}> bibo:volume ?volume }} "
                  f"OPTIONAL {{ <{iri}> bibo:issue ?issue }} "
                  f"OPTIONAL {{ <{iri}> bibo:pageStart ?start }} "
                  f"OPTIONAL {{ <{iri}> bibo:pageEnd ?end }} "
                  f"OPTIONAL {{ <{iri}> bibo:doi ?doi }} "
                  f"OPTIONAL {{ <{iri}> bibo:uri ?uri }} "
                  f"OPTIONAL {{ <{iri}> bibo:number ?number }} "
                  f"OPTIONAL {{ <{iri}> bibo:isbn|bibo:isbn13|bibo:isbn10 ?isbn }} "
                  f"OPTIONAL {{ <{iri}> dcterms:isPartOf/dcterms:title ?container }} "
                  f"OPTIONAL {{ <{iri}> dcterms:publisher/(foaf:name|rdfs:label) ?publisher }} }}")
    if not rows:
        raise NotFound(f"{iri} is not a bibliographic resource of the knowledge graph")
    kinds = [r["type"].value.rsplit("/", 1)[-1] for r in rows]
    csl_type = next((CSL_TYPES[k] for k in kinds if k in CSL_TYPES and k != "Document"),
                    "document")
    item: dict[str, Any] = {"id": _key(iri), "type": csl_type, "title": _one(rows, "title"),
                            "URL": iri}
    authors = _authors(store, iri)
    if authors:
        item["author"] = authors
    issued = _year(_one(rows, "issued"))
    if issued:
        item["issued"] = {"date-parts": issued}
    for var, name in (("volume", "volume"), ("issue", "issue"), ("container",
                                                                   "container-title"),
                      ("publisher", "publisher"), ("number", "number"), ("isbn", "ISBN")):
        value = _one(rows, var)
        if value:
            item[name] = value
    start, end = _one(rows, "start"), _one(rows, "end")
    if start:
        item["page"] = f"{start}-{end}" if end else start
    doi = _one(rows, "doi")
    if doi:
        item["DOI"] = doi
        item["URL"] = "https://doi.org/" + doi
    elif _one(rows, "uri"):
        item["URL"] = _one(rows, "uri")
    return item


def _kg_item(iri: str, csl_type: str, title: str, issued: str, version: str,
             public_iri: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": _key(iri), "type": csl_type, "title": title,
        "author": [{"literal": EDITORS}], "publisher": PUBLISHER,
        "container-title": DATASET_TITLE, "URL": public_iri, "version": version,
        "accessed": {"date-parts": [[*dt.date.today().timetuple()[:3]]]},
    }
    if _year(issued):
        item["issued"] = {"date-parts": _year(issued)}
    return item


def ontology_version(store: KnowledgeStore) -> str:
    """The ontology's ``owl:versionInfo`` (the package's version when it has none)."""
    rows = select(store, _P + f"SELECT ?v WHERE {{ <{BASE}ontology> owl:versionInfo ?v }}")
    return rows[0]["v"].value if rows else __version__


def case_item(store: KnowledgeStore, iri: str) -> dict[str, Any]:
    """The CSL-JSON item of a case: the case's record, in the version now published."""
    check_iri(iri)
    rows = select(store, _P + "SELECT ?title ?modified ?created WHERE { "
                  f"<{iri}> a cp:CoProductionCase . OPTIONAL {{ <{iri}> dcterms:title ?title }} "
                  f"OPTIONAL {{ <{iri}> dcterms:modified ?modified }} "
                  f"OPTIONAL {{ <{iri}> dcterms:created ?created }} }}")
    if not rows:
        raise NotFound(f"{iri} is not a published case")
    versions = select(store, _P + "SELECT ?v ?issued WHERE { "
                      f"?v prov:specializationOf <{iri}> . OPTIONAL {{ ?v dcterms:issued ?issued }}"
                      " }")
    numbers = sorted((int(m.group(1)), r) for r in versions
                     if (m := re.search(r"/v(\d+)$", r["v"].value)))
    version = str(numbers[-1][0]) if numbers else "1"
    issued = (numbers[-1][1]["issued"].value if numbers and "issued" in numbers[-1][1]
              else _one(rows, "modified") or _one(rows, "created"))
    return _kg_item(iri, "dataset", _one(rows, "title"), issued, version, iri)


def concept_item(store: KnowledgeStore, iri: str) -> dict[str, Any]:
    """The CSL-JSON item of a concept or scheme, as an entry of the ontology's version."""
    check_iri(iri)
    # the English label (the citation's language), else an untagged one
    rows = select(store, _P + "SELECT ?label ?modified WHERE { "
                  f"<{iri}> skos:prefLabel|rdfs:label ?label . "
                  "FILTER(LANGMATCHES(LANG(?label), 'en') || LANG(?label) = '') "
                  f"OPTIONAL {{ <{BASE}ontology> dcterms:modified ?modified }} }} "
                  "ORDER BY DESC(LANG(?label))")
    if not rows:
        raise NotFound(f"{iri} is not a concept of the knowledge graph")
    item = _kg_item(iri, "entry-dictionary", _one(rows, "label"), _one(rows, "modified"),
                    ontology_version(store), iri)
    return item


def dataset_item(store: KnowledgeStore, public_url: str, state: str) -> dict[str, Any]:
    """The CSL-JSON item of the whole dataset: which ontology version and published state."""
    rows = select(store, _P + "SELECT (MAX(STR(?d)) AS ?latest) WHERE { "
                  "?c a cp:CoProductionCase ; dcterms:modified|dcterms:created ?d }")
    version = f"{ontology_version(store)}, published state {state[:12]}"
    item = _kg_item(public_url.rstrip("/") + "/", "dataset", DATASET_TITLE,
                    _one(rows, "latest"), version, public_url.rstrip("/") + "/")
    item["id"] = "coprod-kg"
    del item["container-title"]
    return item


def _names(people: list[dict[str, str]]) -> str:
    parts = []
    for person in people:
        if "literal" in person:
            parts.append(person["literal"])
        else:
            initials = " ".join(f"{n[0]}." for n in person.get("given", "").split() if n)
            parts.append(f"{person['family']}, {initials}".rstrip(", "))
    if len(parts) > 1:
        return ", ".join(parts[:-1]) + " and " + parts[-1]
    return parts[0] if parts else ""


def text(item: dict[str, Any]) -> str:
    """A reference in author-date style, for reading on a page."""
    year = item.get("issued", {}).get("date-parts", [[""]])[0][0]
    out = f"{_names(item.get('author', []))} ({year or 'n.d.'}). {item.get('title', '')}."
    if item.get("container-title"):
        out += f" {item['container-title']}"
        if item.get("volume"):
            out += f" {item['volume']}" + (f"({item['issue']})" if item.get("issue") else "")
        if item.get("page"):
            out += ": " + item["page"].replace("-", "\u2013")  # an en dash between pages
        out += "."
    if item.get("version"):
        out += f" Version {item['version']}."
    if item.get("publisher") and item.get("type") not in ("dataset", "entry-dictionary"):
        out += f" {item['publisher']}."
    out += f" {item['URL']}" if item.get("URL") else ""
    return out.strip()


def to_csl_json(item: dict[str, Any]) -> str:
    """A CSL-JSON document: a list holding the one item."""
    return json.dumps([item], ensure_ascii=False, indent=2) + "\n"


def _person(person: dict[str, str]) -> Person:
    if "literal" in person:
        return Person("{" + person["literal"] + "}")  # an organisation: keep it whole
    return Person(last=person["family"], first=person.get("given", ""))


def to_bibtex(item: dict[str, Any]) -> str:
    """A BibTeX entry (written by pybtex)."""
    kind = BIBTEX_TYPES.get(item["type"], "misc")
    fields: dict[str, str] = {"title": item.get("title", "")}
    year = item.get("issued", {}).get("date-parts", [[None]])[0][0]
    if year:
        fields["year"] = str(year)
    mapping = {"container-title": "journal" if kind == "article" else "booktitle"
               if kind in ("incollection", "inproceedings") else "howpublished",
               "volume": "volume", "issue": "number", "publisher": "publisher",
               "DOI": "doi", "URL": "url", "version": "version", "ISBN": "isbn"}
    for name, field in mapping.items():
        if item.get(name):
            fields[field] = str(item[name])
    if item.get("page"):
        fields["pages"] = str(item["page"]).replace("-", "--")
    if kind == "techreport" and "publisher" in fields:
        fields["institution"] = fields.pop("publisher")
    if kind == "misc" and item.get("accessed"):
        fields["note"] = "Accessed " + "-".join(
            f"{p:02d}" for p in item["accessed"]["date-parts"][0])
    persons = {"author": [_person(p) for p in item.get("author", [])]}
    entry = Entry(kind, fields=fields, persons=persons)
    written: str = BibliographyData({item["id"]: entry}).to_string("bibtex")
    return written


class _RisWriter(rispy.RisWriter):  # type: ignore[misc]
    """RIS without the "1." line rispy puts before each record (not part of the format)."""

    def set_header(self, count: int) -> str:
        return ""


def to_ris(item: dict[str, Any]) -> str:
    """A RIS record (written by rispy)."""
    record: dict[str, Any] = {"type_of_reference": RIS_TYPES.get(item["type"], "GEN"),
                              "title": item.get("title", "")}
    authors = [p["literal"] if "literal" in p else
               f"{p['family']}, {p.get('given', '')}".rstrip(", ")
               for p in item.get("author", [])]
    if authors:
        record["authors"] = authors
    year = item.get("issued", {}).get("date-parts", [[None]])[0][0]
    if year:
        record["year"] = str(year)
    for name, tag in (("container-title", "secondary_title"), ("volume", "volume"),
                      ("issue", "number"), ("publisher", "publisher"), ("DOI", "doi"),
                      ("version", "edition"), ("ISBN", "issn")):
        if item.get(name):
            record[tag] = str(item[name])
    if item.get("type") == "article-journal" and item.get("container-title"):
        record["journal_name"] = item["container-title"]
    if item.get("page"):
        start, _, end = str(item["page"]).partition("-")
        record["start_page"] = start
        if end:
            record["end_page"] = end
    if item.get("URL"):
        record["urls"] = [item["URL"]]
    if item.get("accessed"):
        record["access_date"] = "/".join(f"{p:02d}" for p in item["accessed"]["date-parts"][0])
    written: str = rispy.dumps([record], implementation=_RisWriter)
    return written


def render(item: dict[str, Any], media_type: str) -> str:
    """``item`` in one of :data:`FORMATS`."""
    if media_type == BIBTEX:
        return to_bibtex(item)
    if media_type == RIS:
        return to_ris(item)
    return to_csl_json(item)


def citation(item: dict[str, Any]) -> Citation:
    """The item with its reference text and key."""
    return Citation(item, text(item), item["id"])
