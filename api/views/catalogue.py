"""What the web pages list: counts for the home page, the level by phase grid, browse tables.

Each function is one or two SELECT queries over the public graphs, answered by the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from coprod_kg.rdf.namespaces import BASE, CPS, PREFIXES
from coprod_kg.storage.rows import Row, count, select
from coprod_kg.storage.store import KnowledgeStore

from .figure import (
    LEVEL_SCHEME,
    LEVELS,
    PHASE_SCHEME,
    PHASES,
    LevelPhaseGrid,
    ordered_axis,
)

COUNTRY_SCHEME = str(CPS["countries"])
_P = "\n".join(f"PREFIX {p}: <{iri}>" for p, iri in PREFIXES.items()) + "\n"
#: A label in English or with no language.
_LABEL = ("OPTIONAL {{ {s} skos:prefLabel|rdfs:label|dcterms:title|foaf:name|org:name {v} "
          "FILTER(LANG({v}) = \"\" || LANGMATCHES(LANG({v}), \"en\")) }}")

#: Namespaces counted on the home page, with their plural names.
COUNTED: dict[str, str] = {
    "case": "documented cases", "case-country": "countries with documented cases",
    "illustration": "illustrative examples", "organisation": "organisations", "source": "sources",
    "person": "authors", "definition": "definitions", "concept": "concepts",
    "scheme": "concept schemes", "country": "countries in the country list",
}


def kind_counts(store: KnowledgeStore, base_iri: str = BASE) -> dict[str, int]:
    """Resources per first path segment of their IRI (``case``, ``concept``...), fragments aside."""
    rows = select(store, "SELECT ?kind (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?t "
                         f"FILTER(isIRI(?s) && STRSTARTS(STR(?s), \"{base_iri}\") "
                         "&& !CONTAINS(STR(?s), \"#\")) "
                         f"BIND(STRBEFORE(CONCAT(STRAFTER(STR(?s), \"{base_iri}\"), \"/\"), \"/\")"
                         " AS ?kind) } GROUP BY ?kind")
    counts = {row["kind"].value: int(row["n"].value) for row in rows if "kind" in row}
    # Illustrations share the case namespace but are counted apart from documented cases.
    illustrations = count(store, _P + "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { "
                          "?s a cp:IllustrativeExample }")
    if illustrations:
        counts["illustration"] = illustrations
        counts["case"] = counts.get("case", 0) - illustrations
    counts["case-country"] = count(store, _P + "SELECT (COUNT(DISTINCT ?k) AS ?n) WHERE { "
                                   "?s a cp:DocumentedCase ; cp:country ?k }")
    return counts


def triple_count(store: KnowledgeStore) -> int:
    """Triples in the public graphs."""
    return count(store, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")


def level_phase_grid(store: KnowledgeStore) -> LevelPhaseGrid:
    """Distinct documented cases per (level, phase) of their codings, and the two axes."""
    axis_rows = select(store, _P + "SELECT ?x ?scheme (SAMPLE(?l) AS ?label) WHERE { "
                       f"VALUES ?scheme {{ <{LEVEL_SCHEME}> <{PHASE_SCHEME}> }} "
                       "?x skos:inScheme ?scheme . " + _LABEL.format(s="?x", v="?l")
                       + " } GROUP BY ?x ?scheme")
    found: dict[str, dict[str, str]] = {LEVEL_SCHEME: {}, PHASE_SCHEME: {}}
    for row in axis_rows:
        iri = row["x"].value
        found[row["scheme"].value][iri] = row["label"].value if "label" in row else iri
    cells = select(store, _P + "SELECT ?level ?phase (COUNT(DISTINCT ?case) AS ?n) WHERE { "
                   "?case a cp:CoProductionCase ; cp:hasCoding ?a, ?b . "
                   "FILTER NOT EXISTS { ?case a cp:IllustrativeExample } "
                   "?a cp:level ?level . ?b cp:phase ?phase } GROUP BY ?level ?phase")
    counts = {(r["level"].value, r["phase"].value): int(r["n"].value) for r in cells}
    for level, phase in counts:  # a value coded but not (yet) in its scheme still shows
        found[LEVEL_SCHEME].setdefault(level, level.rsplit("/", 1)[-1])
        found[PHASE_SCHEME].setdefault(phase, phase.rsplit("/", 1)[-1])
    return LevelPhaseGrid(ordered_axis(found[LEVEL_SCHEME], LEVELS),
                          ordered_axis(found[PHASE_SCHEME], PHASES), counts)


@dataclass(frozen=True)
class Cell:
    """One cell of a browse table: text and, for a resource, its IRI."""

    text: str
    iri: str = ""


@dataclass
class Table:
    """A browse table: a caption, column names and rows of cells."""

    caption: str
    columns: tuple[str, ...]
    rows: list[tuple[Cell, ...]] = field(default_factory=list)


def _cell(row: Row, text: str, iri: str = "") -> Cell:
    shown = row[text].value if text in row else (row[iri].value if iri and iri in row else "")
    return Cell(shown, row[iri].value if iri and iri in row else "")


def organisations(store: KnowledgeStore) -> Table:
    """Every organisation with its sector and country."""
    rows = select(store, _P + "SELECT ?org (SAMPLE(?l) AS ?label) ?sector (SAMPLE(?sl) AS "
                  "?sectorLabel) ?country (SAMPLE(?cl) AS ?countryLabel) WHERE { "
                  f"?org a ?type FILTER(STRSTARTS(STR(?org), \"{BASE}organisation/\")) "
                  + _LABEL.format(s="?org", v="?l")
                  + " OPTIONAL { ?org cp:sector ?sector . " + _LABEL.format(s="?sector", v="?sl")
                  + " } OPTIONAL { ?org cp:country ?country . "
                  + _LABEL.format(s="?country", v="?cl")
                  + " } } GROUP BY ?org ?sector ?country ORDER BY ?label")
    table = Table("Organisations", ("Organisation", "Sector", "Country"))
    table.rows = [(_cell(r, "label", "org"), _cell(r, "sectorLabel", "sector"),
                   _cell(r, "countryLabel", "country")) for r in rows]
    return table


def sources(store: KnowledgeStore) -> Table:
    """Every bibliographic resource, by its citation (or title) and year."""
    rows = select(store, _P + "SELECT ?src (SAMPLE(?c) AS ?citation) (SAMPLE(?t) AS ?title) "
                  "(SAMPLE(STR(?y)) AS ?year) WHERE { ?src a ?type "
                  f"FILTER(STRSTARTS(STR(?src), \"{BASE}source/\") && !CONTAINS(STR(?src), \"#\"))"
                  " OPTIONAL { ?src dcterms:bibliographicCitation ?c } "
                  "OPTIONAL { ?src dcterms:title ?t } OPTIONAL { ?src dcterms:issued ?y } } "
                  "GROUP BY ?src ORDER BY ?citation ?title")
    table = Table("Sources", ("Reference", "Year"))
    table.rows = [(Cell(r["citation"].value if "citation" in r else
                        r["title"].value if "title" in r else r["src"].value, r["src"].value),
                   _cell(r, "year")) for r in rows]
    return table


@dataclass
class Scheme:
    """A concept scheme and its concepts (as a browse table)."""

    iri: str
    label: str
    concepts: Table


def schemes(store: KnowledgeStore) -> list[Scheme]:
    """Every concept scheme with its concepts and their definitions, schemes by label."""
    rows = select(store, _P + "SELECT ?scheme (SAMPLE(?sl) AS ?schemeLabel) ?concept "
                  "(SAMPLE(?l) AS ?label) (SAMPLE(?d) AS ?definition) WHERE { "
                  "?concept skos:inScheme ?scheme . " + _LABEL.format(s="?scheme", v="?sl")
                  + " " + _LABEL.format(s="?concept", v="?l")
                  + " OPTIONAL { ?concept skos:definition ?d "
                  "FILTER(LANG(?d) = \"\" || LANGMATCHES(LANG(?d), \"en\")) } } "
                  "GROUP BY ?scheme ?concept ORDER BY ?schemeLabel ?label")
    found: dict[str, Scheme] = {}
    for r in rows:
        iri = r["scheme"].value
        scheme = found.setdefault(iri, Scheme(iri, r["schemeLabel"].value if "schemeLabel" in r
                                              else iri, Table("", ("Concept", "Definition"))))
        scheme.concepts.rows.append((_cell(r, "label", "concept"), _cell(r, "definition")))
    # The long, generated country list goes last.
    return sorted(found.values(), key=lambda s: (s.iri == COUNTRY_SCHEME, s.label.lower()))
