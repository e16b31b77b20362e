"""The per-client query budget on ``/sparql``, as a FastAPI dependency.

:func:`query_ticket` (and :func:`admitted`, its context manager, for the lean ``GET /sparql``
path of :mod:`api.routers.sparql`) admits the request (429 with ``Retry-After`` past the
client's budget or concurrency cap, before the body is read) and keeps a
:class:`~coprod_kg.fairness.budget.Ticket`, which the route wraps around the store call
(``with charged(request): ...``); the slot is freed when the request ends. Who the client is:
see :mod:`coprod_kg.fairness.clients`.

Requests with a curator's bearer token are exempt (curators are accounts an administrator
made, and trusted with the whole store); a contributor's token is charged to the account, not
the address (colleagues behind one NAT do not share a budget); an invalid token counts as
anonymous here (a public read needs no account, so it is not refused).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    asynccontextmanager,
    nullcontext,
)
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from coprod_kg.config import Settings
from coprod_kg.curation.accounts import Role
from coprod_kg.fairness.budget import QueryBudget, Ticket, exempt
from coprod_kg.fairness.clients import (
    Network,
    client_address,
    client_key,
    forwarded_for,
    parse_networks,
)

from .auth import accounts
from .deps import get_settings


class Fairness:
    """The app's budget and its client resolution (built once per app from the settings)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.budget = QueryBudget(settings.client_query_seconds, settings.client_window,
                                  settings.client_concurrency)
        self.trusted: tuple[Network, ...] = parse_networks(settings.trusted_proxies)
        self.header = settings.forwarded_header.strip().lower()

    def client(self, request: Request) -> str:
        """The calling client's address (see :mod:`coprod_kg.fairness.clients`)."""
        peer = request.client.host if request.client else None
        entries = forwarded_for(self.header, request.headers.getlist(self.header))
        return client_address(peer, entries, self.trusted)


def fairness(request: Request, settings: Settings) -> Fairness:
    """The app's :class:`Fairness` (made on first use; rebuilt if the settings change)."""
    current: Fairness | None = getattr(request.app.state, "fairness", None)
    if current is None or current.settings is not settings:
        current = Fairness(settings)
        request.app.state.fairness = current
    return current


async def _budget_key(request: Request, settings: Settings, state: Fairness) -> str | None:
    """The account or address to charge; ``None`` for an exempt curator."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        user = await run_in_threadpool(accounts(request, settings).authenticate, token.strip())
        if user is not None:
            return None if user.role == Role.CURATOR else f"account:{user.name}"
    return client_key(state.client(request))


def admitted(request: Request, settings: Settings) -> AbstractAsyncContextManager[Ticket]:
    """Admit one SPARQL request against its client's budget; free its slot on leaving. With the
    budget off, an exempt ticket and nothing to free (no generator to run per request)."""
    state = fairness(request, settings)
    if not state.budget.enabled:
        return nullcontext(exempt())
    return _admission(request, settings, state)


@asynccontextmanager
async def _admission(request: Request, settings: Settings, state: Fairness
                     ) -> AsyncIterator[Ticket]:
    key = await _budget_key(request, settings, state)
    ticket = exempt() if key is None else state.budget.admit(key)
    request.state.query_ticket = ticket
    try:
        yield ticket
    finally:
        state.budget.release(ticket)


async def query_ticket(request: Request, settings: Annotated[Settings, Depends(get_settings)]
                       ) -> AsyncIterator[Ticket]:
    """:func:`admitted`, as the routes' dependency: the slot is freed when the request ends."""
    async with admitted(request, settings) as ticket:
        yield ticket


def charged(request: Request) -> AbstractContextManager[None]:
    """Charge the enclosed store call to the request's client (see :func:`query_ticket`); a
    request no ticket was kept for (the budget is off) is charged to nobody."""
    ticket: Ticket | None = request.scope.get("state", {}).get("query_ticket")
    return _NOBODY if ticket is None else ticket.charge()


#: What :func:`charged` returns when there is nothing to charge (reusable: it keeps no state).
_NOBODY: AbstractContextManager[None] = nullcontext()


QueryTicket = Annotated[Ticket, Depends(query_ticket)]
