"""Single-record validation time against a knowledge graph of each benchmark size.

The record (``tests/data/valid/parent-cooperative-preschool.ttl``, as in
``bench.validation_scaling``) is validated with its bounded context; the lookup of the types
and labels of the nodes it references goes to the benchmark's own loaded store (pyoxigraph,
read-only), which is what grows with the size.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef

from bench.validation_scaling import RECORD
from coprod_kg.config import load_settings
from coprod_kg.rdf.terms import to_rdflib
from coprod_kg.validation.shacl import Lookup, ValidationContext, validate

_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")


def store_lookup(store: ox.Store) -> Lookup:
    """Types and labels of the referenced nodes, read from ``store`` (any graph)."""
    def lookup(nodes: set[URIRef]) -> Graph:
        out = Graph()
        for node in nodes:
            subject = ox.NamedNode(str(node))
            for pred in (_TYPE, _LABEL):
                for quad in store.quads_for_pattern(subject, pred, None, None):
                    out.add((node, to_rdflib(pred), to_rdflib(quad.object)))
        return out
    return lookup


def time_validation(store_dir: Path, runs: int) -> dict[str, float]:
    """p50 and p95 milliseconds of ``runs`` validations of the record (after one warm-up)."""
    store = ox.Store.read_only(str(store_dir))
    try:
        context = ValidationContext.load(load_settings()).with_lookup(store_lookup(store))
        data = RECORD.read_bytes()
        result = validate(data, "text/turtle", context=context)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            validate(data, "text/turtle", context=context)
            times.append((time.perf_counter() - start) * 1000)
    finally:
        del store
    times.sort()
    return {"p50_ms": statistics.median(times), "p95_ms": times[int(0.95 * (len(times) - 1))],
            "runs": float(runs), "conforms": float(result.conforms)}
