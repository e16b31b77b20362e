"""The published ontology: an HTML page naming every term; four serialisations that parse back."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from rdflib import Graph

from coprod_kg.config import load_settings
from coprod_kg.publishing.docs import (
    HTML_NAME,
    SERIALISATIONS,
    build_artifacts,
    publishable_graph,
    term_iris,
)
from coprod_kg.rdf.sources import load_ontology

ONTOLOGY_DIR = load_settings().ontology_dir


@pytest.fixture(scope="module")
def outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("docs")
    written = build_artifacts(ONTOLOGY_DIR, folder)
    assert sorted(p.name for p in written) == sorted([*SERIALISATIONS, HTML_NAME])
    return folder


@pytest.fixture(scope="module")
def published() -> Graph:
    return publishable_graph(load_ontology(ONTOLOGY_DIR))


def test_every_term_iri_is_in_the_html(outdir: Path, published: Graph) -> None:
    page = html.unescape((outdir / HTML_NAME).read_text(encoding="utf-8"))
    iris = term_iris(published)
    assert iris, "the ontology describes no IRI of ours"
    missing = [str(iri) for iri in iris if str(iri) not in page]
    assert not missing, f"{len(missing)} term(s) missing from the HTML: {missing[:20]}"


def test_every_term_has_an_anchor(outdir: Path, published: Graph) -> None:
    page = (outdir / HTML_NAME).read_text(encoding="utf-8")
    documented = page.count('<article class="term"')
    headers = sum(1 for _ in published.subjects(predicate=None, object=None, unique=True))
    assert documented > 0
    assert documented <= headers


# rdflib's own JSON-LD parser wraps the target graph in its deprecated ConjunctiveGraph.
@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
@pytest.mark.parametrize(("name", "fmt"), sorted(SERIALISATIONS.items()))
def test_serialisation_parses_back(outdir: Path, published: Graph, name: str, fmt: str) -> None:
    parsed = Graph().parse(data=(outdir / name).read_bytes(), format=fmt)
    assert len(parsed) == len(published)


def test_no_temporary_files_are_left(outdir: Path) -> None:
    leftovers = [p.name for p in outdir.iterdir() if p.name.startswith(".")]
    assert leftovers == []
