"""The entailments of :mod:`coprod_kg.reasoning.entailment` read from and written to a store.

The rules run in an in-memory scratch store (:func:`~coprod_kg.reasoning.entailment.close`);
this module fills it from a store's graphs (embedded or remote, through
:class:`~coprod_kg.reasoning.entailment.GraphWriter`), reads the schema from the ontology graph,
and writes what was derived back: for the file graphs at load time (:func:`materialise`), and
for each curated case version with the ontology's closure computed once
(:func:`materialise_each`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

import pyoxigraph as ox
from rdflib import Graph

from coprod_kg.rdf.terms import to_rdflib, triple_to_oxigraph
from coprod_kg.reasoning.entailment import (
    DERIVED,
    INSERT_BATCH,
    GraphWriter,
    Schema,
    close,
    default_quads,
    derived_graphs,
)
from coprod_kg.storage.store import BulkGraphs


def _insert(engine: GraphWriter, target: str, triples: Iterable[ox.Triple]) -> None:
    batch: list[str] = []
    for triple in triples:
        batch.append(f"{triple.subject} {triple.predicate} {triple.object} .")
        if len(batch) >= INSERT_BATCH:
            engine.update(f"INSERT DATA {{ GRAPH <{target}> {{ {chr(10).join(batch)} }} }}")
            batch = []
    if batch:
        engine.update(f"INSERT DATA {{ GRAPH <{target}> {{ {chr(10).join(batch)} }} }}")


class _Schemas:
    """The last schema read, by the exact triples of the ontology it was read from: reading
    one builds an rdflib graph (about half a second for the bundled ontology), and the
    ontology rarely changes between two publications, or between a load's rules and its
    cases. The triples themselves are the key, so a changed ontology is never missed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: tuple[frozenset[ox.Triple], Schema] | None = None

    def get(self, triples: Sequence[ox.Triple]) -> Schema:
        """The schema of the ontology made of ``triples`` (read again only when they differ
        from the last ones)."""
        key = frozenset(triples)
        with self._lock:
            if self._last is not None and self._last[0] == key:
                return self._last[1]
        ontology = Graph()
        for triple in triples:
            ontology.add((to_rdflib(triple.subject), to_rdflib(triple.predicate),
                          to_rdflib(triple.object)))
        return self._keep(key, triples, ontology)

    def remember(self, triples: Sequence[ox.Triple], ontology: Graph) -> Schema:
        """The schema of ``ontology`` (parsed already), whose triples are ``triples``."""
        return self._keep(frozenset(triples), triples, ontology)

    def _keep(self, key: frozenset[ox.Triple], triples: Sequence[ox.Triple],
              ontology: Graph) -> Schema:
        schema = Schema.of(ontology)
        schema.quads = tuple(default_quads(triples))
        with self._lock:
            self._last = (key, schema)
        return schema


SCHEMAS = _Schemas()


def read_schema(engine: GraphWriter, ontology_graph: str) -> Schema:
    """The rules' view of the ontology stored in graph ``ontology_graph``."""
    return SCHEMAS.get(engine.graph_triples(ontology_graph))


def fill(engine: GraphWriter, scratch: ox.Store, graphs: Iterable[str],
         into: ox.NamedNode | ox.DefaultGraph | None = None) -> None:
    """Add the triples of ``graphs`` (read from ``engine``) to graph ``into`` (by default the
    default graph) of ``scratch``."""
    into = into or ox.DefaultGraph()
    for name in dict.fromkeys(graphs):
        if isinstance(engine, BulkGraphs):
            engine.copy_graph_into(name, scratch, into)
        else:
            scratch.bulk_extend([ox.Quad(t.subject, t.predicate, t.object, into)
                                 for t in engine.graph_triples(name)])


def write_derived(engine: GraphWriter, scratch: ox.Store, target: str) -> int:
    """Replace graph ``target`` of ``engine`` by what :func:`close` derived in ``scratch``
    (gathered or not: :func:`derived_graphs`)."""
    graphs = derived_graphs(scratch)
    if isinstance(engine, BulkGraphs):
        return engine.replace_graph_from(target, scratch, graphs)
    known = sorted((q.triple for graph in graphs
                    for q in scratch.quads_for_pattern(None, None, None, graph)), key=str)
    replace_graph = getattr(engine, "replace_graph", None)  # a Graph Store: bounded requests
    if replace_graph is not None:
        replace_graph(target, known)
        return len(known)
    engine.update(f"DROP SILENT GRAPH <{target}>")
    _insert(engine, target, known)
    return len(known)


