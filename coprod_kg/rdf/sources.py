"""Read the Turtle sources of truth (ontology, shapes, data) into rdflib graphs."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF

from coprod_kg.errors import BadInput, ParseError
from coprod_kg.rdf.namespaces import ONTOLOGY_IRI, PREFIXES

#: Module IRIs resolve to files in the ontology directory: ``.../module/{name}`` -> ``{name}.ttl``.
MODULE_BASE = ONTOLOGY_IRI + "/module/"
HEADER_FILE = "coprod.ttl"


def new_graph() -> Graph:
    """An empty graph with the project's prefixes bound."""
    graph = Graph()
    for prefix, iri in PREFIXES.items():
        graph.bind(prefix, iri, override=True, replace=True)
    return graph


def parse_turtle_file(path: Path, into: Graph | None = None) -> Graph:
    """Parse one Turtle file, turning a syntax error into a :class:`ParseError` with its line."""
    graph = new_graph() if into is None else into
    try:
        graph.parse(path, format="turtle")
    except SyntaxError as exc:  # rdflib's BadSyntax is a SyntaxError subclass
        line = getattr(exc, "lines", None)
        raise ParseError(str(exc), line=int(line) + 1 if isinstance(line, int) else None,
                         source=str(path)) from exc
    return graph


def module_files(ontology_dir: Path) -> list[Path]:
    """The header and every module it imports, resolved to local files, header first."""
    header = ontology_dir / HEADER_FILE
    if not header.is_file():
        raise BadInput(f"no ontology header {header}")
    graph = parse_turtle_file(header)
    files = [header]
    for iri in sorted(str(o) for o in graph.objects(URIRef(ONTOLOGY_IRI), OWL.imports)):
        if not iri.startswith(MODULE_BASE):
            raise BadInput(f"{header}: owl:imports {iri} is not a local module")
        path = ontology_dir / (iri[len(MODULE_BASE):] + ".ttl")
        if not path.is_file():
            raise BadInput(f"{header}: owl:imports {iri} but {path} does not exist")
        files.append(path)
    return files


def load_ontology(ontology_dir: Path) -> Graph:
    """The whole ontology (header and imported modules) as one graph.

    Module ``owl:Ontology`` headers are kept; ``owl:imports`` are resolved locally, never fetched.
    """
    graph = new_graph()
    for path in module_files(ontology_dir):
        parse_turtle_file(path, into=graph)
    return graph


def turtle_files(directory: Path) -> list[Path]:
    """Every ``*.ttl`` file under ``directory``, sorted, so loads are reproducible."""
    return sorted(p for p in directory.rglob("*.ttl") if p.is_file())


def load_files(paths: Iterable[Path]) -> Graph:
    """Parse several Turtle files into one graph."""
    graph = new_graph()
    for path in paths:
        parse_turtle_file(path, into=graph)
    return graph


def load_shapes(shapes_dir: Path) -> Graph:
    """Every SHACL shapes file as one graph."""
    return load_files(turtle_files(shapes_dir))


def subjects_of_type(graph: Graph, rdf_type: URIRef) -> list[URIRef]:
    """IRIs typed ``rdf_type`` in ``graph``, sorted."""
    return sorted(s for s in graph.subjects(RDF.type, rdf_type) if isinstance(s, URIRef))
