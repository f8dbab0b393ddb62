"""Units: create, bulk upsert (JSON or CSV), read one, list."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from evalsvc.api.deps import Caller, Conn
from evalsvc.api.export import Format, Limit, Offset, struct_page
from evalsvc.api.guards import READERS, allow
from evalsvc.api.openapi_docs import upload_operation
from evalsvc.api.uploads import read_upload
from evalsvc.domain import uploads
from evalsvc.domain.access import Role
from evalsvc.domain.units import Unit, UnitCreate, UpsertSummary
from evalsvc.store import units as store

WRITERS = allow(Role.ADMIN, Role.PERSONNEL)


class UnitPage(msgspec.Struct):
    items: list[Unit]
    total: int
    limit: int
    offset: int


class UnitController(Controller):
    path = "/units"
    tags = ["units"]

    @get("/", opt=READERS, summary="List units in Vietnamese alphabetical order")
    async def list_units(
        self,
        conn: Conn,
        principal: Caller,
        request: Request[Any, Any, Any],
        parent: Annotated[
            str | None, QueryParameter(description="Direct children of this unit code")
        ] = None,
        kind: FromQuery[str | None] = None,
        ranking_block: FromQuery[str | None] = None,
        q: Annotated[
            str | None,
            QueryParameter(
                description="Name contains; accents and case are ignored ('nguyen' finds 'Nguyễn')"
            ),
        ] = None,
        limit: Limit = 100,
        offset: Offset = 0,
        format: FromQuery[Format | None] = None,
    ) -> Response[UnitPage]:
        items, total = await store.list_units(
            conn,
            filters={"parent": parent, "kind": kind, "ranking_block": ranking_block, "q": q},
            limit=limit,
            offset=offset,
            principal=principal,
        )
        return struct_page(request, format, UnitPage(items, total, limit, offset), "units")

    @get("/{code:str}", opt=READERS, summary="One unit")
    async def get_unit(self, conn: Conn, principal: Caller, code: FromPath[str]) -> Unit:
        return await store.get_unit(conn, code, principal)

    @post("/", opt=WRITERS, summary="Create one unit (409 if the code exists)")
    async def create_unit(self, conn: Conn, principal: Caller, data: JSONBody[UnitCreate]) -> Unit:
        return await store.create_unit(conn, data, principal)

    @post(
        "/bulk",
        operation_class=upload_operation(uploads.UNITS),
        opt=WRITERS,
        status_code=200,
        summary="Insert or update many units by code (all-or-nothing)",
        description=(
            "Body: a JSON array of units, or CSV (Content-Type: text/csv) with columns "
            "code,name,kind,parent_code,ranking_block,agency,outstanding_years (years as "
            "2024;2025; agency true/false, empty = the default: a unit of a ranking block is an "
            "agency, the scope of its staff's HTXS quota). "
            "Every row is checked first; any problem rejects the whole upload with the row, "
            "field and reason of each problem."
        ),
    )
    async def upsert_units(
        self, conn: Conn, principal: Caller, request: Request[Any, Any, Any]
    ) -> UpsertSummary:
        rows = await read_upload(request, uploads.UNITS)
        return await store.upsert_units(conn, rows, principal)
