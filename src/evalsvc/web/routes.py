"""The page router and the static files, mounted by the app factory beside the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from evalsvc.web.page import PAGE_EXCEPTION_HANDLERS, page_guard
from evalsvc.web.pages.account import AccountPages
from evalsvc.web.pages.audit import AuditPages
from evalsvc.web.pages.recompute import RecomputePages
from evalsvc.web.pages.results import ResultPages
from evalsvc.web.pages.rounds import RoundPages
from evalsvc.web.pages.users_admin import UserPages
from evalsvc.web.pages.voter import VoterPages

STATIC_DIR = Path(__file__).parent / "static"
SWAGGER = "/static/vendor/swagger-ui"


def page_routes() -> list[ControllerRouterHandler]:
    """Pages (public for the API-key guard; the page guard checks sessions) and assets."""
    controllers: list[Any] = [
        AccountPages, UserPages, VoterPages, RoundPages, ResultPages, RecomputePages,
        AuditPages,
    ]  # fmt: skip
    pages = Router(
        path="/",
        route_handlers=controllers,
        guards=[page_guard],
        opt={"public": True},
        exception_handlers=dict(PAGE_EXCEPTION_HANDLERS),  # type: ignore[arg-type]
        include_in_schema=False,
    )
    static = create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        opt={"public": True},
        cache_control=CacheControlHeader(max_age=3600, public=True),
        include_in_schema=False,
    )
    return [pages, static]


def offline_swagger() -> SwaggerRenderPlugin:
    """Swagger UI from the package's own copy (no CDN: government networks are offline)."""
    return SwaggerRenderPlugin(
        js_url=f"{SWAGGER}/swagger-ui-bundle.js",
        css_url=f"{SWAGGER}/swagger-ui.css",
        standalone_preset_js_url=f"{SWAGGER}/swagger-ui-standalone-preset.js",
        favicon="<link rel='icon' href='/static/favicon.svg' type='image/svg+xml'>",
        path=["/", "/swagger"],
    )
