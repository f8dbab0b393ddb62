"""Cadres and peer groups: create, bulk upsert (JSON or CSV), read, list, move."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from evalsvc.api.deps import Caller, Conn
from evalsvc.api.export import Format, Limit, Offset, struct_page
from evalsvc.api.guards import ADMIN, READERS, allow
from evalsvc.api.openapi_docs import upload_operation
from evalsvc.api.schemas.lists import PeerGroupPage
from evalsvc.api.uploads import STREAMED_LIMIT, write_upload
from evalsvc.domain import uploads
from evalsvc.domain.access import Role
from evalsvc.domain.cadres import (
    Cadre,
    CadreCreate,
    CadreMove,
    PersonnelType,
    Position,
)
from evalsvc.domain.units import UpsertSummary
from evalsvc.store import cadres as store

WRITERS = allow(Role.ADMIN, Role.PERSONNEL, Role.HR_SYSTEM)
MOVERS = allow(Role.ADMIN, Role.PERSONNEL)


class CadrePage(msgspec.Struct):
    items: list[Cadre]
    total: int
    limit: int
    offset: int


class CadreController(Controller):
    path = "/cadres"
    tags = ["cadres"]

    @get("/", opt=READERS, summary="List cadres in Vietnamese alphabetical order (given name)")
    async def list_cadres(
        self,
        conn: Conn,
        principal: Caller,
        request: Request[Any, Any, Any],
        unit: Annotated[str | None, QueryParameter(description="Members of this unit only")] = None,
        subtree: Annotated[
            str | None, QueryParameter(description="Members of this unit and all units below it")
        ] = None,
        position: FromQuery[Position | None] = None,
        personnel_type: FromQuery[PersonnelType | None] = None,
        peer_group: FromQuery[str | None] = None,
        party_member: FromQuery[bool | None] = None,
        q: Annotated[
            str | None,
            QueryParameter(
                description="Name contains; accents and case are ignored ('nguyen' finds 'Nguyễn')"
            ),
        ] = None,
        limit: Limit = 100,
        offset: Offset = 0,
        format: FromQuery[Format | None] = None,
    ) -> Response[CadrePage]:
        items, total = await store.list_cadres(
            conn,
            filters={
                "unit": unit,
                "position": position,
                "personnel_type": personnel_type,
                "peer_group": peer_group,
                "party_member": party_member,
                "q": q,
            },
            subtree=subtree,
            limit=limit,
            offset=offset,
            principal=principal,
        )
        return struct_page(request, format, CadrePage(items, total, limit, offset), "cadres")

    @get("/{code:str}", opt=READERS, summary="One cadre with employment and absences")
    async def get_cadre(self, conn: Conn, principal: Caller, code: FromPath[str]) -> Cadre:
        return await store.get_cadre(conn, code, principal)

    @post("/", opt=WRITERS, summary="Create one cadre (409 if the code exists)")
    async def create_cadre(
        self, conn: Conn, principal: Caller, data: JSONBody[CadreCreate]
    ) -> Cadre:
        return await store.create_cadre(conn, data, principal)

    @post(
        "/bulk",
        operation_class=upload_operation(uploads.CADRES),
        request_max_body_size=STREAMED_LIMIT,
        opt=WRITERS,
        status_code=200,
        summary="Insert or update many cadres by code (all-or-nothing)",
        description=(
            "Body: a JSON array of cadres, or CSV (Content-Type: text/csv) with columns "
            "code,full_name,personnel_type,position,unit_code,peer_group,party_member,"
            "employment_start,employment_end. Absences travel in JSON only."
        ),
    )
    async def upsert_cadres(
        self, conn: Conn, principal: Caller, request: Request[Any, Any, Any]
    ) -> UpsertSummary:
        return await write_upload(
            request, conn, uploads.CADRES, lambda rows: store.upsert_cadres(conn, rows, principal)
        )

    @post("/{code:str}/move", opt=MOVERS, status_code=200, summary="Move a cadre to another unit")
    async def move_cadre(
        self, conn: Conn, principal: Caller, code: FromPath[str], data: JSONBody[CadreMove]
    ) -> Cadre:
        return await store.move_cadre(conn, code, data, principal)


class PeerGroupController(Controller):
    path = "/peer-groups"
    tags = ["cadres"]

    @get("/", opt=READERS, summary="Peer groups (the scope of the HTXS quota)")
    async def list_peer_groups(self, conn: Conn) -> PeerGroupPage:
        items = await store.list_peer_groups(conn)
        return PeerGroupPage(items, len(items), len(items), 0)

    @post(
        "/bulk",
        operation_class=upload_operation(uploads.PEER_GROUPS),
        request_max_body_size=STREAMED_LIMIT,
        opt=ADMIN,
        status_code=200,
        summary="Insert or update peer groups by code",
    )
    async def upsert_peer_groups(
        self, conn: Conn, request: Request[Any, Any, Any]
    ) -> UpsertSummary:
        return await write_upload(
            request, conn, uploads.PEER_GROUPS, partial(store.upsert_peer_groups, conn)
        )
