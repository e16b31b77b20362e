"""What a release publishes: CITATION.cff (CFF 1.2.0) and the ontology's version IRI follow
the package's version, and ``coprod-kg dump --release`` writes dated dumps."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from pathlib import Path

import pytest
import yaml
from rdflib import Graph, URIRef
from rdflib.namespace import OWL

from coprod_kg import __version__
from coprod_kg.cli import main
from coprod_kg.config import PROJECT_ROOT
from coprod_kg.rdf.namespaces import ONTOLOGY_IRI

VERSION = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["version"]
CFF = yaml.safe_load((PROJECT_ROOT / "CITATION.cff").read_text(encoding="utf-8"))


def test_the_package_knows_its_version() -> None:
    assert __version__ == VERSION


def test_citation_cff_is_cff_1_2_0() -> None:
    for key in ("cff-version", "message", "title", "authors"):  # required by the schema
        assert CFF.get(key), key
    assert CFF["cff-version"] == "1.2.0"
    for author in CFF["authors"]:
        assert author.get("name") or author.get("family-names"), author
    assert CFF["type"] in ("software", "dataset")
    assert isinstance(CFF["date-released"], str | date)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(CFF["date-released"]))
    for identifier in CFF.get("identifiers", []):
        assert identifier["type"] in ("doi", "url", "swh", "other") and identifier["value"]
    for reference in CFF.get("references", []):
        assert reference["type"] and reference["title"] and reference["authors"]


def test_citation_and_ontology_follow_the_package_version() -> None:
    assert str(CFF["version"]) == VERSION
    ontology = Graph().parse(PROJECT_ROOT / "ontology" / "coprod.ttl")
    header = URIRef(ONTOLOGY_IRI)
    assert ontology.value(header, OWL.versionIRI) == URIRef(f"{ONTOLOGY_IRI}/{VERSION}")
    assert str(ontology.value(header, OWL.versionInfo)) == VERSION
    cited = {i["value"] for i in CFF.get("identifiers", [])}
    assert f"{ONTOLOGY_IRI}/{VERSION}" in cited


def test_release_dumps_are_dated_and_versioned(real_store: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from backends import backend_env

    for name, value in backend_env(real_store).items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "release"
    assert main(["dump", "--release", str(out), "--store", str(real_store)]) == 0
    today = date.today().isoformat()
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f"coprod-kg-{VERSION}-{today}.nq", f"coprod-kg-{VERSION}-{today}.nt",
                            f"coprod-kg-{VERSION}-{today}.ttl", "SHA256SUMS"])
    sums = (out / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == 3 and all(len(line.split()[0]) == 64 for line in sums)
    graph = Graph().parse(out / f"coprod-kg-{VERSION}-{today}.ttl")
    assert (URIRef(ONTOLOGY_IRI), OWL.versionIRI, URIRef(f"{ONTOLOGY_IRI}/{VERSION}")) in graph
