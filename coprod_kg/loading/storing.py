"""Writing the parsed sources into their graphs: in a thread of its own into the embedded store,
one request at a time to a remote server."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

import pyoxigraph as ox
from tqdm import tqdm

from coprod_kg.loading.sources import Parsed, Source
from coprod_kg.storage.store import BulkGraphs, GraphRecord, GraphWriter


def store_parsed(writer: GraphWriter, parsed: Parsed) -> int:
    """Write one parsed source into its graph; returns its triple count."""
    name = parsed.source.graph
    if parsed.bulk:
        assert parsed.data is not None and parsed.rdf_format is not None
        if isinstance(writer, BulkGraphs):
            return writer.replace_graph_data(name, parsed.data, parsed.rdf_format,
                                             parsed.base_iri)
        parsed.triples = [q.triple if isinstance(q, ox.Quad) else q for q in ox.parse(
            parsed.data, format=parsed.rdf_format, base_iri=parsed.base_iri)]
    assert parsed.triples is not None
    return writer.replace_graph(name, parsed.triples)


class Storing:
    """Writes the parsed sources into their graphs, in order; :meth:`records` waits for them.

    Into the embedded store, whose engine takes writes to different graphs from several
    threads, they are written in a thread of their own (:attr:`threaded`), so the load goes
    on meanwhile (the scratch parse, the rules, the bundled cases:
    :mod:`~coprod_kg.loading.load`). A new graph whose bytes the bulk loader takes as they are
    starts before its file's parse into the scratch store: it replaces no published graph, and
    :meth:`discard` removes it again if a parse fails. A remote server gets every write from
    :meth:`records`, one at a time, as before: concurrent writers are not what every SPARQL
    server takes (Virtuoso's users report parallel graph clears deadlocking:
    openlink/virtuoso-opensource#271).

    Each write works on its own copy of the parsed source: the caller drops its bytes and
    triples once added, and the memory goes with the write.
    """

    def __init__(self, writer: GraphWriter, progress: bool) -> None:
        self.writer = writer
        self.progress = progress
        self._pool = (ThreadPoolExecutor(1, thread_name_prefix="storing")
                      if isinstance(writer, BulkGraphs) else None)
        self._jobs: list[tuple[Source, str, Future[int] | Parsed]] = []
        self._early: set[str] = set()  # the graphs started before every source was parsed

    @property
    def threaded(self) -> bool:
        """Whether the writes run in a thread of their own (the embedded store)."""
        return self._pool is not None

    def early(self, item: Parsed, previous: GraphRecord | None) -> bool:
        """Start writing ``item`` before its parse when that is safe (see the class doc)."""
        if self._pool is None or previous is not None or not item.bulk:
            return False
        self.add(item)
        self._early.add(item.source.graph)
        return True

    def add(self, item: Parsed) -> None:
        """Write a copy of ``item`` (now in the thread, else at :meth:`records`)."""
        copy = replace(item)
        job = copy if self._pool is None else self._pool.submit(store_parsed, self.writer, copy)
        self._jobs.append((item.source, item.digest, job))

    def write_now(self, item: Parsed) -> None:
        """Write ``item`` in the caller's thread, before this returns (whatever the thread is
        writing meanwhile): for a graph the rest of the load reads from the store (the bundled
        cases read the ontology), which must not wait behind a big file."""
        self._jobs.append((item.source, item.digest, _done(store_parsed(self.writer, item))))

    def records(self) -> dict[str, GraphRecord]:
        """Every source's record by graph, once written (the first error of a write, raised)."""
        out = {}
        for index, (source, digest, job) in enumerate(tqdm(
                self._jobs, desc="storing", unit="graph", disable=not self.progress)):
            if isinstance(job, Parsed):
                count = store_parsed(self.writer, job)
                self._jobs[index] = (source, digest, _done(count))  # let the memory go
            else:
                count = job.result()
            out[source.graph] = GraphRecord(source.graph, source.label, digest, count)
        return out

    def check(self) -> None:
        """Raise the error of a write that failed already (before the load goes on to publish
        the bundled cases or write the entailments)."""
        for _, _, job in self._jobs:
            if isinstance(job, Future) and job.done() and job.exception() is not None:
                job.result()

    def discard(self) -> None:
        """After a failed load: cancel the writes not started, wait for the others, remove
        the new graphs started early (no published graph: see the class doc)."""
        self.close(cancel=True)
        for source, _, _ in self._jobs:
            if source.graph in self._early:
                self.writer.remove_graph(source.graph)

    def close(self, cancel: bool = False) -> None:
        """Wait for the writes of the thread; ``cancel``: the load failed, so those not started
        yet never start."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=cancel)


def _done(count: int) -> Future[int]:
    future: Future[int] = Future()
    future.set_result(count)
    return future
