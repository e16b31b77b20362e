"""An update in two parts, for servers that need them apart: new graphs, then ONE operation.

:class:`StagedUpdate` is a ``str`` (the whole SPARQL Update text, which the embedded store
runs as one transaction) that also keeps its parts, so the remote writer
(:mod:`coprod_kg.storage.remote.writer`) can write the new graphs over the Graph Store protocol
first and then send the one operation that makes them visible. The curation changes of
:mod:`coprod_kg.curation.updates` are built as such.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pyoxigraph as ox


def term_nt(term: object, bnode_prefix: str = "") -> str:
    """One term in N-Triples syntax; blank-node labels get ``bnode_prefix`` (scoped per file)."""
    if isinstance(term, ox.BlankNode):
        return f"_:{bnode_prefix}{term.value}"
    return str(term)


def ntriples_lines(triples: Iterable[ox.Triple], bnode_prefix: str = "") -> list[str]:
    """The triples as sorted N-Triples lines (without the final newline)."""
    return sorted(f"{term_nt(t.subject, bnode_prefix)} {t.predicate} "
                  f"{term_nt(t.object, bnode_prefix)} ." for t in triples)


#: (graph IRI, one N-Triples line without blank nodes: full IRIs, no ``a``, no prefixes)
Quad = tuple[str, str]


def _block(quads: Sequence[Quad]) -> str:
    """``GRAPH <g> { lines }`` blocks, one per graph, in first-seen order."""
    by_graph: dict[str, list[str]] = {}
    for graph, line in quads:
        by_graph.setdefault(graph, []).append(line)
    return "\n".join(f"GRAPH <{g}> {{\n" + "\n".join(lines) + "\n}"
                     for g, lines in by_graph.items())


class StagedUpdate(str):
    """The SPARQL Update text of one change, with its parts kept for the remote writer.

    The text (what ``str`` holds) is what the embedded store runs in one transaction:
    ``INSERT DATA`` of the new graphs (``graphs``; the only place a blank node may appear, in
    the submitted record itself), then the one publishing operation :meth:`operation` that
    deletes ``delete`` and inserts ``insert`` (curation records, provenance), then the
    follow-up changes ``then`` (each applied on its own by the remote writer).
    """

    graphs: tuple[tuple[str, tuple[ox.Triple, ...]], ...]
    delete: tuple[Quad, ...]
    insert: tuple[Quad, ...]
    then: tuple[StagedUpdate, ...]

    def __new__(cls, graphs: Sequence[tuple[str, Sequence[ox.Triple]]] = (),
                delete: Sequence[Quad] = (), insert: Sequence[Quad] = (),
                then: Sequence[StagedUpdate] = ()) -> StagedUpdate:
        parts = []
        for index, (name, triples) in enumerate(graphs):
            lines = "\n".join(ntriples_lines(triples, bnode_prefix=f"v{index}x"))
            parts.append(f"INSERT DATA {{ GRAPH <{name}> {{\n{lines}\n}} }}")
        parts.append(_operation(delete, insert))
        parts += [str(t) for t in then]
        made = super().__new__(cls, " ;\n".join(parts))
        made.graphs = tuple((name, tuple(triples)) for name, triples in graphs)
        made.delete, made.insert, made.then = tuple(delete), tuple(insert), tuple(then)
        return made

    def operation(self) -> str:
        """The one publishing operation (without the new graphs or the follow-ups)."""
        return _operation(self.delete, self.insert)


def _operation(delete: Sequence[Quad], insert: Sequence[Quad]) -> str:
    """``DELETE {…} INSERT {…} WHERE {}``: ONE operation, constant templates only."""
    removed = f"DELETE {{\n{_block(delete)}\n}}\n" if delete else ""
    return f"{removed}INSERT {{\n{_block(insert)}\n}}\nWHERE {{ }}"


def combine(changes: Sequence[StagedUpdate]) -> StagedUpdate:
    """Several changes as one: the first, then the others (one transaction when embedded)."""
    first, *rest = changes
    return StagedUpdate(first.graphs, first.delete, first.insert, (*first.then, *rest))
