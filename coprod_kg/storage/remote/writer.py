"""Write access to a remote SPARQL server: whole graphs over the Graph Store HTTP Protocol, and
SPARQL Update requests, each ONE HTTP request (the server applies it atomically).

:class:`RemoteWriter` implements :class:`~coprod_kg.storage.store.GraphWriter` for the loader, and
the
read/write methods of the curation back end (``select``/``construct``/``graph_triples``/
``update``/``flush``/``close``, the shape of
``coprod_kg.storage.embedded.writer.GraphWriter``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import httpx
import pyoxigraph as ox

from coprod_kg.rdf.terms import Row, solution_rows
from coprod_kg.storage.remote.http import (
    RemoteEndpoints,
    make_client,
    query_form,
    raise_for_status,
    transport_error,
)

_NTRIPLES = "application/n-triples"
_JSON_RESULTS = "application/sparql-results+json"


class RemoteWriter:
    """Graph-level and update-level writes (and the reads curation needs) on a remote server."""

    def __init__(self, endpoints: RemoteEndpoints, timeout: float = 120.0,
                 client: httpx.Client | None = None) -> None:
        self.endpoints = endpoints
        self.timeout = timeout
        self._owned = client is None
        self.client = client if client is not None else make_client(timeout)

    # -- transport -------------------------------------------------------------------------

    def _send(self, action: str, method: str, url: str, **kwargs: object) -> httpx.Response:
        try:
            response = self.client.request(method, url, **kwargs)  # type: ignore[arg-type]
        except httpx.TransportError as exc:
            raise transport_error(exc, action, self.timeout) from exc
        raise_for_status(response.status_code, response.content, action)
        return response

    # -- GraphWriter ------------------------------------------------------------------------

    def replace_graph(self, name: str, triples: Iterable[ox.Triple]) -> int:
        """PUT the graph as N-Triples: the server replaces it in one request."""
        listed = list(triples)
        body = ox.serialize(listed, format=ox.RdfFormat.N_TRIPLES) or b""
        self._send(f"GSP PUT of <{name}>", "PUT", self.endpoints.store,
                   params={"graph": name}, content=body,
                   headers={"Content-Type": _NTRIPLES})
        return len(listed)

    def remove_graph(self, name: str) -> None:
        """DELETE the graph; a graph that is not there is not an error."""
        try:
            response = self.client.delete(self.endpoints.store, params={"graph": name})
        except httpx.TransportError as exc:
            raise transport_error(exc, f"GSP DELETE of <{name}>", self.timeout) from exc
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
        """Send ONE SPARQL Update request; the server applies all of it or none.

        A malformed request raises :class:`~coprod_kg.errors.BadInput` with the server's message
        and changes nothing.
        """
        self._send("update", "POST", self.endpoints.update,
                   content=sparql_update.encode("utf-8"),
                   headers={"Content-Type": "application/sparql-update; charset=utf-8"})

    def flush(self) -> None:
        """Nothing to do: the server acknowledged each update only once it was applied."""

    def close(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owned:
            self.client.close()

    # -- reads for curation -----------------------------------------------------------------

    def named_graphs(self) -> list[str]:
        """Every named graph the server holds, sorted."""
        rows = self._select("SELECT DISTINCT ?g WHERE { GRAPH ?g { } }", None)
        return sorted(str(r["g"].value) for r in rows if isinstance(r.get("g"), ox.NamedNode))

    def _dataset(self, default_graphs: Sequence[str] | None) -> tuple[str, ...]:
        return tuple(default_graphs) if default_graphs is not None else tuple(self.named_graphs())

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
        """Rows of a SELECT; the default graph is the union of ``default_graphs`` (all graphs
        when ``None``, as the embedded curation reader does)."""
        return self._select(query, self._dataset(default_graphs))

    def construct(self, query: str, default_graphs: Sequence[str] | None = None
                  ) -> list[ox.Triple]:
        """Triples of a CONSTRUCT (same default graph rule as :meth:`select`)."""
        body = self._post_query(query, self._dataset(default_graphs), _NTRIPLES)
        parsed = ox.parse(body, format=ox.RdfFormat.N_TRIPLES)
        return [q.triple if isinstance(q, ox.Quad) else q for q in parsed]
