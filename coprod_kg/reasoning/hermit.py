"""OWL reasoning with HermiT (through owlready2): consistency, unsatisfiable classes, memberships.

Each call builds its own owlready2 ``World`` from an rdflib graph (``owl:imports`` removed so
nothing is fetched), runs HermiT once in a Java process with a modest heap, and throws the world
away. owlready2's module globals (heap size, temporary folder) are set only for the duration of
the call, under a lock, and restored afterwards; HermiT's temporary file lives in a folder that is
always deleted.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import owlready2
from owlready2 import reasoning as owl_reasoning
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF

from coprod_kg.errors import CoprodError, Unprocessable
from coprod_kg.rdf.namespaces import ONTOLOGY_IRI
from coprod_kg.rdf.sources import load_ontology, new_graph

#: Java heap for HermiT, in megabytes (owlready2's default is 2000).
JAVA_MEMORY_MB = 1000

_LOCK = threading.Lock()
_OWL_THING = str(OWL.Thing)
_OWL_NOTHING = str(OWL.Nothing)


class ReasonerUnavailable(CoprodError):
    """HermiT cannot run (no Java) or failed for a reason other than inconsistency."""

    status = 503


class InconsistentOntology(Unprocessable):
    """The ontology, or the ontology with the data, has no model."""


@dataclass(frozen=True)
class ReasonerReport:
    """What HermiT said about an ontology."""

    consistent: bool
    unsatisfiable: tuple[str, ...]
    seconds: float

    @property
    def ok(self) -> bool:
        return self.consistent and not self.unsatisfiable


def java_available() -> bool:
    """Whether the Java executable owlready2 calls is on the PATH."""
    return shutil.which(owlready2.JAVA_EXE) is not None


def without_imports(graph: Graph) -> Graph:
    """A copy of ``graph`` without ``owl:imports`` triples (owlready2 would fetch them)."""
    copy = new_graph()
    for triple in graph:
        if triple[1] != OWL.imports:
            copy.add(triple)
    return copy


@contextmanager
def _hermit_environment() -> Iterator[None]:
    """Point owlready2's temporary file into a private folder and cap the Java heap."""
    with _LOCK, tempfile.TemporaryDirectory(prefix="coprod-hermit-") as folder:
        saved_tempdir, saved_memory = tempfile.tempdir, owl_reasoning.JAVA_MEMORY
        tempfile.tempdir = folder
        owl_reasoning.JAVA_MEMORY = JAVA_MEMORY_MB
        try:
            yield
        finally:
            tempfile.tempdir = saved_tempdir
            owl_reasoning.JAVA_MEMORY = saved_memory


@contextmanager
def _world_of(graph: Graph) -> Iterator[owlready2.World]:
    """A fresh owlready2 world holding ``graph`` (minus imports), closed afterwards."""
    world = owlready2.World()
    try:
        data = without_imports(graph).serialize(format="nt", encoding="utf-8")
        world.get_ontology(ONTOLOGY_IRI).load(fileobj=io.BytesIO(data), format="ntriples")
        yield world
    finally:
        world.close()


def _run_hermit(world: owlready2.World) -> bool:
    """Run HermiT over ``world`` in place; False when the ontology is inconsistent."""
    if not java_available():
        raise ReasonerUnavailable(f"HermiT needs Java: '{owlready2.JAVA_EXE}' is not on the PATH")
    with _hermit_environment():
        try:
            owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0,
                                           ignore_unsupported_datatypes=True)
        except owlready2.OwlReadyInconsistentOntologyError:
            return False
        except owlready2.OwlReadyJavaError as exc:
            raise ReasonerUnavailable(f"HermiT failed: {exc}") from exc
    return True


def reason(graph: Graph) -> ReasonerReport:
    """Check that ``graph`` is consistent and list its unsatisfiable named classes."""
    started = time.monotonic()
    with _world_of(graph) as world:
        consistent = _run_hermit(world)
        unsatisfiable: list[str] = []
        if consistent:
            unsatisfiable = sorted(
                str(cls.iri) for cls in world.inconsistent_classes()
                if getattr(cls, "iri", _OWL_NOTHING) != _OWL_NOTHING)
    return ReasonerReport(consistent, tuple(unsatisfiable), time.monotonic() - started)


def reason_over_ontology(ontology_dir: Path) -> ReasonerReport:
    """Load the ontology of ``ontology_dir`` and run :func:`reason` over it."""
    return reason(load_ontology(ontology_dir))


def infer_memberships(ontology: Graph, data: Graph) -> Graph:
    """The ``rdf:type`` triples HermiT entails for the data's individuals and the data lacks.

    Covers the defined classes (a case with a complementary coding becomes a
    ``cp:ComplementaryCoProductionCase``) and every named superclass of each individual's types.
    Raises :class:`InconsistentOntology` when the data contradicts the ontology.
    """
    merged = new_graph()
    for triple in ontology:
        merged.add(triple)
    for triple in data:
        merged.add(triple)
    individuals = sorted({s for s in data.subjects() if isinstance(s, URIRef)})
    inferred = new_graph()
    with _world_of(merged) as world:
        if not _run_hermit(world):
            raise InconsistentOntology("the data contradicts the ontology (HermiT found no model)")
        for iri in individuals:
            entity = world[str(iri)]
            if not isinstance(entity, owlready2.Thing):
                continue
            for cls in entity.INDIRECT_is_a:
                if isinstance(cls, owlready2.ThingClass) and cls.iri not in (_OWL_THING,
                                                                            _OWL_NOTHING):
                    triple = (iri, RDF.type, URIRef(cls.iri))
                    if triple not in data:
                        inferred.add(triple)
    return inferred
