"""The reader's language: which one a request asks for, labels in it, and the pages' own words.

Labels come from the graph (``skos:prefLabel``/``rdfs:label`` with language tags) and fall back
to English, then to a label without a language, then to any. The pages' own words (navigation,
headings, facet names) are translated here for the languages listed in :data:`LANGUAGES`.
"""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT = "en"
#: Languages the pages are written in, with their names in themselves (for the switch).
LANGUAGES: dict[str, str] = {"en": "English", "pl": "polski"}

#: The pages' own words. English is the key set; a missing translation falls back to English.
MESSAGES: dict[str, dict[str, str]] = {
    "pl": {
        "Query": "Zapytania",
        "Cases": "Przypadki",
        "Concepts": "Pojęcia",
        "Organisations": "Organizacje",
        "Sources": "Źródła",
        "Ontology": "Ontologia",
        "Dataset": "Zbiór danych",
        "Validate": "Walidacja",
        "Contribute": "Zgłoś przypadek",
        "Review": "Recenzja",
        "Sign in": "Zaloguj się",
        "API": "API",
        "Language": "Język",
        "Skip to content": "Przejdź do treści",
        "Explore cases": "Przeglądaj przypadki",
        "Search": "Szukaj",
        "Keywords": "Słowa kluczowe",
        "Filters": "Filtry",
        "Clear all filters": "Usuń wszystkie filtry",
        "Remove filter": "Usuń filtr",
        "cases": "przypadków",
        "case": "przypadek",
        "Case": "Przypadek",
        "Country": "Kraj",
        "Place": "Miejsce",
        "Since": "Od",
        "Until": "Do",
        "ongoing": "trwa",
        "Kind": "Rodzaj",
        "Level": "Poziom",
        "Phase": "Faza",
        "Relation type": "Typ relacji",
        "Service kind": "Rodzaj usługi",
        "Service field": "Dziedzina usługi",
        "Provider sector": "Sektor dostawcy",
        "Provider legal form": "Forma prawna dostawcy",
        "Evidence basis": "Podstawa dowodowa",
        "Start decade": "Dekada rozpoczęcia",
        "Documented case": "Udokumentowany przypadek",
        "Trajectory": "Przebieg",
        "Primary documents": "Dokumenty źródłowe",
        "What the sources report": "Co podają źródła",
        "Illustration": "Ilustracja",
        "Download": "Pobierz",
        "this list as SPARQL": "ta lista jako SPARQL",
        "Charts": "Wykresy",
        "Previous": "Poprzednie",
        "Next": "Następne",
        "No case matches.": "Żaden przypadek nie pasuje.",
        "Service": "Usługa",
        "Providers": "Dostawcy",
        "Participants": "Uczestnicy",
        "Coded claims": "Zakodowane twierdzenia",
        "Dimension": "Wymiar",
        "Value": "Wartość",
        "Basis": "Podstawa",
        "Source": "Źródło",
        "Quoted passage": "Cytowany fragment",
        "Outcomes and risks": "Efekty i ryzyka",
        "Related cases": "Powiązane przypadki",
        "Cite this case": "Cytuj ten przypadek",
        "Cite": "Cytuj",
        "History": "Historia",
        "All triples": "Wszystkie trójki",
        "Definition": "Definicja",
        "Broader": "Szersze",
        "Narrower": "Węższe",
        "Labels": "Etykiety",
        "Mappings": "Odwzorowania",
        "Cases coded with this concept": "Przypadki zakodowane tym pojęciem",
        "Cited by": "Cytowane przez",
        "Home": "Strona główna",
    },
}


def choose_language(param: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The page language: ``?lang=``, then the remembered choice, then ``Accept-Language``.

    >>> choose_language(None, None, "pl-PL,pl;q=0.9,en;q=0.5")
    'pl'
    >>> choose_language("en", None, "pl")
    'en'
    """
    for explicit in (param, cookie):
        if explicit and explicit.lower() in LANGUAGES:
            return explicit.lower()
    for tag in accepted_languages(accept_language):
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
    return DEFAULT


def accepted_languages(header: str | None) -> list[str]:
    """The language tags of an ``Accept-Language`` header, best first (``q=0`` dropped).

    >>> accepted_languages("en;q=0.4, pl, de;q=0")
    ['pl', 'en']
    """
    weighted: list[tuple[float, int, str]] = []
    for index, element in enumerate((header or "").split(",")[:50]):
        tag, *params = element.split(";")
        tag = tag.strip().lower()
        if not tag or len(tag) > 35:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        if q > 0:
            weighted.append((-q, index, tag))
    return [tag for _, _, tag in sorted(weighted)]


def translate(lang: str, text: str) -> str:
    """``text`` (an English message) in ``lang``, or as it is when no translation exists."""
    return MESSAGES.get(lang, {}).get(text, text)


def pick(labels: Mapping[str, str], lang: str) -> str:
    """The label for ``lang`` from ``{language tag: text}``: else English, untagged, any.

    >>> pick({"en": "delivery", "pl": "realizacja"}, "pl")
    'realizacja'
    >>> pick({"en": "delivery"}, "pl")
    'delivery'
    """
    for wanted in (lang, DEFAULT, ""):
        if wanted in labels:
            return labels[wanted]
    for tag, text in labels.items():
        if tag.split("-")[0] == lang:
            return text
    return next(iter(labels.values()), "")
