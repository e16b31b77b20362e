"""The concept page: definition with its source, the scheme's tree around the concept, labels in
every language, mappings to other typologies, and the cases coded with it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from coprod_kg.errors import NotFound
from coprod_kg.rdf.namespaces import PREFIXES
from coprod_kg.storage.rows import Row, select
from coprod_kg.storage.store import KnowledgeStore

from .case_index import CaseIndex, iter_bits
from .case_study import Link, SourceRef, labels, references
from .facets import FACETS
from .i18n import pick
from .linked_data import check_iri

_P = "\n".join(f"PREFIX {p}: <{iri}>" for p, iri in PREFIXES.items()) + "\n"
SKOS = PREFIXES["skos"]
MAPPINGS = ("exactMatch", "closeMatch", "broadMatch", "narrowMatch", "relatedMatch")
MAX_CASES = 200


@dataclass
class TreeNode:
    """A concept in its scheme's hierarchy."""

    link: Link
    current: bool
    children: list[TreeNode] = field(default_factory=list)


@dataclass
class ConceptPage:
    """What the concept page shows."""

    iri: str
    label: str
    definition: str
    definition_lang: str
    sources: list[SourceRef]
    notes: list[tuple[str, str]]
    all_labels: list[tuple[str, str, str]]
    schemes: list[Link]
    broader: list[Link]
    narrower: list[Link]
    tree: list[TreeNode]
    mappings: list[tuple[str, Link]]
    case_count: int = 0
    cases: list[Link] = field(default_factory=list)
    explore: str = ""
    illustrated_by: list[Link] = field(default_factory=list)


def concept_page(store: KnowledgeStore, iri: str, index: CaseIndex | None,
                 lang: str = "en") -> ConceptPage:
    """The view of concept ``iri``; 404 when the graph has no such concept."""
    check_iri(iri)
    rows = select(store, _P + f"SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }}")
    if not rows:
        raise NotFound(f"no concept {iri}")
    by_prop: dict[str, list[tuple[str, str, bool]]] = {}
    for row in rows:
        by_prop.setdefault(row["p"].value, []).append((row["o"].value, row["o"].lang,
                                                       row["o"].is_iri))
    schemes = [v for v, _, _ in by_prop.get(SKOS + "inScheme", [])] or [
        v for v, _, _ in by_prop.get(SKOS + "topConceptOf", [])]
    tree_rows = select(store, _P + "SELECT DISTINCT ?c ?b WHERE { VALUES ?s { "
                       + " ".join(f"<{s}>" for s in schemes) + " } ?c skos:inScheme ?s . "
                       "OPTIONAL { ?c skos:broader ?b . ?b skos:inScheme ?s } }") if schemes \
        else []
    illustrations = select(store, _P + f"SELECT ?case WHERE {{ ?case cp:illustrates <{iri}> }}")
    wanted = {iri, *schemes}
    wanted |= {v for values in by_prop.values() for v, _, is_iri in values if is_iri}
    wanted |= {r[v].value for r in tree_rows for v in ("c", "b") if v in r}
    wanted |= {r["case"].value for r in illustrations}
    names = labels(store, wanted)

    def link(target: str) -> Link:
        found = names.get(target)
        return Link(pick(found, lang) if found else target.rsplit("/", 1)[-1], target)

    definitions = {lg: v for v, lg, _ in by_prop.get(SKOS + "definition", [])}
    definition = pick(definitions, lang)
    definition_lang = next((lg for lg, v in definitions.items() if v == definition), "")
    label_rows = [(p.rsplit("#", 1)[-1], v, lg) for p in (SKOS + "prefLabel", SKOS + "altLabel",
                                                          PREFIXES["rdfs"] + "label")
                  for v, lg, _ in by_prop.get(p, [])]
    notes = [(name, pick({lg: v for v, lg, _ in by_prop.get(SKOS + name, [])}, lang))
             for name in ("scopeNote", "example", "editorialNote") if by_prop.get(SKOS + name)]
    sources = references(store, [v for v, _, is_iri in by_prop.get(
        "http://purl.org/dc/terms/source", []) if is_iri])
    page = ConceptPage(
        iri=iri, label=link(iri).text, definition=definition, definition_lang=definition_lang,
        sources=sorted(sources.values(), key=lambda s: s.text.lower()), notes=notes,
        all_labels=sorted(set(label_rows), key=lambda r: (r[2] != "en", r[2], r[0], r[1])),
        schemes=[link(s) for s in schemes],
        broader=[link(v) for v, _, _ in by_prop.get(SKOS + "broader", [])],
        narrower=[link(v) for v, _, _ in by_prop.get(SKOS + "narrower", [])],
        tree=_tree(tree_rows, iri, link),
        mappings=[(name, link(v)) for name in MAPPINGS
                  for v, _, _ in by_prop.get(SKOS + name, [])],
        illustrated_by=[link(r["case"].value) for r in illustrations])
    if index is not None:
        for facet in FACETS:
            mask = index.mask(facet.key, iri)
            if mask:
                page.case_count = mask.bit_count()
                page.cases = [Link(index.records[p].title(lang), index.records[p].iri)
                              for p in list(iter_bits(mask))[:MAX_CASES]]
                page.explore = facet.key
                break
    return page


def _tree(rows: list[Row], current: str, make: Callable[[str], Link]) -> list[TreeNode]:
    children: dict[str, list[str]] = {}
    members: set[str] = set()
    has_parent: set[str] = set()
    for row in rows:
        concept = row["c"].value
        members.add(concept)
        if "b" in row:
            children.setdefault(row["b"].value, []).append(concept)
            has_parent.add(concept)
    def node(iri: str, depth: int) -> TreeNode:
        kids = sorted(set(children.get(iri, []))) if depth < 8 else []
        found = TreeNode(make(iri), iri == current)
        found.children = sorted((node(k, depth + 1) for k in kids),
                                key=lambda n: n.link.text.lower())
        return found

    roots = sorted(members - has_parent)
    return sorted((node(r, 0) for r in roots), key=lambda n: n.link.text.lower())
