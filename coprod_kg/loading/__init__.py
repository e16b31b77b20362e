"""``coprod-kg load``: the ontology, the case records and extra RDF files into the store.

- :mod:`~coprod_kg.loading.sources`: which file goes to which named graph, read and parsed;
- :mod:`~coprod_kg.loading.storing`: the parsed sources written into their graphs;
- :mod:`~coprod_kg.loading.inference`: the rules, on the scratch store, in a thread;
- :mod:`~coprod_kg.loading.load`: :func:`load_store`, which runs them (and publishes the
  bundled cases) and writes the manifest last.
"""

from coprod_kg.loading.load import LoadReport, load_store
from coprod_kg.loading.sources import DATA_GRAPH_BASE, FILE_GRAPH_BASE, Source, plan_sources

__all__ = ["DATA_GRAPH_BASE", "FILE_GRAPH_BASE", "LoadReport", "Source", "load_store",
           "plan_sources"]
