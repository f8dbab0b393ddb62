"""The Litestar application factory: settings in, ASGI app out (no globals)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.prometheus import PrometheusConfig

from evalsvc import __version__
from evalsvc.api.controllers import CONTROLLERS
from evalsvc.api.controllers.metrics import MetricsController
from evalsvc.api.deps import provide_conn, provide_settings
from evalsvc.api.errors import EXCEPTION_HANDLERS
from evalsvc.api.guards import authorize, provide_principal
from evalsvc.api.limits import FailureLimiter, key_rate_limit
from evalsvc.api.observe import observe, secure_headers
from evalsvc.api.openapi_docs import GeneratedClientStructs, document_errors
from evalsvc.api.validation import refuse_hostile_input
from evalsvc.jobs import queue
from evalsvc.settings import Settings
from evalsvc.store.database import create_pool
from evalsvc.web.routes import offline_swagger, page_routes


def cors_config(settings: Settings) -> CORSConfig | None:
    """CORS is off unless origins are configured (EVALSVC_CORS_ORIGINS); a preflight is
    answered by the CORS middleware before any key is asked for."""
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if not origins:
        return None
    return CORSConfig(
        allow_origins=origins,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["authorization", "content-type", "x-request-id", "idempotency-key"],
        expose_headers=["x-request-id", "x-total-count", "location", "retry-after"],
        max_age=600,
    )


def create_app(settings: Settings, dsn: str) -> Litestar:
    """Build the app for an already-resolved (and migrated) database DSN.

    The pool is created in the app's lifespan, on the event loop that serves requests.
    """

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        pool = await create_pool(
            dsn, min_size=settings.pool_min_size, max_size=settings.pool_max_size
        )
        app.state.pool = pool
        # Recomputations and the queue's periodic work (failing dead workers' jobs) run in
        # worker processes (jobs/queue.py). A worker inside this process is for tests and
        # tiny installations (EVALSVC_IN_PROCESS_WORKER).
        stop = asyncio.Event()
        tasks = []
        if settings.in_process_worker:
            tasks.append(asyncio.get_running_loop().create_task(queue.run_worker(dsn, stop)))
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await pool.close()

    app = Litestar(
        route_handlers=[*CONTROLLERS, MetricsController, *page_routes()],
        plugins=[GeneratedClientStructs()],
        lifespan=[lifespan],
        before_request=refuse_hostile_input,
        before_send=[secure_headers],
        middleware=[
            observe,
            PrometheusConfig(
                app_name="evalsvc", prefix="evalsvc", group_path=True, exclude=["/metrics"]
            ).middleware,
            *(
                [key_rate_limit(settings.key_requests_per_minute).middleware]
                if settings.key_requests_per_minute
                else []
            ),
        ],
        cors_config=cors_config(settings),
        dependencies={
            "conn": Provide(provide_conn),
            "principal": Provide(provide_principal, sync_to_thread=False),
            "settings": Provide(provide_settings, sync_to_thread=False),
        },
        guards=[authorize],
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.json_max_body_bytes,  # streamed uploads: api/uploads.py
        state=State(
            {
                "settings": settings,
                "voter_limiter": FailureLimiter(settings.voter_refusals_per_minute),
            }
        ),
        openapi_config=OpenAPIConfig(
            title="evalsvc",
            version=__version__,
            description=(
                "Ratings of cadres and units: peer ballots, task completion, remediation, "
                "Decree 335/2025 monthly and annual ratings, unit rankings. "
                "Authenticate with 'Authorization: Bearer <API key>'."
            ),
            path="/schema",
            components=Components(
                security_schemes={
                    "apiKey": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        description="An API key from `evalsvc keys create` (or serve --demo).",
                    )
                }
            ),
            security=[{"apiKey": []}],
            render_plugins=[offline_swagger()],
        ),
        debug=False,
        # Logging is configured by the command that serves (evalsvc.logs: JSON lines), not by
        # Litestar's default, which would replace the handlers with its plain-text format.
        logging_config=None,
    )
    document_errors(app)
    return app
