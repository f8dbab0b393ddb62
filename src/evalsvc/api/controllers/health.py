"""Liveness and readiness: answers 200 only when the database answers."""

from __future__ import annotations

import asyncpg
from litestar import Controller, Response, get

from evalsvc.api.deps import Conn
from evalsvc.api.guards import PUBLIC


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get("/", opt=PUBLIC, security=[], summary="Service and database health")
    async def get_health(self, conn: Conn) -> Response[dict[str, object]]:
        try:
            # one round trip (the probe is asked often, also while a city year runs)
            version, migrated = await conn.fetchrow(
                "select current_setting('server_version'),"
                " (select max(version) from schema_migrations)"
            ) or (None, None)
        except (asyncpg.PostgresError, OSError) as exc:
            return Response(
                {"status": "unavailable", "database": type(exc).__name__}, status_code=503
            )
        return Response(
            {"status": "ok", "database": {"server_version": version, "schema_version": migrated}}
        )
