"""Publish the ontology: one HTML page with every term, and Turtle, RDF/XML, JSON-LD, N-Triples.

The page is rendered from the Turtle with the Jinja2 template ``templates/ontology.html.j2``
(pyLODE was not used: its OWL mode leaves SKOS concepts and other individuals out and it looks
prefixes up on the network). Files are written atomically.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from rdflib import Graph, URIRef
from rdflib.namespace import OWL

from coprod_kg.atomic import write_bytes
from coprod_kg.config import BUILD_DIR
from coprod_kg.publishing.docs_model import Page, build_page
from coprod_kg.rdf.namespaces import BASE, PREFIXES
from coprod_kg.rdf.sources import MODULE_BASE, load_ontology, new_graph

DEFAULT_OUTDIR = BUILD_DIR / "ontology"

#: File name -> rdflib serialiser name, for every machine-readable form we publish.
SERIALISATIONS: dict[str, str] = {
    "coprod.ttl": "turtle",
    "coprod.owl": "xml",
    "coprod.jsonld": "json-ld",
    "coprod.nt": "nt",
}
HTML_NAME = "index.html"


def publishable_graph(ontology: Graph) -> Graph:
    """The merged ontology minus ``owl:imports`` of local modules (their triples are inside)."""
    graph = new_graph()
    for triple in ontology:
        if triple[1] == OWL.imports and str(triple[2]).startswith(MODULE_BASE):
            continue
        graph.add(triple)
    return graph


def serialise(graph: Graph, fmt: str) -> bytes:
    """One serialisation of ``graph`` as bytes."""
    if fmt == "json-ld":
        return graph.serialize(format=fmt, context=dict(PREFIXES), encoding="utf-8")
    return graph.serialize(format=fmt, encoding="utf-8")


def render_html(page: Page) -> str:
    """Render the documentation page."""
    env = Environment(loader=PackageLoader("coprod_kg.publishing", "templates"),
                      autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    return env.get_template("ontology.html.j2").render(page=page)


def term_iris(graph: Graph) -> list[URIRef]:
    """Every IRI of ours that the graph describes (what the documentation must show)."""
    return sorted({s for s in graph.subjects()
                   if isinstance(s, URIRef) and str(s).startswith(BASE)})


def build_artifacts(ontology_dir: Path, outdir: Path = DEFAULT_OUTDIR) -> list[Path]:
    """Write ``index.html`` and every serialisation of the ontology to ``outdir``."""
    graph = publishable_graph(load_ontology(ontology_dir))
    written: list[Path] = []
    for name, fmt in SERIALISATIONS.items():
        path = outdir / name
        write_bytes(path, serialise(graph, fmt))
        written.append(path)
    page = build_page(graph, files=list(SERIALISATIONS))
    html_path = outdir / HTML_NAME
    write_bytes(html_path, render_html(page).encode("utf-8"))
    written.append(html_path)
    return written
