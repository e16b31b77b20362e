"""The public union graph of a published state, kept on the remote server itself.

A query without a dataset reads the union of the public graphs. Sent as a SPARQL Protocol
dataset, that union is a list of every public graph: one version graph and one entailment graph
per case, about 270 IRIs with the bundled cases. Some servers plan such a list very badly:
Virtuoso 7 estimates a lookup of one case's title with three OPTIONALs over 272 listed graphs at
749 s and refuses it (its ``MaxQueryCostEstimationTime``); with the estimate switched off, the
same queries run past 30 s. Over one graph holding the same triples they take milliseconds.

So, from :data:`DEFAULT_MIN_GRAPHS` public graphs on, the default graph is ONE graph,
``graph/public/<state>``: a copy, made on the server by one SPARQL Update, of the public graphs of
the published state ``<state>`` (:meth:`~coprod_kg.storage.manifest.Manifest.public_state`).
The first query of a new state makes it; the same request records it in the private graph
:data:`UNIONS_GRAPH`, after the copy, so a reader that finds the record finds the whole copy. A
published state is immutable, and so is its union graph: it is never changed, only dropped,
:data:`GRACE_SECONDS` after a newer union replaced it (a reader still holding the older state
for its cache's second finishes its query first). Two processes making the same union at once
insert the same triples twice, which changes nothing.

The union graph is private: it is not in the manifest, so no query can name it
(:func:`~coprod_kg.storage.store.dataset_for` refuses it), and ``GRAPH ?g`` never lists it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyoxigraph as ox

from coprod_kg.rdf.namespaces import GRAPH

#: The private graph recording each union graph: when it was made and when a newer one
#: replaced it.
UNIONS_GRAPH = str(GRAPH["unions"])
#: Union graphs are named by this prefix and the published state.
UNION_BASE = str(GRAPH["public/"])
#: From this many public graphs on, queries read the union graph instead of the list.
DEFAULT_MIN_GRAPHS = 64
#: How long a replaced union graph stays, in seconds.
GRACE_SECONDS = 300.0

_MADE = ox.NamedNode("http://www.w3.org/ns/prov#generatedAtTime")
_REPLACED = ox.NamedNode("http://www.w3.org/ns/prov#invalidatedAtTime")
_DATETIME = ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime")


def union_graph(state: str) -> str:
    """The name of the union graph of published state ``state``.

    >>> union_graph("ab12")
    'https://w3id.org/coprod/graph/public/ab12'
    """
    if not state.isalnum():
        raise ValueError(f"not a published state: {state!r}")
    return UNION_BASE + state


@dataclass(frozen=True)
class UnionRecord:
    """One union graph as recorded: when it was made and, once replaced, when."""

    name: str
    made: dt.datetime
    replaced: dt.datetime | None = None


def recorded_unions(triples: Iterable[ox.Triple]) -> dict[str, UnionRecord]:
    """The union graphs recorded in the triples of :data:`UNIONS_GRAPH`, by name."""
    made: dict[str, dt.datetime] = {}
    replaced: dict[str, dt.datetime] = {}
    for t in triples:
        if not isinstance(t.subject, ox.NamedNode) or not isinstance(t.object, ox.Literal):
            continue
        try:
            when = dt.datetime.fromisoformat(t.object.value)
        except ValueError:
            continue
        if t.predicate == _MADE:
            made[t.subject.value] = min(when, made.get(t.subject.value, when))
        elif t.predicate == _REPLACED:
            replaced[t.subject.value] = min(when, replaced.get(t.subject.value, when))
    return {name: UnionRecord(name, when, replaced.get(name)) for name, when in made.items()}


def _time(when: dt.datetime) -> str:
    return str(ox.Literal(when.isoformat(), datatype=_DATETIME))


def union_update(state: str, public: Sequence[str], known: dict[str, UnionRecord],
                 now: dt.datetime, grace: float = GRACE_SECONDS) -> str:
    """The ONE SPARQL Update that makes the union graph of ``state`` from the graphs
    ``public``, records it (as current again if it was replaced: a state can be published
    twice, e.g. a case withdrawn and restored), marks the other recorded unions as replaced,
    and drops those replaced more than ``grace`` seconds before ``now``.

    >>> now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    >>> print(union_update("s1", ["https://g/a"], {}, now))  # doctest: +NORMALIZE_WHITESPACE
    INSERT { GRAPH <https://w3id.org/coprod/graph/public/s1> { ?s ?p ?o } }
    WHERE { VALUES ?g { <https://g/a> } GRAPH ?g { ?s ?p ?o } } ;
    INSERT DATA { GRAPH <https://w3id.org/coprod/graph/unions> {
    <https://w3id.org/coprod/graph/public/s1> <http://www.w3.org/ns/prov#generatedAtTime>
    "2026-01-01T00:00:00+00:00"^^<http://www.w3.org/2001/XMLSchema#dateTime> . } }
    """
    name = ox.NamedNode(union_graph(state))
    unions = ox.NamedNode(UNIONS_GRAPH)
    values = " ".join(str(ox.NamedNode(g)) for g in public)
    operations = [f"INSERT {{ GRAPH {name} {{ ?s ?p ?o }} }}\n"
                  f"WHERE {{ VALUES ?g {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} }}"]
    if name.value in known:  # a state published again: its union is current once more
        operations.append(f"DELETE WHERE {{ GRAPH {unions} {{ {name} {_REPLACED} ?t }} }}")
    records = [f"{name} {_MADE} {_time(now)} ."]
    expired: list[str] = []
    for record in known.values():
        if record.name == name.value:
            continue
        if record.replaced is None:
            records.append(f"{ox.NamedNode(record.name)} {_REPLACED} {_time(now)} .")
        elif (now - record.replaced).total_seconds() > grace:
            expired.append(record.name)
    operations.append(f"INSERT DATA {{ GRAPH {unions} {{ {' '.join(records)} }} }}")
    for old in expired:
        node = ox.NamedNode(old)
        operations.append(f"DROP SILENT GRAPH {node}")
        operations.append(f"DELETE WHERE {{ GRAPH {unions} {{ {node} ?p ?o }} }}")
    return " ;\n".join(operations)
