"""The facets of the case explorer: what each one is, and the SPARQL that gives its values.

A facet's ``pattern`` binds ``?v`` for a case ``?case``; the same pattern, with ``?v`` replaced
by a selected value, is what "this list as SPARQL" writes for a filter, so the explorer and its
query always agree. Two facets are not plain paths: the kind (documented case or illustration,
told apart by ``cp:IllustrativeExample`` when the ontology has it) and the start decade (a
number computed from ``cp:startDate``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from coprod_kg.errors import BadInput
from coprod_kg.rdf.namespaces import CP

from .linked_data import check_iri

DOCUMENTED = str(CP["DocumentedCase"])
ILLUSTRATION = str(CP["IllustrativeExample"])
_DECADE = re.compile(r"^-?\d{1,4}0$")


@dataclass(frozen=True)
class Facet:
    """One facet: its URL parameter, its English name and how its values are found."""

    key: str
    label: str
    pattern: str
    kind: str = "iri"  # "iri", "decade" or "kind"

    def check(self, value: str) -> str:
        """``value`` if it can be a value of this facet, else :class:`BadInput` (400)."""
        if self.kind == "decade":
            if not _DECADE.match(value):
                raise BadInput(f"{self.key} must be a decade such as 1980, not {value[:40]!r}")
            return value
        if self.kind == "kind" and value not in (DOCUMENTED, ILLUSTRATION):
            raise BadInput(f"{self.key} is {DOCUMENTED} or {ILLUSTRATION}")
        if len(value) > 2000 or not value.startswith(("http://", "https://", "urn:")):
            raise BadInput(f"{self.key} must be an IRI, not {value[:40]!r}")
        return check_iri(value)

    def where(self, value: str, var: str = "?case") -> str:
        """A SPARQL group pattern that holds for ``var`` when it has ``value`` for this facet."""
        if self.kind == "kind":
            if value == ILLUSTRATION:
                return f"{var} a <{ILLUSTRATION}> ."
            return f"FILTER NOT EXISTS {{ {var} a <{ILLUSTRATION}> }}"
        if self.kind == "decade":
            decade = int(value)
            return (f"{var} cp:startDate ?start_{self.key} . FILTER(xsd:integer(SUBSTR("
                    f"STR(?start_{self.key}), 1, 4)) >= {decade} && xsd:integer(SUBSTR("
                    f"STR(?start_{self.key}), 1, 4)) < {decade + 10})")
        return self.pattern.replace("?case", var).replace("?v", f"<{value}>")


#: The explorer's facets, in the order the page shows them.
FACETS: tuple[Facet, ...] = (
    Facet("kind", "Kind", "", kind="kind"),
    Facet("level", "Level", "?case cp:hasCoding/cp:level ?v ."),
    Facet("phase", "Phase", "?case cp:hasCoding/cp:phase ?v ."),
    Facet("relation", "Relation type", "?case cp:hasCoding/cp:relationType ?v ."),
    Facet("trajectory", "Trajectory", "?case cp:hasCoding/cp:trajectory ?v ."),
    Facet("servicekind", "Service kind",
          "?case cp:service/rdf:type ?v . ?v rdfs:subClassOf+ cp:Service ."),
    Facet("field", "Service field", "?case cp:service/cp:serviceField ?v ."),
    Facet("country", "Country", "?case cp:country ?v ."),
    Facet("sector", "Provider sector", "?case cp:provider/cp:sector ?v ."),
    Facet("legalform", "Provider legal form", "?case cp:provider/cp:legalForm ?v ."),
    Facet("basis", "Evidence basis", "?case cp:hasCoding/cp:evidenceBasis ?v ."),
    Facet("decade", "Start decade", "", kind="decade"),
)
BY_KEY: dict[str, Facet] = {facet.key: facet for facet in FACETS}


def decade_of(start: str) -> str:
    """The decade of a date or year literal (``"1989"`` or ``"1989-05-01"`` gives ``"1980"``).

    >>> decade_of("1989-05-01"), decade_of("2003"), decade_of("")
    ('1980', '2000', '')
    """
    match = re.match(r"^(-?\d{4})", start)
    if not match:
        return ""
    return str(int(match.group(1)) // 10 * 10)