def materialise(engine: GraphWriter, ontology_graph: str, sources: Iterable[str],
                target: str, schema: Schema | None = None,
                scratch: ox.Store | None = None, filled: Iterable[str] = ()) -> int:
    """Replace graph ``target`` by the entailments of the ontology plus ``sources``.

    The inputs are read from ``engine`` into a scratch in-memory store (``scratch``: one the
    caller already filled with the graphs ``filled``, which are not read again), the rules run
    there (:func:`close`), and only the result is written back. Returns the triple count. Pass
    ``schema`` (from :func:`read_schema`) to reuse it across several calls.
    """
    schema = schema or read_schema(engine, ontology_graph)
    scratch = scratch if scratch is not None else ox.Store()
    done = {target, *filled}
    if ontology_graph not in done and schema.quads:
        scratch.bulk_extend(schema.quads)
        done.add(ontology_graph)
    fill(engine, scratch, [g for g in [ontology_graph, *sources] if g not in done])
    close(scratch, schema)
    return write_derived(engine, scratch, target)


#: The scratch graphs of :func:`materialise_each`: the ontology's own entailments, one
#: version's triples, and those of them the closed ontology did not hold yet.
ONTOLOGY_DERIVED, INPUT, ADDED = (f"urn:coprod:{n}" for n in ("ontology-derived", "input",
                                                              "added"))


def materialise_each(engine: GraphWriter, ontology_graph: str,
                     jobs: Sequence[tuple[str, str]], schema: Schema | None = None) -> list[int]:
    """For each ``(source, target)`` of ``jobs``, what :func:`materialise` of ``[source]`` into
    ``target`` does, with the ontology's closure computed once for all of them.

    The scratch store keeps the ontology closed under the rules (its entailments E also in a
    graph of their own). Each source's triples are added to it, the rules run from those only,
    and the target gets E minus the source's triples, plus what the rules derived: exactly the
    entailments of the ontology and the source, not asserted in either. Then the source's
    triples and what they derived leave the default graph, which is the closed ontology again.
    """
    if not jobs:
        return []
    schema = schema or read_schema(engine, ontology_graph)
    scratch = ox.Store()
    if schema.quads:
        scratch.bulk_extend(schema.quads)
    else:
        fill(engine, scratch, [ontology_graph])
    close(scratch, schema)
    scratch.update(f"MOVE <{DERIVED.value}> TO <{ONTOLOGY_DERIVED}>")
    counts: list[int] = []
    for source, target in jobs:
        fill(engine, scratch, [source], ox.NamedNode(INPUT))
        scratch.update(f"INSERT {{ ?s ?p ?o . GRAPH <{ADDED}> {{ ?s ?p ?o }} }} WHERE {{ "
                       f"GRAPH <{INPUT}> {{ ?s ?p ?o }} FILTER NOT EXISTS {{ ?s ?p ?o }} }}")
        close(scratch, schema, start=ADDED)
        for graph in (DERIVED.value, ADDED):  # back to the closed ontology
            scratch.update(f"DELETE {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
        scratch.update(f"INSERT {{ GRAPH <{DERIVED.value}> {{ ?s ?p ?o }} }} WHERE {{ "
                       f"GRAPH <{ONTOLOGY_DERIVED}> {{ ?s ?p ?o }} "
                       f"FILTER NOT EXISTS {{ GRAPH <{INPUT}> {{ ?s ?p ?o }} }} }}")
        counts.append(write_derived(engine, scratch, target))
        for graph in (DERIVED.value, INPUT, ADDED):
            scratch.update(f"DROP SILENT GRAPH <{graph}>")
    return counts


def compute_entailments(ontology: Graph, data: Graph) -> Graph:
    """The entailments of ``ontology`` + ``data`` as an rdflib graph (for small inputs, tests).

    >>> from rdflib import Namespace
    >>> from rdflib.namespace import RDF, RDFS
    >>> ex = Namespace("http://example.org/")
    >>> onto, data = Graph(), Graph()
    >>> _ = onto.add((ex.Cat, RDFS.subClassOf, ex.Animal))
    >>> _ = data.add((ex.tom, RDF.type, ex.Cat))
    >>> (ex.tom, RDF.type, ex.Animal) in compute_entailments(onto, data)
    True
    """
    # Imported here: the curation package builds on this module.
    from coprod_kg.storage.embedded.writer import OxigraphWriter

    store = ox.Store()
    names = {"ontology": "urn:coprod:ontology", "data": "urn:coprod:data",
             "inferred": "urn:coprod:inferred"}
    for graph, name in ((ontology, names["ontology"]), (data, names["data"])):
        node = ox.NamedNode(name)
        quads = []
        for s, p, o in graph:
            triple = triple_to_oxigraph(s, p, o)
            quads.append(ox.Quad(triple.subject, triple.predicate, triple.object, node))
        store.extend(quads)
    materialise(OxigraphWriter.over(store), names["ontology"], [names["data"]],
                names["inferred"])
    inferred = Graph()
    for quad in store.quads_for_pattern(None, None, None, ox.NamedNode(names["inferred"])):
        inferred.add((to_rdflib(quad.subject), to_rdflib(quad.predicate),
                      to_rdflib(quad.object)))
    return inferred
