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
            version = await conn.fetchval("show server_version")
            migrated = await conn.fetchval("select max(version) from schema_migrations")
        except (asyncpg.PostgresError, OSError) as exc:
            return Response(Unhealthy("unavailable", type(exc).__name__), status_code=503)
        return Response(Health("ok", DatabaseHealth(version, migrated)))
