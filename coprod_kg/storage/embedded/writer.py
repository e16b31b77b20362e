"""The embedded store's :class:`~coprod_kg.storage.store.GraphReader` and
:class:`~coprod_kg.storage.store.GraphWriter`: one read-write pyoxigraph store per process
(the loader's whole graphs and curation's update requests go through the same object)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pyoxigraph as ox

from coprod_kg.atomic import private_dir
from coprod_kg.errors import CoprodError, WriterElsewhere
from coprod_kg.rdf.terms import Row, solution_rows

#: Graphs this big go through the engine's bulk loader (its own files, no transaction log);
#: smaller ones through a transaction, so many small graphs do not each make files.
BULK_BYTES = 4_000_000
BULK_TRIPLES = 50_000
BUSY_MESSAGE = ("the store is in use by a running server: use the HTTP API or stop the "
                "server")


class OxigraphReader:
    """A :class:`~coprod_kg.storage.store.GraphReader` over an embedded store (read-only or
    read-write)."""

    def __init__(self, store: ox.Store) -> None:
        self._store: ox.Store | None = store

    @property
    def store(self) -> ox.Store:
        """The open pyoxigraph store (:class:`CoprodError` once closed)."""
        if self._store is None:
            raise CoprodError("internal error: the store was used after it was closed")
        return self._store

    @classmethod
    def read_only(cls, store_dir: Path, attempts: int = 5) -> OxigraphReader:
        """A read-only view of ``store_dir`` as it is now.

        A writer in another process may compact files away while the view opens; the open is
        then retried on the current files.
        """
        for attempt in range(1, attempts + 1):
            try:
                return cls(ox.Store.read_only(str(store_dir)))
            except (OSError, RuntimeError):
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")

    def _query(self, query: str, default_graphs: Sequence[str] | None) -> object:
        if default_graphs is None:
            return self.store.query(query, use_default_graph_as_union=True)
        return self.store.query(query, default_graph=[ox.NamedNode(g) for g in default_graphs])

    def select(self, query: str, default_graphs: Sequence[str] | None = None) -> list[Row]:
        solutions = self._query(query, default_graphs)
        assert isinstance(solutions, ox.QuerySolutions)
        return solution_rows(solutions)

    def construct(self, query: str, default_graphs: Sequence[str] | None = None
                  ) -> list[ox.Triple]:
        triples = self._query(query, default_graphs)
        assert isinstance(triples, ox.QueryTriples)
        return list(triples)

    def graph_triples(self, name: str) -> list[ox.Triple]:
        graph = ox.NamedNode(name)
        return [q.triple for q in self.store.quads_for_pattern(None, None, None, graph)]


class OxigraphWriter(OxigraphReader):
    """The read-write embedded store; :class:`WriterElsewhere` if another process holds it.

    >>> writer = OxigraphWriter.over(ox.Store())
    >>> writer.replace_graph("urn:g", [ox.Triple(ox.NamedNode("urn:s"), ox.NamedNode("urn:p"),
    ...                                          ox.Literal("o"))])
    1
    >>> writer.update("DELETE WHERE { GRAPH <urn:g> { ?s ?p ?o } }")
    >>> writer.graph_triples("urn:g")
    []
    """

    def __init__(self, store_dir: Path | None = None, store: ox.Store | None = None) -> None:
        """Open ``store_dir`` read-write, or wrap ``store`` that this process holds open."""
        if store is None:
            if store_dir is None:
                raise ValueError("give store_dir or store")
            private_dir(store_dir)  # 0700, and every file the engine makes 0600
            try:
                store = ox.Store(str(store_dir))
            except OSError as exc:
                if "lock" in str(exc).lower():
                    raise WriterElsewhere(BUSY_MESSAGE) from exc
                raise
        super().__init__(store)

    @classmethod
    def over(cls, store: ox.Store) -> OxigraphWriter:
        """A writer over a store this process already holds open read-write (the loader)."""
        return cls(store=store)

    def replace_graph(self, name: str, triples: Iterable[ox.Triple]) -> int:
        graph = ox.NamedNode(name)
        quads = [ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples]
        if self.store.contains_named_graph(graph):
            self.store.remove_graph(graph)
        self.store.extend(quads)
        return len(quads)

    def remove_graph(self, name: str) -> None:
        graph = ox.NamedNode(name)
        if self.store.contains_named_graph(graph):
            self.store.remove_graph(graph)

    def replace_graph_data(self, name: str, data: bytes, rdf_format: ox.RdfFormat,
                           base_iri: str | None = None) -> int:
        """Replace graph ``name`` by the triples of ``data`` (a serialisation without blank
        nodes: the engine's loaders rename them), with the engine's bulk loader when big.

        Not one transaction: the loader publishes the graph only with the manifest written
        after it. Returns the graph's triple count.
        """
        self.remove_graph(name)
        graph = ox.NamedNode(name)
        if len(data) >= BULK_BYTES:
            self.store.bulk_load(data, rdf_format, base_iri=base_iri, to_graph=graph)
        else:
            self.store.load(data, rdf_format, base_iri=base_iri, to_graph=graph)
        return self.count_graph(name)

    def count_graph(self, name: str) -> int:
        """How many triples graph ``name`` holds (counted inside the engine)."""
        result = self.store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{name}> "
                                  "{ ?s ?p ?o } }")
        assert isinstance(result, ox.QuerySolutions)
        value = next(iter(result))["n"]
        assert isinstance(value, ox.Literal)
        return int(value.value)

    def copy_graph_into(self, name: str, scratch: ox.Store,
                        into: ox.NamedNode | ox.DefaultGraph | None = None) -> None:
        """Add the triples of graph ``name`` to graph ``into`` (by default the default graph)
        of ``scratch`` (the same terms, blank nodes included)."""
        target = into or ox.DefaultGraph()
        scratch.bulk_extend(ox.Quad(q.subject, q.predicate, q.object, target)
                       for q in self.store.quads_for_pattern(None, None, None,
                                                             ox.NamedNode(name)))

    def replace_graph_from(self, name: str, scratch: ox.Store,
                           graphs: Sequence[ox.NamedNode]) -> int:
        """Replace graph ``name`` by the union of ``graphs`` of the in-memory ``scratch`` store
        (graphs that share no triple); a big one without blank nodes goes through the bulk
        loader as N-Triples."""
        listed = " ".join(f"<{graph.value}>" for graph in graphs)
        has_blank = scratch.query(f"ASK {{ VALUES ?g {{ {listed} }} GRAPH ?g {{ ?s ?p ?o "
                                  "FILTER(isBlank(?s) || isBlank(?o)) } }")
        if not has_blank:
            data = b"".join(scratch.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=graph) or b""
                            for graph in graphs)
            return self.replace_graph_data(name, data, ox.RdfFormat.N_TRIPLES)
        self.remove_graph(name)
        target = ox.NamedNode(name)
        quads = [ox.Quad(q.subject, q.predicate, q.object, target) for graph in graphs
                 for q in scratch.quads_for_pattern(None, None, None, graph)]
        if len(quads) >= BULK_TRIPLES:
            self.store.bulk_extend(quads)
        else:
            self.store.extend(quads)
        return len(quads)

    def update(self, request: str) -> None:
        try:
            self.store.update(request)
        except SyntaxError as exc:  # a bug in updates.py, never user input
            raise CoprodError(f"internal error: invalid curation update: {exc}") from exc

    def flush(self) -> None:
        self.store.flush()

    def close(self) -> None:
        """Flush, then drop this object's hold on the store: pyoxigraph releases the files and
        their lock with the last reference, which the owner of the writer holds."""
        if self._store is not None:
            self._store.flush()
            self._store = None


@contextmanager
def open_writer(store_dir: Path) -> Iterator[OxigraphWriter]:
    """The read-write store of ``store_dir`` for the ``with`` block, closed at its end."""
    writer = OxigraphWriter(store_dir)
    try:
        yield writer
    finally:
        writer.close()
