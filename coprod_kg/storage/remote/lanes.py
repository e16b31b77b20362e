"""What stands between a query and the remote SPARQL server: a sandboxed check, and per-lane
limits.

The remote back end sends queries to a server we do not control, so every query is first parsed and
checked (SERVICE, updates, the ``FROM`` allow-list, its form and answer format) in a sandboxed,
killable worker process of :mod:`coprod_kg.storage.embedded.query_worker` that only checks; then it
waits for a free slot of its lane (``COPROD_QUERY_WORKERS`` concurrent ``/sparql`` requests,
``COPROD_SITE_WORKERS`` for the site's own reads), so the site never waits behind anonymous queries.
Answers asked for as files go to a :class:`~coprod_kg.sparql.spool.Spool`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from coprod_kg.config import Settings
from coprod_kg.errors import CoprodError, QueryTimeout
from coprod_kg.fairness.budget import waiting_for_worker
from coprod_kg.sparql.spool import Spool
from coprod_kg.storage.embedded.query_worker import WorkerConfig, WorkerPool, check_task
from coprod_kg.storage.store import Lane, Plan, QueryRequest


class RemoteLanes:
    """Per-lane check workers and concurrency limits of the remote back end."""

    def __init__(self, checkers: dict[Lane, WorkerPool], limits: dict[Lane, int],
                 timeout: float, spool: Spool) -> None:
        self.checkers = checkers
        self.timeout = timeout
        self.spool = spool
        self._slots = {lane: threading.BoundedSemaphore(n) for lane, n in limits.items()}

    @classmethod
    def start(cls, settings: Settings) -> RemoteLanes:
        """Start the check workers of both lanes (raises if they cannot be sandboxed)."""
        config = WorkerConfig("", settings.max_results, settings.max_response_bytes,
                              settings.query_memory_mb, settings.allow_unsandboxed_queries,
                              min(10.0, settings.query_timeout / 2))
        sizes: dict[Lane, int] = {"public": settings.query_workers,
                                  "site": settings.site_workers}
        checkers: dict[Lane, WorkerPool] = {}
        try:
            for lane, size in sizes.items():
                checkers[lane] = WorkerPool(config, size, settings.query_timeout,
                                            f"{lane} check")
        except CoprodError:
            for pool in checkers.values():
                pool.close()
            raise
        spool = Spool(settings.spool_max_bytes, settings.max_response_bytes)
        return cls(checkers, sizes, settings.query_timeout, spool)

    def check(self, request: QueryRequest, public: Sequence[str]) -> Plan:
        """Parse and check ``request`` in a worker of its lane."""
        plan = self.checkers[request.lane].run(check_task(request, public))
        assert isinstance(plan, Plan)
        return plan

    @contextmanager
    def slot(self, lane: Lane) -> Iterator[None]:
        """Hold one of the lane's concurrent requests (503 if none frees up in time)."""
        slots = self._slots[lane]
        with waiting_for_worker():  # queueing is not charged to the client's budget
            acquired = slots.acquire(timeout=self.timeout)
        if not acquired:
            raise QueryTimeout("every query slot is busy; try again later")
        try:
            yield
        finally:
            slots.release()

    def close(self) -> None:
        """Stop the check workers and remove the spool."""
        for pool in self.checkers.values():
            pool.close()
        self.spool.close()
