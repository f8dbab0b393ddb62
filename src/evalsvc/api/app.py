"""The Litestar application factory: settings in, ASGI app out (no globals)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import cast

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from evalsvc import __version__
from evalsvc.api.controllers import CONTROLLERS
from evalsvc.api.deps import provide_conn, provide_settings
from evalsvc.api.errors import EXCEPTION_HANDLERS
from evalsvc.api.guards import authorize, provide_principal
from evalsvc.jobs.pack_refresh import Lend, Refresher
from evalsvc.settings import Settings
from evalsvc.store.database import create_pool
from evalsvc.web.routes import offline_swagger, page_routes


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
        refresher = app.state.pack_refresher = Refresher(cast(Lend, pool.acquire))
        lookout = None
        if settings.pack_refresh_seconds > 0:
            lookout = asyncio.get_running_loop().create_task(
                refresher.every(settings.pack_refresh_seconds)
            )
        try:
            yield
        finally:
            if lookout is not None:
                lookout.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await lookout
            await refresher.stop()
            # Recomputations still running are cancelled (their jobs are marked failed and
            # the published results stay as they were) before the pool closes.
            background: set[asyncio.Task[None]] = app.state.background
            for task in list(background):
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await pool.close()

    return Litestar(
        route_handlers=[*CONTROLLERS, *page_routes()],
        lifespan=[lifespan],
        dependencies={
            "conn": Provide(provide_conn),
            "principal": Provide(provide_principal, sync_to_thread=False),
            "settings": Provide(provide_settings, sync_to_thread=False),
        },
        guards=[authorize],
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.max_body_bytes,
        state=State({"settings": settings, "background": set()}),
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
    )
