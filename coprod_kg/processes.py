"""How worker processes start: forked from a fork server that imported their code once.

``spawn`` starts each worker as a new interpreter that imports rdflib, pyoxigraph and the query
checks again (about a second each, and the server starts three at once on a small machine).
A fork server is one such interpreter, started once, with :data:`PRELOAD` imported; each worker
is a ``fork`` of it: a copy of a single-threaded process that never opened a store or a socket,
so none of the server's threads, locks or files leak into a worker. Each worker then installs
its own sandbox (:mod:`coprod_kg.sparql.sandbox`) before reading any task.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from typing import Any

#: What the fork server imports before forking: the query worker's code (the validation
#: worker's, pyshacl, is imported by each validation worker: the query workers, needed for the
#: first query after a restart, must not wait for it).
PRELOAD = ["coprod_kg.storage.embedded.query_task"]


def worker_context() -> ForkServerContext:
    """The multiprocessing context every pool starts its workers with."""
    context = multiprocessing.get_context("forkserver")
    assert isinstance(context, ForkServerContext)
    context.set_forkserver_preload(PRELOAD)  # used when the fork server starts (first use)
    return context


def next_task(conn: Connection) -> Any:
    """A worker's next task from the pool, or ``None`` when the pool says stop (``None``) or is
    gone (end of the pipe)."""
    try:
        return conn.recv()
    except EOFError:
        return None
