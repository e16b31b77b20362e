"""The explorer's index of the published cases, built once per published state of the graph.

A handful of SELECT queries read every case's title, description, place, dates, facet values,
organisations and quoted passages. Facet values become bit sets (one Python int per value, one bit
per case), so narrowing by any number of facets and counting every other facet's values is a few
hundred integer ANDs; words go into an SQLite FTS5 table (standard library, in memory) for the
keyword search. The state key is a digest of the public graphs' records, which every back end
lists: a new publication gives a new key and the next request builds a new index.
"""

from __future__ import annotations

import functools
import hashlib
import re
import sqlite3
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from coprod_kg.rdf.namespaces import PREFIXES
from coprod_kg.storage.rows import select
from coprod_kg.storage.store import KnowledgeStore

from .facets import DOCUMENTED, FACETS, ILLUSTRATION, decade_of
from .i18n import pick

P = "\n".join(f"PREFIX {p}: <{iri}>" for p, iri in PREFIXES.items()) + "\n"
#: Marks around matched words in search snippets (private-use characters, escaped later).
MARK_START, MARK_END = "\ue000", "\ue001"
MAX_TERMS = 12
_LABEL_CHUNK = 400


@dataclass
class CaseRecord:
    """What the explorer shows of one case."""

    iri: str
    titles: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    places: dict[str, str] = field(default_factory=dict)
    country: str = ""
    start: str = ""
    end: str = ""
    ongoing: bool = False
    kind: str = DOCUMENTED
    organisations: list[str] = field(default_factory=list)
    quotes: list[str] = field(default_factory=list)

    def title(self, lang: str) -> str:
        """The title in ``lang`` (falling back to English), or the IRI's last segment."""
        return pick(self.titles, lang) or self.iri.rsplit("/", 1)[-1]


def state_key(store: KnowledgeStore) -> str:
    """A digest of the public graphs' names, hashes and sizes: changes on every publication."""
    digest = hashlib.sha256()
    for record in store.graphs():
        digest.update(f"{record.name}\0{record.sha256}\0{record.triples}\n".encode())
    return digest.hexdigest()[:32]


def _bits(positions: Iterable[int]) -> int:
    mask = 0
    for position in positions:
        mask |= 1 << position
    return mask


def iter_bits(mask: int) -> Iterator[int]:
    """The positions of the set bits of ``mask``, lowest first.

    >>> list(iter_bits(0b10110))
    [1, 2, 4]
    """
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


class CaseIndex:
    """Every published case, its facet values as bit sets, and a full-text index."""

    def __init__(self, key: str, records: list[CaseRecord],
                 values: dict[str, dict[str, set[int]]], labels: dict[str, dict[str, str]]):
        self.key = key
        self.records = records
        self.position = {record.iri: i for i, record in enumerate(records)}
        self.all = (1 << len(records)) - 1
        #: facet key -> value -> bit set of the cases having it
        self.masks: dict[str, dict[str, int]] = {
            facet: {value: _bits(sorted(found)) for value, found in by_value.items()}
            for facet, by_value in values.items()}
        self.labels = labels
        self._lock = threading.Lock()
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute("CREATE VIRTUAL TABLE docs USING fts5(title, description, place, "
                         "organisations, quotes, tokenize = 'unicode61 remove_diacritics 2')")
        self._db.executemany(
            "INSERT INTO docs(rowid, title, description, place, organisations, quotes) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            ((i, " ".join(r.titles.values()), " ".join(r.descriptions.values()),
              " ".join(r.places.values()), " ".join(r.organisations), " ".join(r.quotes))
             for i, r in enumerate(records)))
        self._db.commit()

    def __len__(self) -> int:
        return len(self.records)

    def label(self, iri: str, lang: str) -> str:
        """The label of a facet value in ``lang`` (English, then the IRI's end, as fallbacks)."""
        found = self.labels.get(iri)
        if found:
            return pick(found, lang)
        if iri == DOCUMENTED:
            return "documented case"
        if iri == ILLUSTRATION:
            return "illustration"
        return iri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]

    def mask(self, facet: str, value: str) -> int:
        """The cases having ``value`` for ``facet`` (0 when none)."""
        return self.masks.get(facet, {}).get(value, 0)

    def search(self, words: str) -> list[int]:
        """Positions of the cases matching every word of ``words`` (as prefixes), best first."""
        expression = fts_query(words)
        if not expression:
            return []
        with self._lock:
            rows = self._db.execute("SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY rank",
                                    (expression,)).fetchall()
        return [int(row[0]) for row in rows]

    def highlights(self, words: str, positions: list[int]) -> dict[int, tuple[str, str]]:
        """For each shown case: its title and the best passage, matched words between marks.

        Done here rather than with FTS5's ``snippet()``, which costs about 0.3 ms a row; the
        words are matched as the index matches them (prefixes, case and accents ignored).
        """
        terms = [fold(t) for t in search_terms(words)]
        if not terms or not positions:
            return {}
        pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(t) for t in terms) + r")\w*")
        out = {}
        for position in positions:
            record = self.records[position]
            title = " ".join(record.titles.values())
            passage = ""
            for field_text in (" ".join(record.descriptions.values()), " ".join(record.quotes),
                               " ".join(record.places.values()), " ".join(record.organisations)):
                passage = _snippet(field_text, pattern)
                if passage:
                    break
            out[position] = (_mark(title, pattern), passage)
        return out


