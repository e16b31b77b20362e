"""HTTP plumbing shared by the remote SPARQL back end: endpoints, client, error mapping.

A remote back end is any SPARQL 1.1 server speaking the Query and Update protocols and the Graph
Store HTTP Protocol (GSP). Their three addresses differ between engines (Oxigraph server:
``/query``, ``/update``, ``/store``; Fuseki: ``/{dataset}/query``, ``/update``, ``/data``), so
each is configured on its own. Every HTTP failure becomes one of :mod:`coprod_kg.errors`,
carrying the server's own message.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from coprod_kg.errors import (
    BadInput,
    CoprodError,
    NotFound,
    PayloadTooLarge,
    QueryTimeout,
)

#: How much of a server's error body goes into our error message.
MESSAGE_CHARS = 1000


class BackendError(CoprodError):
    """The remote SPARQL server failed or answered something we cannot use."""

    status = 502


class BackendUnavailable(BackendError):
    """The remote SPARQL server cannot be reached (refused, reset, DNS...)."""

    status = 503


@dataclass(frozen=True)
class RemoteEndpoints:
    """The three addresses of a remote SPARQL server."""

    query: str
    update: str
    store: str  # Graph Store HTTP Protocol, graphs addressed with ?graph=IRI

    @classmethod
    def oxigraph(cls, base: str) -> RemoteEndpoints:
        """The layout of ``oxigraph serve`` at ``base``.

        >>> RemoteEndpoints.oxigraph("http://127.0.0.1:7878/").update
        'http://127.0.0.1:7878/update'
        """
        root = base.rstrip("/")
        return cls(root + "/query", root + "/update", root + "/store")

    @classmethod
    def fuseki(cls, dataset_url: str) -> RemoteEndpoints:
        """The layout of an Apache Jena Fuseki dataset at ``dataset_url`` (``.../ds``)."""
        root = dataset_url.rstrip("/")
        return cls(root + "/query", root + "/update", root + "/data")


def make_client(timeout: float, connect_timeout: float = 5.0,
                keepalive: bool = True) -> httpx.Client:
    """An HTTP client whose reads give up after ``timeout`` seconds without data.

    ``keepalive=False`` closes each connection after its answer: for short-lived helpers
    (one load, one curation read) that may not be closed explicitly.
    """
    limits = httpx.Limits() if keepalive else httpx.Limits(max_keepalive_connections=0)
    return httpx.Client(timeout=httpx.Timeout(timeout, connect=connect_timeout),
                        follow_redirects=False, limits=limits)


def server_message(body: bytes) -> str:
    """The first :data:`MESSAGE_CHARS` characters of an error body, on one line."""
    text = body.decode("utf-8", errors="replace").strip()
    text = " ".join(text.split())
    return text[:MESSAGE_CHARS] + ("..." if len(text) > MESSAGE_CHARS else "")


def raise_for_status(status: int, body: bytes, action: str) -> None:
    """Raise the domain error for an HTTP ``status`` (nothing for 2xx).

    ``action`` says what was attempted ("query", "update", "GSP PUT of <g>"...).

    >>> raise_for_status(400, b"Parser error: unexpected end", "query")
    Traceback (most recent call last):
    ...
    coprod_kg.errors.BadInput: malformed query: Parser error: unexpected end
    """
    if 200 <= status < 300:
        return
    message = server_message(body) or f"HTTP {status}"
    if status == 400:
        raise BadInput(f"malformed {action}: {message}")
    if status == 404:
        raise NotFound(f"{action}: {message}")
    if status == 413:
        raise PayloadTooLarge(f"{action}: the SPARQL server refused the size: {message}")
    if status in (408, 504):
        raise QueryTimeout(f"{action} timed out on the SPARQL server: {message}")
    if status == 503:
        raise BackendUnavailable(f"the SPARQL server is unavailable ({action}): {message}")
    raise BackendError(f"the SPARQL server failed the {action} (HTTP {status}): {message}")


def transport_error(exc: httpx.TransportError, action: str, timeout: float) -> CoprodError:
    """The domain error for a failure below HTTP (timeouts, refused connections)."""
    if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
        return QueryTimeout(f"the {action} got no answer within {timeout:g} s and was stopped")
    return BackendUnavailable(f"the SPARQL server cannot be reached ({action}): {exc}")


#: A graph nothing ever writes: stands in for an empty list of dataset graphs, because a request
#: without any ``default-graph-uri``/``named-graph-uri`` would get the server's whole dataset.
EMPTY_GRAPH = "https://w3id.org/coprod/graph/empty"


def query_form(query: str, default: tuple[str, ...] | None,
               named: tuple[str, ...] | None) -> dict[str, str | list[str]]:
    """The form fields of a SPARQL Protocol query (``None``: leave the query's FROM in charge).

    The query goes in a form-encoded body (not ``application/sparql-query``), so the dataset's
    graph lists, possibly hundreds of IRIs, travel in the body rather than the URL.

    >>> query_form("ASK {}", (), ("https://g",))["default-graph-uri"]
    ['https://w3id.org/coprod/graph/empty']
    """
    form: dict[str, str | list[str]] = {"query": query}
    if default is None and named is None:
        return form
    form["default-graph-uri"] = list(default or ()) or [EMPTY_GRAPH]
    form["named-graph-uri"] = list(named or ()) or [EMPTY_GRAPH]
    return form
