"""Per-client budget of query time, and a cap on each client's concurrent queries.

The model is the Wikidata Query Service's policy: each client may use ``seconds`` of query time
per ``window`` seconds (WDQS: 60 per 60) and run at most ``concurrency`` queries at once
(WDQS: 5); past either, it gets 429 with ``Retry-After``. Like WDQS (a token bucket), the
account is a bucket of ``seconds`` that refills at ``seconds / window`` per second: every query
is charged its measured wall time (failed and timed-out ones included; less its wait for a
worker, if the pool marks it with :func:`waiting_for_worker`) once it ends, and a query
may start only while the client's use is below ``seconds``. So over any window a client runs
at most its budget plus what refilled, and the query that spends the last of it may overdraw
(by at most the query timeout per concurrent query); ``Retry-After`` says when the use is
back under the budget.

Memory is bounded: a client whose bucket is full again and who runs nothing is the same as an
unknown one and is forgotten; at most ``max_clients`` are tracked, the least recently seen idle
one is dropped first. Each call is O(1) amortised, under one lock (callers are threads).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from coprod_kg.errors import TooManyRequests

#: How many clients are tracked at most (about 200 bytes each).
MAX_CLIENTS = 65_536
#: Retry-After, in seconds, for a client at its concurrency cap (one query must end first).
CONCURRENCY_RETRY = 1
#: Forgotten-client checks per admission (amortises the cleanup).
PRUNE_STEPS = 2


class _Account:
    """One client's use (seconds, as of ``at``) and queries in flight."""

    __slots__ = ("at", "in_flight", "used")

    def __init__(self, now: float) -> None:
        self.used = 0.0
        self.at = now
        self.in_flight = 0


@dataclass
class Ticket:
    """An admitted query: charge its time with :meth:`charge`, then :meth:`QueryBudget.release`."""

    budget: QueryBudget | None
    key: str
    account: _Account | None
    released: bool = False

    @contextmanager
    def charge(self) -> Iterator[None]:
        """Measure the wall time of the enclosed block and charge it to the client, even when
        the block raises, less the time it spent in :func:`waiting_for_worker`."""
        if self.budget is None:
            yield
            return
        meter = _Meter(self.budget.clock)
        token = _METER.set(meter)
        try:
            yield
        finally:
            _METER.reset(token)
            self.budget.charge(self, meter.charged())


class _Meter:
    """When one query's charged time started, and how long it waited uncharged."""

    __slots__ = ("clock", "start", "waited")

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.start = clock()
        self.waited = 0.0

    def charged(self) -> float:
        return max(0.0, self.clock() - self.start - self.waited)


#: The meter of the query this context runs (contexts are copied into threadpool threads).
_METER: ContextVar[_Meter | None] = ContextVar("coprod_query_meter", default=None)


@contextmanager
def waiting_for_worker() -> Iterator[None]:
    """A query pool wraps its wait for a free worker in this: that time is not charged to the
    client, whether a worker comes or the wait fails (a client queued behind someone else's
    heavy queries must not pay for the queue). Outside a charged query it does nothing."""
    meter = _METER.get()
    if meter is None:
        yield
        return
    since = meter.clock()
    try:
        yield
    finally:
        meter.waited += meter.clock() - since


def exempt() -> Ticket:
    """A ticket for a caller the budget does not apply to."""
    return Ticket(None, "", None)


class QueryBudget:
    """The accounts of every client (see the module)."""

    def __init__(self, seconds: float, window: float, concurrency: int,
                 max_clients: int = MAX_CLIENTS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if window <= 0:
            raise ValueError("the window must be positive")
        self.seconds = seconds
        self.window = window
        self.rate = seconds / window  # seconds of budget regained per second
        self.concurrency = concurrency
        self.max_clients = max(1, max_clients)
        self.clock = clock
        self._accounts: OrderedDict[str, _Account] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """False when both limits are off (0): every ticket is then exempt."""
        return self.seconds > 0 or self.concurrency > 0

    def _settle(self, account: _Account, now: float) -> float:
        """Bring ``account.used`` to ``now`` (refill since ``at``) and return it."""
        if self.seconds > 0:
            account.used = max(0.0, account.used - (now - account.at) * self.rate)
        else:
            account.used = 0.0
        account.at = now
        return account.used

    def admit(self, key: str) -> Ticket:
        """Start a query for ``key``, or raise :class:`TooManyRequests` with ``retry_after``."""
        if not self.enabled:
            return exempt()
        with self._lock:
            now = self.clock()
            self._prune(now)
            account = self._accounts.get(key)
            if account is None:
                self._evict()
                account = _Account(now)
                self._accounts[key] = account
            else:
                self._accounts.move_to_end(key)
            used = self._settle(account, now)
            if self.concurrency > 0 and account.in_flight >= self.concurrency:
                raise TooManyRequests(
                    f"too many concurrent queries from one client: at most "
                    f"{self.concurrency} at a time; wait for one to finish",
                    CONCURRENCY_RETRY)
            if self.seconds > 0 and used >= self.seconds:
                wait = math.floor((used - self.seconds) / self.rate) + 1
                raise TooManyRequests(
                    f"query time budget spent: a client may use {self.seconds:g} s of query "
                    f"time per {self.window:g} s (used {used:.1f} s); retry in {wait} s",
                    wait)
            account.in_flight += 1
            return Ticket(self, key, account)

    def charge(self, ticket: Ticket, seconds: float) -> None:
        """Add ``seconds`` of query time to the ticket's client."""
        if ticket.account is None:
            return
        with self._lock:
            account = ticket.account
            self._settle(account, self.clock())
            account.used += max(0.0, seconds)

    def release(self, ticket: Ticket) -> None:
        """The ticket's query is over (its time charged or not): free its concurrency slot."""
        if ticket.account is None or ticket.released:
            return
        with self._lock:
            ticket.released = True
            ticket.account.in_flight -= 1

    def used(self, key: str) -> float:
        """Seconds of query time ``key`` has used, as of now (0 for an unknown client)."""
        with self._lock:
            account = self._accounts.get(key)
            return 0.0 if account is None else self._settle(account, self.clock())

    def __len__(self) -> int:
        """How many clients are tracked."""
        return len(self._accounts)

    def _idle(self, account: _Account, now: float) -> bool:
        return account.in_flight == 0 and self._settle(account, now) <= 0.0

    def _prune(self, now: float) -> None:
        """Forget up to ``PRUNE_STEPS`` idle, fully refilled clients at the old end."""
        for _ in range(PRUNE_STEPS):
            if not self._accounts:
                return
            key, account = next(iter(self._accounts.items()))
            if not self._idle(account, now):
                return
            del self._accounts[key]

    def _evict(self) -> None:
        """At ``max_clients``: drop the least recently seen client with nothing in flight.

        A client with queries in flight is skipped (its slot count must survive); if the eight
        oldest all have one, the oldest is dropped anyway, so memory stays bounded.
        """
        if len(self._accounts) < self.max_clients:
            return
        for _ in range(min(len(self._accounts), 8)):
            key, account = next(iter(self._accounts.items()))
            if account.in_flight == 0:
                del self._accounts[key]
                return
            self._accounts.move_to_end(key)
        self._accounts.popitem(last=False)