def fold(text: str) -> str:
    """``text`` lower-cased without accents, one character for one (positions stay valid).

    >>> fold("Quíncunx Ä")
    'quincunx a'
    """
    if text.isascii():
        return text.lower()
    return "".join(_fold_char(ch) for ch in text)


@functools.lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    return unicodedata.normalize("NFD", ch)[0].lower()[:1] or ch


def _mark(text: str, pattern: re.Pattern[str]) -> str:
    folded, out, last = fold(text), [], 0
    for match in pattern.finditer(folded):
        out += [text[last:match.start()], MARK_START, text[match.start():match.end()], MARK_END]
        last = match.end()
    return "".join(out) + text[last:]


def _snippet(text: str, pattern: re.Pattern[str], width: int = 90) -> str:
    """The passage of ``text`` around its first match, marked; empty when nothing matches."""
    match = pattern.search(fold(text))
    if not match:
        return ""
    start = max(0, match.start() - width)
    end = min(len(text), match.end() + width)
    if start:
        start = text.find(" ", start) + 1 or start
    if end < len(text):
        end = text.rfind(" ", match.end(), end) if text.rfind(" ", match.end(), end) > 0 else end
    return ("…" if start else "") + _mark(text[start:end], pattern) + (
        "…" if end < len(text) else "")


def search_terms(words: str) -> list[str]:
    """The words of a keyword query, lower-cased, at most :data:`MAX_TERMS`.

    >>> search_terms('Parents "co-op" OR x*')
    ['parents', 'co', 'op', 'or', 'x']
    """
    return [w.lower() for w in re.findall(r"\w+", words)][:MAX_TERMS]


def fts_query(words: str) -> str:
    """An FTS5 expression: every word must occur, each as a prefix; FTS syntax is neutralised.

    >>> fts_query('quality "NEAR(a b)"')
    '"quality"* "near"* "a"* "b"*'
    """
    return " ".join(f'"{term}"*' for term in search_terms(words))


