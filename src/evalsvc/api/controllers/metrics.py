"""``/metrics`` in Prometheus' text format, for admins' and auditors' keys.

Request counts and latencies by route template come from Litestar's Prometheus middleware;
jobs, ballots accepted and uploads are counted in the database when scraped, so they stay
right across restarts and whatever process made them.
"""

from __future__ import annotations

from litestar import Controller, Response, get
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from evalsvc.api.deps import Conn
from evalsvc.api.guards import allow
from evalsvc.domain.access import Role
from evalsvc.store.audit import service_counts


class MetricsController(Controller):
    path = "/metrics"
    tags = ["operations"]
    include_in_schema = False

    @get("/", opt=allow(Role.ADMIN, Role.AUDITOR), summary="Prometheus metrics")
    async def metrics(self, conn: Conn) -> Response[bytes]:
        lines = []
        for name, help_text, kind, values in await service_counts(conn):
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")
            for labels, value in values:
                label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
                lines.append(f"{name}{{{label_text}}} {value}" if labels else f"{name} {value}")
        body = generate_latest(REGISTRY) + ("\n".join(lines) + "\n").encode()
        return Response(body, media_type=CONTENT_TYPE_LATEST)
