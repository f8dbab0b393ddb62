"""Unit indicators: create, bulk upsert (JSON or CSV), list."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import JSONBody, QueryParameter

from evalsvc.api.controllers.tasks import month_param
from evalsvc.api.deps import Caller, Conn
from evalsvc.api.guards import READERS, allow
from evalsvc.api.openapi_docs import upload_operation
from evalsvc.api.uploads import STREAMED_LIMIT, write_upload
from evalsvc.domain.access import Role
from evalsvc.domain.unit_indicators import UNIT_INDICATOR_UPLOAD, UnitIndicator, UnitIndicatorIn
from evalsvc.domain.units import UpsertSummary
from evalsvc.store import unit_indicators as store

WRITERS = allow(Role.ADMIN, Role.PERSONNEL, Role.HR_SYSTEM)


class UnitIndicatorPage(msgspec.Struct):
    items: list[UnitIndicator]
    total: int
    limit: int
    offset: int


class UnitIndicatorController(Controller):
    path = "/unit-indicators"
    tags = ["unit indicators"]

    @post("/", opt=WRITERS, status_code=201, summary="Record (or update) one unit-month")
    async def create_indicator(
        self, conn: Conn, principal: Caller, data: JSONBody[UnitIndicatorIn]
    ) -> UnitIndicator:
        await store.upsert_indicators(conn, [data], principal)
        items, _ = await store.list_indicators(
            conn, principal, unit=data.unit_code, month=month_param(data.month), limit=1, offset=0
        )
        return items[0]

    @post(
        "/bulk",
        operation_class=upload_operation(UNIT_INDICATOR_UPLOAD),
        request_max_body_size=STREAMED_LIMIT,
        opt=WRITERS,
        status_code=200,
        summary="Insert or update many by (unit, month), all or nothing",
        description="A JSON array, or CSV (text/csv) with columns "
        + ",".join(UNIT_INDICATOR_UPLOAD.columns),
    )
    async def upsert_indicators(
        self, conn: Conn, principal: Caller, request: Request[Any, Any, Any]
    ) -> UpsertSummary:
        return await write_upload(
            request,
            conn,
            UNIT_INDICATOR_UPLOAD,
            lambda rows: store.upsert_indicators(conn, rows, principal),
        )

    @get("/", opt=READERS, summary="Unit indicators, latest month first")
    async def list_indicators(
        self,
        conn: Conn,
        principal: Caller,
        unit: Annotated[str | None, QueryParameter(description="unit code")] = None,
        month: Annotated[str | None, QueryParameter(description="YYYY-MM")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> UnitIndicatorPage:
        items, total = await store.list_indicators(
            conn,
            principal,
            unit=unit,
            month=month_param(month) if month else None,
            limit=limit,
            offset=offset,
        )
        return UnitIndicatorPage(items, total, limit, offset)
