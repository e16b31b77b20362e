"""The case explorer: a filter (facet values and keywords) applied to the case index.

Within the explorer every selected value must hold (a case coded with two selected levels has
both); each facet then counts, among the cases left, those having each of its values. The same
filter is written as SPARQL (:func:`list_sparql`), so "this list as SPARQL" returns these cases.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from coprod_kg.errors import BadInput
from coprod_kg.rdf.namespaces import PREFIXES

from .case_index import CaseIndex, CaseRecord, iter_bits, search_terms
from .facets import BY_KEY, FACETS, ILLUSTRATION
from .i18n import pick

PER_PAGE = 50
MAX_PAGE_SIZE = 500
MAX_SELECTED = 30
MAX_WORDS_LENGTH = 300


@dataclass(frozen=True)
class Filter:
    """What the reader asked for: selected values per facet, keywords, page."""

    selected: tuple[tuple[str, str], ...] = ()
    words: str = ""
    page: int = 1
    size: int = PER_PAGE

    @classmethod
    def parse(cls, params: Sequence[tuple[str, str]]) -> Filter:
        """Read the URL's parameters (``level=IRI&phase=IRI&q=words&page=2``); 400 if hostile."""
        selected: list[tuple[str, str]] = []
        words, page, size = "", 1, PER_PAGE
        for name, value in params:
            if name in BY_KEY:
                if value:
                    pair = (name, BY_KEY[name].check(value.strip()))
                    if pair not in selected:
                        selected.append(pair)
            elif name == "q":
                if len(value) > MAX_WORDS_LENGTH:
                    raise BadInput(f"the keywords are longer than {MAX_WORDS_LENGTH} characters")
                words = " ".join(value.split())
            elif name in ("page", "size"):
                if not value.isdigit() or len(value) > 6 or int(value) < 1:
                    raise BadInput(f"{name} must be a positive whole number")
                if name == "page":
                    page = int(value)
                else:
                    size = min(int(value), MAX_PAGE_SIZE)
        if len(selected) > MAX_SELECTED:
            raise BadInput(f"at most {MAX_SELECTED} facet values can be selected at once")
        return cls(tuple(selected), words, page, size)

    def params(self, **changes: object) -> list[tuple[str, str]]:
        """This filter as URL parameters, with ``page``/``q`` changed (page 1 is left out)."""
        words = str(changes.get("q", self.words))
        page = int(str(changes.get("page", 1)))
        out = [(name, value) for name, value in self.selected]
        if words:
            out.append(("q", words))
        if page > 1:
            out.append(("page", str(page)))
        if self.size != PER_PAGE:
            out.append(("size", str(self.size)))
        return out

    def toggled(self, facet: str, value: str) -> Filter:
        """The same filter with ``value`` of ``facet`` selected, or no longer selected."""
        pair = (facet, value)
        selected = tuple(p for p in self.selected if p != pair) if pair in self.selected \
            else (*self.selected, pair)
        return Filter(selected, self.words, 1, self.size)

    def query_string(self, **changes: object) -> str:
        """``?…`` for a link to this filter (empty when nothing is selected)."""
        params = self.params(**changes)
        return "?" + urlencode(params) if params else ""


@dataclass(frozen=True)
class FacetValue:
    """One value of a facet: its label, how many of the listed cases have it, the toggle link."""

    value: str
    label: str
    count: int
    selected: bool
    link: str


@dataclass(frozen=True)
class FacetView:
    """One facet with its values (most frequent first; selected values always shown)."""

    key: str
    label: str
    values: list[FacetValue]


@dataclass(frozen=True)
class Row:
    """One case of the list, with its highlighted title and passage when searching."""

    record: CaseRecord
    title: str
    country: str
    highlight_title: str = ""
    snippet: str = ""


@dataclass
class Result:
    """What the explorer shows for a filter."""

    filter: Filter
    total: int
    rows: list[Row]
    facets: list[FacetView]
    mask: int
    pages: int
    chips: list[FacetValue] = field(default_factory=list)


def matching(index: CaseIndex, flt: Filter) -> tuple[int, list[int] | None]:
    """The bit set of the cases the filter keeps, and their search order when searching."""
    mask = index.all
    for facet, value in flt.selected:
        mask &= index.mask(facet, value)
    order: list[int] | None = None
    if search_terms(flt.words):
        order = index.search(flt.words)
        found = 0
        for position in order:
            found |= 1 << position
        mask &= found
    return mask, order


def ordered_positions(mask: int, order: list[int] | None) -> list[int]:
    """The cases of ``mask`` in search order (when searching), else in title order."""
    if order is not None:
        return [p for p in order if mask >> p & 1]
    return list(iter_bits(mask))


