"""Request-scoped dependencies: a pooled connection and the caller."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, cast

import asyncpg
from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from evalsvc.domain.access import Principal
from evalsvc.domain.audit import actor_of
from evalsvc.logs import request_id
from evalsvc.settings import Settings
from evalsvc.store.audit import set_actor


async def provide_conn(
    state: State, request: Request[Any, Any, Any]
) -> AsyncGenerator[asyncpg.Connection, None]:
    """One pooled connection per request; store functions open their own transactions.

    A request that may write names its caller and its id on the connection first, so the
    audit triggers record them with every change (reads skip that round trip).
    """
    pool: asyncpg.Pool = state.pool
    async with pool.acquire() as conn:
        principal = request.state.get("principal")
        if request.method not in ("GET", "HEAD", "OPTIONS") and principal is not None:
            await set_actor(cast(asyncpg.Connection, conn), actor_of(principal), request_id.get())
        yield cast(asyncpg.Connection, conn)


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


def provide_pool(state: State) -> Any:
    return state.pool


Conn = NamedDependency[asyncpg.Connection]
"""Handler parameter type for the request's pooled connection (``conn: Conn``)."""
Caller = NamedDependency[Principal]
"""Handler parameter type for the authenticated caller (``principal: Caller``)."""
AppSettings = NamedDependency[Settings]
"""Handler parameter type for the service settings (``settings: AppSettings``)."""
