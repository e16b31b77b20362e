"""The README's counts of the bundled records are the counts the data gives."""

from __future__ import annotations

import re
from pathlib import Path

from rdflib import Graph, Namespace
from rdflib.namespace import RDF

ROOT = Path(__file__).resolve().parent.parent
CP = Namespace("https://w3id.org/coprod/ontology/")
CPC = Namespace("https://w3id.org/coprod/concept/")


def _records() -> Graph:
    graph = Graph()
    for path in sorted((ROOT / "data" / "cases").glob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph


def test_the_readme_counts_documented_cases_countries_and_illustrations() -> None:
    graph = _records()
    documented = set(graph.subjects(RDF.type, CP.DocumentedCase))
    illustrations = set(graph.subjects(RDF.type, CP.IllustrativeExample))
    countries = {graph.value(case, CP.country) for case in documented} - {None}
    row = next(line for line in (ROOT / "README.md").read_text().splitlines()
               if line.startswith("| `data/`"))
    found = re.search(r"(\d+) documented cases from (\d+) countries, (\d+) of them where "
                      r"co-production failed.*?(\d+) illustrative", row)
    assert found, row
    setbacks = {CPC.failed, CPC.discontinued, CPC.discouraged}
    failed = {case for case in documented for coding in graph.objects(case, CP.hasCoding)
              if graph.value(coding, CP.trajectory) in setbacks}
    assert (int(found[1]), int(found[2]), int(found[3]), int(found[4])) == (
        len(documented), len(countries), len(failed), len(illustrations))
