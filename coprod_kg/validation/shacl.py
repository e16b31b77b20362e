"""Validate case records against the SHACL shapes: the one function CLI, API and tests call.

Design (see /work/shared/research/shacl.md, "bounded context graph"): the submission is merged
with the class hierarchy of the ontology and with the types and labels of every node it
references (from the ontology's vocabularies, or from the knowledge graph through
``ValidationContext.lookup``). That graph is validated by pySHACL without focus filters or
inference, and only the results about nodes the submission describes are kept. The cost does not
grow with the size of the knowledge graph.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import pyshacl
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SH
from rdflib.term import Node

from coprod_kg.config import Settings
from coprod_kg.errors import BadInput, CoprodError, Unprocessable
from coprod_kg.rdf.parsing import parse_rdf
from coprod_kg.rdf.prepared_graph import PreparedQueryGraph
from coprod_kg.rdf.rdflib_lock import SPARQL_PARSER_LOCK
from coprod_kg.rdf.source_lines import SourceText, locate
from coprod_kg.rdf.sources import load_files, load_ontology, load_shapes, new_graph, turtle_files
from coprod_kg.validation.findings import Finding, extract

#: Returns ``rdf:type`` and label triples of the given KG nodes (never the whole KG).
Lookup = Callable[[set[URIRef]], Graph]

#: What the vocabulary index keeps about each ontology term: what sh:class needs, no more.
_VOCAB_PREDICATES = (RDF.type, RDFS.subClassOf)

#: SHACL engines with pySHACL's ``validate`` API: pySHACL (default) and the much faster
#: pyshacl-turbo (optional; gives the same results on every fixture, tests/test_second_engine.py).
ENGINES = ("pyshacl", "pyshacl-turbo")


def no_lookup(nodes: set[URIRef]) -> Graph:
    """The default lookup: the knowledge graph is not consulted."""
    return Graph()


def graph_lookup(kg: Graph) -> Lookup:
    """A lookup backed by an in-memory graph (used by the CLI with the files of ``data/``)."""
    def lookup(nodes: set[URIRef]) -> Graph:
        out = Graph()
        for node in nodes:
            for pred in (RDF.type, RDFS.label):
                for obj in kg.objects(node, pred):
                    out.add((node, pred, obj))
        return out
    return lookup


@dataclass(frozen=True)
class ValidationContext:
    """What every validation needs, loaded once: shapes, class hierarchy, vocabulary index."""

    shapes: Graph
    tbox: Graph
    vocab: Mapping[Node, tuple[tuple[Node, Node, Node], ...]]
    lookup: Lookup = no_lookup
    engine: str = "pyshacl"
    #: The ontology and shapes folders it was loaded from ("" when built from graphs): a
    #: validation worker loads its own from its settings, so it may serve only a context of
    #: the same origin.
    origin: tuple[str, str] = ("", "")

    @classmethod
    def from_graphs(cls, ontology: Graph, shapes: Graph,
                    lookup: Lookup = no_lookup) -> ValidationContext:
        """Index ``ontology`` (types, labels, schemes, hierarchy) for fast per-call merging."""
        tbox = Graph()
        for sub, sup in ontology.subject_objects(RDFS.subClassOf):
            if isinstance(sub, URIRef) and isinstance(sup, URIRef):
                tbox.add((sub, RDFS.subClassOf, sup))
        vocab: dict[Node, list[tuple[Node, Node, Node]]] = {}
        for pred in _VOCAB_PREDICATES:
            for s, o in ontology.subject_objects(pred):
                if isinstance(s, URIRef) and not isinstance(o, BNode):
                    vocab.setdefault(s, []).append((s, pred, o))
        return cls(shapes=shapes, tbox=tbox,
                   vocab={k: tuple(v) for k, v in vocab.items()}, lookup=lookup)

    @classmethod
    def load(cls, settings: Settings, lookup: Lookup = no_lookup) -> ValidationContext:
        """Load the ontology and shapes named by ``settings``."""
        loaded = cls.from_graphs(load_ontology(settings.ontology_dir),
                                 load_shapes(settings.shapes_dir), lookup)
        return replace(loaded, origin=context_origin(settings))

    def with_lookup(self, lookup: Lookup) -> ValidationContext:
        """The same context with another knowledge-graph lookup."""
        return replace(self, lookup=lookup)

    def with_engine(self, engine: str) -> ValidationContext:
        """The same context validated by another engine (one of :data:`ENGINES`)."""
        if engine not in ENGINES:
            raise BadInput(f"unknown SHACL engine {engine!r}; use one of {', '.join(ENGINES)}")
        return replace(self, engine=engine)


@dataclass
class ValidationResult:
    """The outcome of validating one submission (one file, or several files together)."""

    conforms: bool
    findings: list[Finding]
    report: Graph
    sources: list[str | None] = field(default_factory=list)
    labels: dict[Node, str] = field(default_factory=dict)

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "violation"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity != "violation"]

    def grouped(self) -> dict[Node, dict[str, list[Finding]]]:
        """Findings by focus node, then by field (violations first)."""
        out: dict[Node, dict[str, list[Finding]]] = {}
        ordered = sorted(self.findings, key=lambda f: (f.severity != "violation", f.line or 0))
        for finding in ordered:
            by_field = out.setdefault(finding.focus_node, {})
            by_field.setdefault(finding.field or "(record)", []).append(finding)
        return out


class ValidationFailed(Unprocessable):
    """A submission does not conform to the shapes; carries the full validation result.

    A domain error like those of :mod:`coprod_kg.errors` (``status`` 422), kept next to the
    result it carries so that the errors module depends on nothing."""

    def __init__(self, result: ValidationResult, message: str | None = None) -> None:
        self.result = result
        count = len(result.violations)
        super().__init__(message or f"the submission does not conform: {count} violation(s); "
                         "nothing was stored")


def validate(data: bytes | str, media_type: str, *, context: ValidationContext,
             source_name: str | None = None) -> ValidationResult:
    """Parse and validate one submitted document.

    Raises :class:`~coprod_kg.errors.ParseError` (with line and column) if it does not parse.
    """
    graph = parse_rdf(data, media_type, source_name)
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    return validate_graph(graph, context=context, texts=[SourceText(source_name, text)])


def referenced_nodes(submission: Graph) -> set[URIRef]:
    """IRIs the submission points to without describing them."""
    described = set(submission.subjects())
    return {o for o in submission.objects() if isinstance(o, URIRef) and o not in described}


def context_graph(submission: Graph, context: ValidationContext) -> Graph:
    """Submission + class hierarchy + types and labels of the nodes it references."""
    graph = PreparedQueryGraph()
    graph += submission
    graph += context.tbox
    unknown: set[URIRef] = set()
    for node in referenced_nodes(submission):
        triples = context.vocab.get(node)
        if triples is None:
            unknown.add(node)
        else:
            for triple in triples:
                graph.add(triple)
    if unknown:
        graph += context.lookup(unknown)
    return graph


def validate_graph(submission: Graph, *, context: ValidationContext,
                   texts: Iterable[SourceText] = ()) -> ValidationResult:
    """Validate an already parsed submission; ``texts`` are its files, to find lines."""
    data = context_graph(submission, context)
    report = _run_engine(context, data)
    own = set(submission.subjects())
    sources = list(texts)
    findings = []
    for finding in extract(report, context.shapes, keep=own):
        name, line = locate(sources, _anchor(submission, finding.focus_node), finding.value,
                            finding.path)
        findings.append(replace(finding, source=name, line=line))
    conforms = not any(f.severity == "violation" for f in findings)
    return ValidationResult(conforms=conforms, findings=findings,
                            report=_filtered_report(report, own, conforms),
                            sources=[s.name for s in sources], labels=_labels(submission))


def _labels(submission: Graph) -> dict[Node, str]:
    """A title or label for each described node (English preferred)."""
    out: dict[Node, str] = {}
    for pred in (RDFS.label, DCTERMS.title):
        for node, value in submission.subject_objects(pred):
            if node not in out or getattr(value, "language", None) == "en":
                out[node] = str(value)
    return out


def _run_engine(context: ValidationContext, data: Graph) -> Graph:
    """Validate ``data`` with no inference and no focus filter; return the report graph."""
    engine = pyshacl
    if context.engine == "pyshacl-turbo":
        engine = importlib.import_module("pyshacl_turbo")
    # pySHACL parses SHACL-SPARQL with rdflib's shared parser, which threads corrupt; in the
    # server each validation worker process runs one validation at a time, so it never waits.
    with SPARQL_PARSER_LOCK:
        _, report, _ = engine.validate(
            data, shacl_graph=context.shapes, inference=None, advanced=False,
            allow_warnings=True, allow_infos=True, abort_on_first=False)
    if not isinstance(report, Graph):
        raise CoprodError(f"SHACL engine {context.engine} failed: {report}")
    return report


def _anchor(submission: Graph, node: Node) -> Node:
    """The nearest IRI describing ``node``: blank nodes are found through their parent."""
    seen: set[Node] = set()
    while isinstance(node, BNode) and node not in seen:
        seen.add(node)
        parent = next(iter(submission.subjects(None, node)), None)
        if parent is None:
            break
        node = parent
    return node


def _filtered_report(report: Graph, keep: set[Node], conforms: bool) -> Graph:
    """A W3C validation report holding only the results about submitted nodes."""
    out = new_graph()
    root = BNode()
    out.add((root, RDF.type, SH.ValidationReport))
    out.add((root, SH.conforms, Literal(conforms)))
    for result in report.objects(None, SH.result):
        if next(iter(report.objects(result, SH.focusNode)), None) in keep:
            out.add((root, SH.result, result))
            _copy_closure(report, result, out)
    return out


def _copy_closure(source: Graph, node: Node, into: Graph) -> None:
    """Copy ``node``'s triples and those of the blank nodes it reaches (a loop, not recursion:
    a reported value may be a long list)."""
    pending, seen = [node], {node}
    while pending:
        current = pending.pop()
        for pred, obj in source.predicate_objects(current):
            into.add((current, pred, obj))
            if isinstance(obj, BNode) and obj not in seen:
                seen.add(obj)
                pending.append(obj)


def _stamp(*directories: Path) -> tuple[tuple[str, int], ...]:
    return tuple((str(p), p.stat().st_mtime_ns)
                 for d in directories for p in turtle_files(d))


@lru_cache(maxsize=4)
def _cached_context(ontology_dir: Path, shapes_dir: Path,
                    stamp: tuple[tuple[str, int], ...]) -> ValidationContext:
    return ValidationContext.from_graphs(load_ontology(ontology_dir), load_shapes(shapes_dir))


def load_context_for(settings: Settings, kg_files: Iterable[Path] = ()) -> ValidationContext:
    """A context whose lookup reads the given knowledge-graph files (for the CLI).

    The ontology and shapes are re-read only when one of their files changed.
    """
    files = list(kg_files)
    lookup = graph_lookup(load_files(files)) if files else no_lookup
    stamp = _stamp(settings.ontology_dir, settings.shapes_dir)
    context = _cached_context(settings.ontology_dir, settings.shapes_dir, stamp)
    return replace(context, lookup=lookup, origin=context_origin(settings))


def context_origin(settings: Settings) -> tuple[str, str]:
    """Where a context for ``settings`` loads its ontology and shapes from."""
    return str(settings.ontology_dir), str(settings.shapes_dir)