def _case_rows(store: KnowledgeStore) -> dict[str, CaseRecord]:
    records: dict[str, CaseRecord] = {}
    for row in select(store, P + "SELECT ?case ?p ?o WHERE { ?case a cp:CoProductionCase . "
                      "VALUES ?p { dcterms:title dcterms:description cp:placeName cp:startDate "
                      "cp:endDate cp:ongoing cp:country } ?case ?p ?o }"):
        iri = row["case"].value
        record = records.setdefault(iri, CaseRecord(iri))
        prop, obj = row["p"].value.rsplit("/", 1)[-1], row["o"]
        if prop == "title":
            record.titles[obj.lang] = obj.value
        elif prop == "description":
            record.descriptions[obj.lang] = obj.value
        elif prop == "placeName":
            record.places[obj.lang] = obj.value
        elif prop == "startDate":
            record.start = min(record.start or obj.value, obj.value)
        elif prop == "endDate":
            record.end = obj.value
        elif prop == "ongoing":
            record.ongoing = obj.value in ("true", "1")
        elif prop == "country":
            record.country = obj.value
    for row in select(store, P + "SELECT DISTINCT ?case WHERE { ?case a cp:IllustrativeExample }"):
        if row["case"].value in records:
            records[row["case"].value].kind = ILLUSTRATION
    for row in select(store, P + "SELECT DISTINCT ?case ?l WHERE { ?case a cp:CoProductionCase . "
                      "{ ?case cp:provider ?o } UNION { ?case cp:hasCoding/cp:actsThrough ?o } "
                      "UNION { ?case cv:hasParticipation/cv:hasParticipant ?o } "
                      "?o rdfs:label|skos:prefLabel|foaf:name|org:name ?l }"):
        if row["case"].value in records:
            records[row["case"].value].organisations.append(row["l"].value)
    for row in select(store, P + "SELECT ?case ?q WHERE { ?case a cp:CoProductionCase ; "
                      "cp:hasCoding/cp:quote ?q }"):
        if row["case"].value in records:
            records[row["case"].value].quotes.append(row["q"].value)
    return records


def _labels(store: KnowledgeStore, iris: set[str]) -> dict[str, dict[str, str]]:
    labels: dict[str, dict[str, str]] = {}
    ordered = sorted(i for i in iris if i.startswith(("http://", "https://")))
    for start in range(0, len(ordered), _LABEL_CHUNK):
        chunk = " ".join(f"<{iri}>" for iri in ordered[start:start + _LABEL_CHUNK])
        rows = select(store, P + f"SELECT ?x ?p ?l WHERE {{ VALUES ?x {{ {chunk} }} "
                      "VALUES ?p { skos:prefLabel rdfs:label } ?x ?p ?l }")
        # skos:prefLabel wins over rdfs:label in the same language
        for row in sorted(rows, key=lambda r: r["p"].value.endswith("#label")):
            labels.setdefault(row["x"].value, {}).setdefault(row["l"].lang, row["l"].value)
    return labels


def build_index(store: KnowledgeStore, key: str | None = None) -> CaseIndex:
    """Read every published case from ``store`` and index it (a few queries)."""
    key = key or state_key(store)
    records = _case_rows(store)
    ordered = sorted(records.values(), key=lambda r: (r.title("en").lower(), r.iri))
    position = {record.iri: i for i, record in enumerate(ordered)}
    values: dict[str, dict[str, set[int]]] = {}
    for facet in FACETS:
        by_value = values.setdefault(facet.key, {})
        if facet.kind == "kind":
            for record in ordered:
                by_value.setdefault(record.kind, set()).add(position[record.iri])
            continue
        if facet.kind == "decade":
            for record in ordered:
                if decade_of(record.start):
                    by_value.setdefault(decade_of(record.start), set()).add(
                        position[record.iri])
            continue
        for row in select(store, P + "SELECT DISTINCT ?case ?v WHERE { "
                          f"?case a cp:CoProductionCase . {facet.pattern} "
                          f"FILTER(isIRI(?v) && ?v != cp:Service) }}"):
            found = position.get(row["case"].value)
            if found is not None:
                by_value.setdefault(row["v"].value, set()).add(found)
    iris = {value for facet, by_value in values.items() if facet != "decade" for value in by_value}
    iris |= {record.country for record in ordered if record.country}
    return CaseIndex(key, ordered, values, _labels(store, iris))


class IndexCache:
    """The index of the current published state: rebuilt when the state key changes.

    One build at a time; readers of an older index keep using it until the new one is ready.
    """

    def __init__(self) -> None:
        self._index: CaseIndex | None = None
        self._lock = threading.Lock()

    def get(self, store: KnowledgeStore) -> CaseIndex:
        """The index for the store's current state (built on first use of each state)."""
        key = state_key(store)
        current = self._index
        if current is not None and current.key == key:
            return current
        with self._lock:
            current = self._index
            if current is None or current.key != key:
                current = build_index(store, key)
                self._index = current
            return current
