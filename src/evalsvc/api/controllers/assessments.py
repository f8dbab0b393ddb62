"""Supervisor assessments: create, bulk upsert (JSON or CSV), list."""

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
from evalsvc.domain.assessments import ASSESSMENT_UPLOAD, Assessment, AssessmentIn
from evalsvc.domain.units import UpsertSummary
from evalsvc.store import assessments as store

WRITERS = allow(Role.ADMIN, Role.PERSONNEL, Role.HR_SYSTEM)


class AssessmentPage(msgspec.Struct):
    items: list[Assessment]
    total: int
    limit: int
    offset: int


class AssessmentController(Controller):
    path = "/assessments"
    tags = ["assessments"]

    @post("/", opt=WRITERS, status_code=201, summary="Record (or update) one month's assessment")
    async def create_assessment(
        self, conn: Conn, principal: Caller, data: JSONBody[AssessmentIn]
    ) -> Assessment:
        await store.upsert_assessments(conn, [data], principal)
        items, _ = await store.list_assessments(
            conn, principal, cadre=data.cadre_code, month=month_param(data.month), limit=1, offset=0
        )
        return items[0]

    @post(
        "/bulk",
        operation_class=upload_operation(ASSESSMENT_UPLOAD),
        request_max_body_size=STREAMED_LIMIT,
        opt=WRITERS,
        status_code=200,
        summary="Insert or update many by (cadre, month), all or nothing",
        description="A JSON array, or CSV (text/csv) with columns "
        + ",".join(ASSESSMENT_UPLOAD.columns)
        + ". Sub-criteria 0-10 each; organising (đ) and cohesion (e) 1 or 0.5, leaders only.",
    )
    async def upsert_assessments(
        self, conn: Conn, principal: Caller, request: Request[Any, Any, Any]
    ) -> UpsertSummary:
        return await write_upload(
            request,
            conn,
            ASSESSMENT_UPLOAD,
            lambda rows: store.upsert_assessments(conn, rows, principal),
        )

    @get("/", opt=READERS, summary="Supervisor assessments, latest month first")
    async def list_assessments(
        self,
        conn: Conn,
        principal: Caller,
        cadre: Annotated[str | None, QueryParameter(description="cadre code")] = None,
        month: Annotated[str | None, QueryParameter(description="YYYY-MM")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> AssessmentPage:
        items, total = await store.list_assessments(
            conn,
            principal,
            cadre=cadre,
            month=month_param(month) if month else None,
            limit=limit,
            offset=offset,
        )
        return AssessmentPage(items, total, limit, offset)
