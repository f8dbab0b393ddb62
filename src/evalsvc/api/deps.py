"""Request-scoped dependencies: a pooled connection and the caller."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, cast

import asyncpg
from litestar.datastructures import State
from litestar.di import NamedDependency

from evalsvc.domain.access import Principal
from evalsvc.settings import Settings


async def provide_conn(state: State) -> AsyncGenerator[asyncpg.Connection, None]:
    """One pooled connection per request; store functions open their own transactions."""
    pool: asyncpg.Pool = state.pool
    async with pool.acquire() as conn:
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