def run(index: CaseIndex, flt: Filter, lang: str = "en") -> Result:
    """Apply ``flt`` to ``index``: the page of rows, the total and every facet's counts."""
    mask, order = matching(index, flt)
    total = mask.bit_count()
    positions = ordered_positions(mask, order)
    pages = max(1, -(-total // flt.size))
    start = (flt.page - 1) * flt.size
    shown = positions[start:start + flt.size]
    marks = index.highlights(flt.words, shown) if order is not None else {}
    rows = []
    for position in shown:
        record = index.records[position]
        title, snippet = marks.get(position, ("", ""))
        rows.append(Row(record, record.title(lang),
                        index.label(record.country, lang) if record.country else "",
                        title, snippet))
    facets = []
    chosen = set(flt.selected)
    for facet in FACETS:
        values = []
        for value, bits in index.masks.get(facet.key, {}).items():
            n = (bits & mask).bit_count()
            selected = (facet.key, value) in chosen
            if n or selected:
                values.append(FacetValue(value, facet_label(index, facet.key, value, lang), n,
                                         selected, flt.toggled(facet.key, value).query_string()))
        values.sort(key=lambda v: (not v.selected, -v.count, v.label.lower()))
        if facet.kind == "decade":
            values.sort(key=lambda v: int(v.value))
        facets.append(FacetView(facet.key, facet.label, values))
    chips = [FacetValue(value, facet_label(index, key, value, lang), 0, True,
                        flt.toggled(key, value).query_string()) for key, value in flt.selected]
    return Result(flt, total, rows, facets, mask, pages, chips)


def facet_label(index: CaseIndex, facet: str, value: str, lang: str) -> str:
    """How a facet value reads (a decade as "1980s")."""
    if BY_KEY[facet].kind == "decade":
        return f"{value}s"
    return index.label(value, lang)


PREFIX_BLOCK = "\n".join(f"PREFIX {p}: <{PREFIXES[p]}>" for p in
               ("cp", "cv", "dcterms", "rdf", "rdfs", "skos", "xsd")) + "\n"


def where(flt: Filter) -> str:
    """The SPARQL group pattern of the filter for ``?case`` (facets and keywords)."""
    lines = ["  ?case a cp:CoProductionCase ."]
    for facet, value in flt.selected:
        lines.append("  " + BY_KEY[facet].where(value))
    terms = search_terms(flt.words)
    if terms:
        # The explorer's search matches word prefixes in these fields; REGEX does the same.
        path = ("dcterms:title|dcterms:description|cp:placeName|cp:hasCoding/cp:quote|"
                "((cp:provider|cp:hasCoding/cp:actsThrough|cv:hasParticipation/"
                "cv:hasParticipant)/rdfs:label)")
        for i, term in enumerate(terms):
            lines.append(f"  FILTER EXISTS {{ ?case {path} ?text{i} "
                         f'FILTER(REGEX(STR(?text{i}), "(^|\\\\W){term}", "i")) }}')
    return "\n".join(lines)


def list_sparql(flt: Filter) -> str:
    """A SELECT returning the cases of the filter with their title, country and start."""
    return (PREFIX_BLOCK + "SELECT DISTINCT ?case ?title ?country ?start WHERE {\n"
            + where(flt) + "\n"
            "  OPTIONAL { ?case dcterms:title ?title FILTER(LANGMATCHES(LANG(?title), \"en\")) }\n"
            "  OPTIONAL { ?case cp:country ?country }\n"
            "  OPTIONAL { ?case cp:startDate ?start }\n"
            "} ORDER BY LCASE(STR(?title))\n")


EXPORT_COLUMNS = ("iri", "title", "kind", "country", "country_label", "place", "start", "end",
                  "ongoing", "trajectory")


def export_rows(index: CaseIndex, flt: Filter, lang: str = "en") -> list[dict[str, str]]:
    """Every case of the filter (not only one page), as flat rows for CSV and JSON."""
    mask, order = matching(index, flt)
    positions = ordered_positions(mask, order)
    out = []
    for position in positions:
        record = index.records[position]
        out.append({
            "iri": record.iri, "title": record.title(lang),
            "kind": "illustration" if record.kind == ILLUSTRATION else "documented case",
            "country": record.country,
            "country_label": index.label(record.country, lang) if record.country else "",
            "place": pick(record.places, lang), "start": record.start, "end": record.end,
            "ongoing": "true" if record.ongoing else "",
            "trajectory": " ".join(sorted(
                value for value, bits in index.masks.get("trajectory", {}).items()
                if bits >> position & 1)),
        })
    return out


def to_csv(rows: list[dict[str, str]], columns: Sequence[str] = EXPORT_COLUMNS) -> str:
    """Rows as CSV with a header line (RFC 4180 quoting)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def to_json(rows: list[dict[str, str]], flt: Filter, total: int | None = None,
            extra: Mapping[str, object] | None = None) -> str:
    """Rows as a JSON document with the filter that produced them."""
    return json.dumps({"filter": {"selected": [list(p) for p in flt.selected],
                                  "q": flt.words},
                       "total": len(rows) if total is None else total, "cases": rows,
                       **(extra or {})}, ensure_ascii=False, indent=1)
