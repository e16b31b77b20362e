"""The rules of ``graph/inferred``, run on the scratch store in a thread while the load writes."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyoxigraph as ox

from coprod_kg.curation.bundled import is_curated
from coprod_kg.loading.sources import Parsed
from coprod_kg.rdf.namespaces import INFERRED_GRAPH, ONTOLOGY_GRAPH
from coprod_kg.reasoning.entailment import Schema, close
from coprod_kg.reasoning.materialise import SCHEMAS, fill, read_schema
from coprod_kg.storage.store import GraphWriter


@dataclass
class Inference:
    """The rules of ``graph/inferred`` running on the scratch store in a thread of their own.

    They read the ontology and the file graphs only (curated case versions carry their own
    entailments, :mod:`coprod_kg.curation.inference`): the parsed sources are in the scratch
    store already, the unchanged ones are read from the store first.
    """

    scratch: ox.Store
    thread: threading.Thread | None = None
    error: BaseException | None = None

    @classmethod
    def start(cls, writer: GraphWriter, scratch: ox.Store, parsed: Sequence[Parsed],
              graphs: Iterable[str]) -> Inference:
        """Read what the scratch store lacks, then start the rules."""
        ontology = next((p for p in parsed if p.ontology is not None), None)
        schema = (SCHEMAS.remember(ontology.triples or [], ontology.ontology)
                  if ontology is not None and ontology.ontology is not None
                  else read_schema(writer, str(ONTOLOGY_GRAPH)))
        in_scratch = {p.source.graph for p in parsed}
        fill(writer, scratch, [g for g in dict.fromkeys([str(ONTOLOGY_GRAPH), *graphs])
                               if g != str(INFERRED_GRAPH) and not is_curated(g)
                               and g not in in_scratch])
        inference = cls(scratch)
        inference.thread = threading.Thread(target=inference._run, args=(schema,),
                                            name="entailments", daemon=True)
        inference.thread.start()
        return inference

    def _run(self, schema: Schema) -> None:
        try:
            close(self.scratch, schema, gather=False)  # written out from each round's graph
        except BaseException as exc:  # noqa: BLE001 - handed to the loading thread as is
            self.error = exc

    def finish(self) -> ox.Store:
        """Wait for the rules; the scratch store with what they derived (their error, raised)."""
        assert self.thread is not None
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.scratch
