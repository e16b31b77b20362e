"""Where curation changes are executed: the :class:`CurationWriter` protocol and its Oxigraph
implementation (one read-write embedded store per process; a remote SPARQL back end would send
the same update text in one request)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import pyoxigraph as ox

from coprod_kg.atomic import private_dir
from coprod_kg.errors import CoprodError, StoreBusy
from coprod_kg.rdf.terms import Row, solution_rows

BUSY_MESSAGE = ("the store is in use by a running server: use the HTTP API or stop the "
                "server")


class CurationReader(Protocol):
    """Read access the curation service needs."""

    def select(self, query: str, default_graphs: Sequence[str] | None = None) -> list[Row]:
        """Rows of a SELECT query (``default_graphs``: the default graph's union)."""
        ...

    def construct(self, query: str, default_graphs: Sequence[str] | None = None
                  ) -> list[ox.Triple]:
        """Triples of a CONSTRUCT query."""
        ...

    def graph_triples(self, name: str) -> list[ox.Triple]:
        """The triples of one named graph."""
        ...


class CurationWriter(CurationReader, Protocol):
    """Read and write access: every change is ONE SPARQL Update request."""

    def update(self, request: str) -> None:
        """Apply one SPARQL Update request atomically (all of it or none)."""
        ...

    def flush(self) -> None:
        """Make every applied update durable before returning."""
        ...

    def close(self) -> None:
        """Release the store."""
        ...


class OxigraphReader:
    """A :class:`CurationReader` over an embedded store (read-only or read-write)."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store

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


class OxigraphCurationWriter(OxigraphReader):
    """The read-write embedded store; :class:`StoreBusy` if another process holds it."""

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
                    raise StoreBusy(BUSY_MESSAGE) from exc
                raise
        super().__init__(store)

    @classmethod
    def over(cls, store: ox.Store) -> OxigraphCurationWriter:
        """A writer over a store this process already holds open read-write (the loader)."""
        return cls(store=store)

    def update(self, request: str) -> None:
        try:
            self.store.update(request)
        except SyntaxError as exc:  # a bug in updates.py, never user input
            raise CoprodError(f"internal error: invalid curation update: {exc}") from exc

    def flush(self) -> None:
        self.store.flush()

    def close(self) -> None:
        self.store.flush()
