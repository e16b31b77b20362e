"""An rdflib graph that parses each distinct SPARQL query text only once.

pySHACL runs every SHACL-SPARQL constraint once per focus node, passing the same query text with
different ``initBindings``; rdflib would parse it every time (about 25 ms each). Prepared
queries are reusable with any bindings, so caching them by text is safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from rdflib import Graph
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query
from rdflib.query import Processor, Result
from rdflib.term import Identifier

from coprod_kg.rdf.rdflib_lock import SPARQL_PARSER_LOCK


@lru_cache(maxsize=256)
def _prepared(text: str) -> Query:
    with SPARQL_PARSER_LOCK:
        return prepareQuery(text)


def canonical(text: str) -> str:
    r"""The query with its leading PREFIX lines sorted (pySHACL emits them in set order).

    >>> canonical("PREFIX b: <urn:b>\nPREFIX a: <urn:a>\n\nSELECT * {}")
    'PREFIX a: <urn:a>\nPREFIX b: <urn:b>\nSELECT * {}'
    """
    lines = text.splitlines()
    head = 0
    while head < len(lines) and (lines[head].startswith("PREFIX ") or not lines[head].strip()):
        head += 1
    prefixes = sorted(line for line in lines[:head] if line.strip())
    return "\n".join(prefixes + lines[head:])


class PreparedQueryGraph(Graph):
    """A ``Graph`` whose ``query`` reuses parsed queries (only for queries without ``initNs``)."""

    def query(
        self,
        query_object: str | Query,
        processor: str | Processor = "sparql",
        result: str | type[Result] = "sparql",
        initNs: Mapping[str, Any] | None = None,
        initBindings: Mapping[str, Identifier] | None = None,
        use_store_provided: bool = True,
        **kwargs: Any,
    ) -> Result:
        if isinstance(query_object, str) and not initNs and processor == "sparql":
            query_object = _prepared(canonical(query_object))
        return super().query(query_object, processor, result, initNs, initBindings,
                             use_store_provided, **kwargs)
