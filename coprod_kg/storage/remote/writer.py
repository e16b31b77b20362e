"""Write access to a remote SPARQL server: whole graphs over the Graph Store HTTP Protocol, and
small SPARQL Update requests, written so that any conforming server accepts them.

What this relies on, and what it does not (Virtuoso 7 taught each point):

- graph content travels over the Graph Store protocol in bounded requests
  (:data:`GSP_BATCH` triples: one PUT, then POSTs), never as a large ``INSERT DATA``;
- an update is ONE operation wherever atomicity matters: a multi-operation request may be
  applied in part when it fails;
- a curation change (:class:`~coprod_kg.curation.updates.StagedUpdate`) writes its new
  graphs under fresh names first, then makes them visible with one operation on the curation
  records that readers consult; a failure in between removes the new graphs again;
- no blank node is ever sent in an update, and no query lists graphs with ``GRAPH ?g {}``.

:class:`RemoteWriter` implements :class:`~coprod_kg.storage.store.GraphWriter` for the loader, and
the
read/write methods of the curation back end (``select``/``construct``/``graph_triples``/
``update``/``flush``/``close``, the shape of
``coprod_kg.storage.embedded.writer.GraphWriter``).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Sequence

import httpx
import pyoxigraph as ox

from coprod_kg.errors import CoprodError
from coprod_kg.rdf.namespaces import GRAPH
from coprod_kg.rdf.terms import Row, solution_rows
from coprod_kg.storage.remote.changes import WriteCounter
from coprod_kg.storage.remote.http import (
    RemoteEndpoints,
    make_client,
    query_form,
    raise_for_status,
    transport_error,
)
from coprod_kg.storage.staged_update import Quad, StagedUpdate

_NTRIPLES = "application/n-triples"
_JSON_RESULTS = "application/sparql-results+json"

#: Triples per Graph Store request (Virtuoso takes 50,000 in under half a second).
GSP_BATCH = 20_000
#: Constant triples a publishing operation may carry in its text; more go through staging
#: graphs (Virtuoso's SQL compiler fails between 1,000 and 2,000 triples in one template).
INLINE_QUADS = 400
#: Where staged triples wait for the one operation that publishes them (private, temporary).
STAGING_BASE = str(GRAPH) + "staging/"

#: The private graph of the curation records (named in coprod_kg.curation.model too).
_CURATION_GRAPH = str(GRAPH["curation"])


class RemoteWriter:
    """Graph-level and update-level writes (and the reads curation needs) on a remote server."""

    def __init__(self, endpoints: RemoteEndpoints, timeout: float = 120.0,
                 client: httpx.Client | None = None, changes: WriteCounter | None = None
                 ) -> None:
        """``changes``: bumped after every write, so this process's readers of the published
        state re-read it at once (:class:`~coprod_kg.storage.remote.store.RemoteStore`)."""
        self.endpoints = endpoints
        self.timeout = timeout
        self.changes = changes
        self._owned = client is None
        self.client = client if client is not None else make_client(timeout)

    # -- transport -------------------------------------------------------------------------

    def _send(self, action: str, method: str, url: str, **kwargs: object) -> httpx.Response:
        try:
            try:
                response = self.client.request(method, url, **kwargs)  # type: ignore[arg-type]
            except httpx.TransportError as exc:
                raise transport_error(exc, action, self.timeout) from exc
            raise_for_status(response.status_code, response.content, action)
            return response
        finally:
            if action != "query" and method != "GET":  # a write, even a failed one, may
                self._changed()                          # have changed the state

    def _changed(self) -> None:
        if self.changes is not None:
            self.changes.bump()

    # -- GraphWriter ------------------------------------------------------------------------

    def replace_graph(self, name: str, triples: Iterable[ox.Triple]) -> int:
        """Replace the graph: a PUT of the first :data:`GSP_BATCH` triples as N-Triples, then a
        POST (which adds) of each further batch. Returns the triple count."""
        listed = list(triples)
        for start in range(0, max(len(listed), 1), GSP_BATCH):
            body = ox.serialize(listed[start:start + GSP_BATCH],
                                format=ox.RdfFormat.N_TRIPLES) or b""
            self._put_or_post(name, body, "PUT" if start == 0 else "POST")
        return len(listed)

    def _put_or_post(self, name: str, body: bytes, method: str) -> None:
        self._send(f"GSP {method} of <{name}>", method, self.endpoints.store,
                   params={"graph": name}, content=body,
                   headers={"Content-Type": _NTRIPLES})

    def remove_graph(self, name: str) -> None:
        """DELETE the graph; a graph that is not there is not an error."""
        try:
            response = self.client.delete(self.endpoints.store, params={"graph": name})
        except httpx.TransportError as exc:
            raise transport_error(exc, f"GSP DELETE of <{name}>", self.timeout) from exc
        finally:
            self._changed()
        if response.status_code != 404:
            raise_for_status(response.status_code, response.content, f"GSP DELETE of <{name}>")

    def graph_triples(self, name: str) -> list[ox.Triple]:
        """GET the graph as N-Triples (empty if the server does not have it)."""
        try:
            response = self.client.get(self.endpoints.store, params={"graph": name},
                                       headers={"Accept": _NTRIPLES})
        except httpx.TransportError as exc:
            raise transport_error(exc, f"GSP GET of <{name}>", self.timeout) from exc
        if response.status_code == 404:
            return []
        raise_for_status(response.status_code, response.content, f"GSP GET of <{name}>")
        parsed = ox.parse(response.content, format=ox.RdfFormat.N_TRIPLES)
        return [q.triple if isinstance(q, ox.Quad) else q for q in parsed]

    # -- updates ----------------------------------------------------------------------------

    def update(self, sparql_update: str) -> None:
        """Send ONE SPARQL Update request (a curation change: see :meth:`apply`).

        A malformed request raises :class:`~coprod_kg.errors.BadInput` with the server's
        message. Keep a request to one operation where atomicity matters.
        """
        if isinstance(sparql_update, StagedUpdate):
            self.apply(sparql_update)
            return
        self._send("update", "POST", self.endpoints.update,
                   content=sparql_update.encode("utf-8"),
                   headers={"Content-Type": "application/sparql-update; charset=utf-8"})

    def apply(self, change: StagedUpdate) -> None:
        """A curation change: its new graphs first (fresh names: nobody reads them yet), then
        the ONE operation on the records that makes them visible, then its follow-ups.

        If that operation fails and its records are not there, the new graphs are removed
        (a crash in between leaves graphs no record names; the next write of that version
        replaces them).
        """
        written: list[str] = []
        staging: list[str] = []
        try:
            for name, triples in change.graphs:
                written.append(name)
                self.replace_graph(name, triples)
            if len(change.insert) + len(change.delete) <= INLINE_QUADS:
                self.update(change.operation())
            else:
                self.update(self._staged(change, staging))
        except CoprodError:
            if written and not self._recorded(written):
                for name in written:
                    self._remove_quietly(name)
            raise
        finally:
            for name in staging:
                self._remove_quietly(name)
        for follow in change.then:
            self.apply(follow)

    def _staged(self, change: StagedUpdate, staging: list[str]) -> str:
        """Put the inserted triples in staging graphs, and return the one operation moving them
        to their graphs (with the constant deletions)."""
        by_graph: dict[str, list[str]] = {}
        for graph, line in change.insert:
            by_graph.setdefault(graph, []).append(line)
        run = uuid.uuid4().hex
        pairs = []
        for index, (graph, lines) in enumerate(by_graph.items()):
            stage = f"{STAGING_BASE}{run}/{index}"
            staging.append(stage)
            for start in range(0, len(lines), GSP_BATCH):
                body = ("\n".join(lines[start:start + GSP_BATCH]) + "\n").encode("utf-8")
                self._put_or_post(stage, body, "PUT" if start == 0 else "POST")
            pairs.append(f"(<{stage}> <{graph}>)")
        removed = _delete_clause(change.delete)
        if len(pairs) == 1:  # Virtuoso fails on a VALUES block of one row here
            return (f"{removed}INSERT {{ GRAPH <{next(iter(by_graph))}> {{ ?s ?p ?o }} }}\n"
                    f"WHERE {{ GRAPH <{staging[0]}> {{ ?s ?p ?o }} }}")
        # One pattern with the target graph as a variable (Virtuoso fails on a UNION whose
        # branches leave template variables unbound).
        return (f"{removed}INSERT {{ GRAPH ?target {{ ?s ?p ?o }} }}\n"
                f"WHERE {{ VALUES (?stage ?target) {{ {' '.join(pairs)} }} "
                f"GRAPH ?stage {{ ?s ?p ?o }} }}")

    def _recorded(self, graphs: list[str]) -> bool:
        """Whether the curation records name any of ``graphs`` (True when that is unknown)."""
        values = " ".join(f"<{g}>" for g in graphs)
        try:
            rows = self._select(f"SELECT ?g WHERE {{ VALUES ?g {{ {values} }} GRAPH "
                                f"<{_CURATION_GRAPH}> {{ ?g ?p ?o }} }} LIMIT 1", None)
        except CoprodError:
            return True
        return bool(rows)

    def _remove_quietly(self, name: str) -> None:
        # An orphan nobody reads if this fails too; the next write of that name replaces it.
        with contextlib.suppress(CoprodError):
            self.remove_graph(name)

    def flush(self) -> None:
        """Nothing to do: the server acknowledged each update only once it was applied."""

    def close(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owned:
            self.client.close()

    # -- reads for curation -----------------------------------------------------------------

    def _dataset(self, default_graphs: Sequence[str] | None) -> tuple[str, ...] | None:
        """``None`` sends no dataset: the query names its graphs (``GRAPH <g>``), which every
        server answers from its whole store; graphs are never listed with ``GRAPH ?g {}``."""
        return tuple(default_graphs) if default_graphs is not None else None

    def _post_query(self, query: str, default: tuple[str, ...] | None, accept: str) -> bytes:
        form = query_form(query, default, default)
        response = self._send("query", "POST", self.endpoints.query, data=form,
                              headers={"Accept": accept})
        return response.content

    def _select(self, query: str, default: tuple[str, ...] | None) -> list[Row]:
        body = self._post_query(query, default, _JSON_RESULTS)
        solutions = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
        assert isinstance(solutions, ox.QuerySolutions)
        return solution_rows(solutions)

    def select(self, query: str, default_graphs: Sequence[str] | None = None) -> list[Row]:
        """Rows of a SELECT; the default graph is the union of ``default_graphs``; with
        ``None`` the query must name its graphs (``GRAPH <g>``, ``VALUES ?g``)."""
        return self._select(query, self._dataset(default_graphs))

    def construct(self, query: str, default_graphs: Sequence[str] | None = None
                  ) -> list[ox.Triple]:
        """Triples of a CONSTRUCT (same default graph rule as :meth:`select`)."""
        body = self._post_query(query, self._dataset(default_graphs), _NTRIPLES)
        parsed = ox.parse(body, format=ox.RdfFormat.N_TRIPLES)
        return [q.triple if isinstance(q, ox.Quad) else q for q in parsed]


def _delete_clause(delete: Sequence[Quad]) -> str:
    if not delete:
        return ""
    lines = " ".join(f"GRAPH <{graph}> {{ {line} }}" for graph, line in delete)
    return f"DELETE {{ {lines} }}\n"
