"""Liveness and readiness: answers 200 only when the database answers."""

from __future__ import annotations

import asyncpg
from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec

from evalsvc.api.deps import Conn
from evalsvc.api.guards import PUBLIC
from evalsvc.api.schemas.lists import DatabaseHealth, Health, Unhealthy


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get(
        "/",
        opt=PUBLIC,
        security=[],
        summary="Service and database health",
        responses={
            200: ResponseSpec(Health, description="The service and its database answer"),
            503: ResponseSpec(Unhealthy, description="The database did not answer"),
        },
    )
    async def get_health(self, conn: Conn) -> Response[Health | Unhealthy]:
        try:
            # one round trip (the probe is asked often, also while a city year runs)
            row = await conn.fetchrow(
                "select current_setting('server_version') as version,"
                " (select max(version) from schema_migrations) as migrated"
            )
            version: str = row["version"] if row is not None else ""
            migrated: int | None = row["migrated"] if row is not None else None
        except (asyncpg.PostgresError, OSError) as exc:
            return Response(Unhealthy("unavailable", type(exc).__name__), status_code=503)
        return Response(Health("ok", DatabaseHealth(version, migrated)))
