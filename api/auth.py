"""Bearer-token authentication: who is calling, and may they do this?

Clients send ``Authorization: Bearer TOKEN`` (tokens come from ``coprod-kg user add``). A missing,
malformed, unknown or revoked token is 401 (with ``WWW-Authenticate: Bearer``, added by
:mod:`api.errors`); a valid token whose role does not allow the action is 403.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from coprod_kg.config import Settings
from coprod_kg.curation.accounts import Accounts, Role, User
from coprod_kg.errors import Forbidden, Unauthorized

from .deps import get_settings

#: Declares the scheme in the OpenAPI schema; errors are ours (auto_error=False).
bearer = HTTPBearer(auto_error=False, description="A token made by `coprod-kg user add`.")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def accounts(request: Request, settings: Settings) -> Accounts:
    """The account registry of the store (one per app)."""
    registry: Accounts | None = getattr(request.app.state, "accounts", None)
    if registry is None or registry.path.parent != settings.store:
        registry = Accounts(settings.store)
        request.app.state.accounts = registry
    return registry


async def optional_user(request: Request, credentials: Credentials,
                        settings: Annotated[Settings, Depends(get_settings)]) -> User | None:
    """The calling account, ``None`` when no ``Authorization`` header is sent (401 if invalid)."""
    if request.headers.get("authorization") is None:
        return None
    if credentials is None or not credentials.credentials.strip():
        raise Unauthorized("send 'Authorization: Bearer TOKEN' (a token from "
                           "`coprod-kg user add`)")
    user = await run_in_threadpool(accounts(request, settings).authenticate,
                                   credentials.credentials.strip())
    if user is None:
        raise Unauthorized("the token is unknown or has been revoked")
    return user


async def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    """The calling account; 401 without a valid token."""
    if user is None:
        raise Unauthorized("this action needs an account: send 'Authorization: Bearer TOKEN'")
    return user


async def current_curator(user: Annotated[User, Depends(current_user)]) -> User:
    """The calling account if it is a curator; 403 for a contributor."""
    if user.role != Role.CURATOR:
        raise Forbidden(f"account {user.name!r} is a {user.role.value}; only curators may do "
                        "this")
    return user


OptionalUser = Annotated[User | None, Depends(optional_user)]
AnyUser = Annotated[User, Depends(current_user)]
Curator = Annotated[User, Depends(current_curator)]
