"""Discipline records: create, bulk upsert (JSON or CSV), list."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromQuery, JSONBody, QueryParameter

from evalsvc.api.deps import Caller, Conn
from evalsvc.api.guards import READERS, allow
from evalsvc.api.openapi_docs import upload_operation
from evalsvc.api.uploads import STREAMED_LIMIT, write_upload
from evalsvc.domain.access import Role
from evalsvc.domain.discipline import (
    DISCIPLINE_UPLOAD,
    Discipline,
    DisciplineForm,
    DisciplineIn,
    Track,
)
from evalsvc.domain.units import UpsertSummary
from evalsvc.store import discipline as store

WRITERS = allow(Role.ADMIN, Role.PERSONNEL, Role.HR_SYSTEM)


class DisciplinePage(msgspec.Struct):
    items: list[Discipline]
    total: int
    limit: int
    offset: int


class DisciplineController(Controller):
    path = "/discipline"
    tags = ["discipline"]

    @post("/", opt=WRITERS, status_code=201, summary="Record (or update) one discipline decision")
    async def create_discipline(
        self, conn: Conn, principal: Caller, data: JSONBody[DisciplineIn]
    ) -> Discipline:
        return await store.create_discipline(conn, data, principal)

    @post(
        "/bulk",
        operation_class=upload_operation(DISCIPLINE_UPLOAD),
        request_max_body_size=STREAMED_LIMIT,
        opt=WRITERS,
        status_code=200,
        summary="Insert or update many by (cadre, track, violation_id), all or nothing",
        description="A JSON array, or CSV (text/csv) with columns "
        + ",".join(DISCIPLINE_UPLOAD.columns),
    )
    async def upsert_discipline(
        self, conn: Conn, principal: Caller, request: Request[Any, Any, Any]
    ) -> UpsertSummary:
        return await write_upload(
            request,
            conn,
            DISCIPLINE_UPLOAD,
            lambda rows: store.upsert_discipline(conn, rows, principal),
        )

    @get("/", opt=READERS, summary="Discipline records, latest effective first")
    async def list_discipline(
        self,
        conn: Conn,
        principal: Caller,
        cadre: Annotated[str | None, QueryParameter(description="cadre code")] = None,
        form: FromQuery[DisciplineForm | None] = None,
        track: FromQuery[Track | None] = None,
        effective_from: FromQuery[date | None] = None,
        effective_to: FromQuery[date | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> DisciplinePage:
        items, total = await store.list_discipline(
            conn,
            principal,
            cadre=cadre,
            form=form,
            track=track,
            effective_from=effective_from,
            effective_to=effective_to,
            limit=limit,
            offset=offset,
        )
        return DisciplinePage(items, total, limit, offset)
