"""Remediation items: open (one or many), list (overdue derived), verify, cancel."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from evalsvc.api.deps import Caller, Conn
from evalsvc.api.guards import READERS, allow
from evalsvc.api.openapi_docs import upload_operation
from evalsvc.api.uploads import STREAMED_LIMIT, write_upload
from evalsvc.domain.access import Role
from evalsvc.domain.bulk import Upload
from evalsvc.domain.remediation import (
    REMEDIATION_UPLOAD,
    Origin,
    Remediation,
    RemediationCancel,
    RemediationIn,
    RemediationVerify,
    Status,
)
from evalsvc.domain.units import UpsertSummary
from evalsvc.store import remediation as store

WRITERS = allow(Role.ADMIN, Role.PERSONNEL, Role.HR_SYSTEM)


class RemediationPage(msgspec.Struct):
    items: list[Remediation]
    total: int
    limit: int
    offset: int


class RemediationController(Controller):
    path = "/remediation"
    tags = ["remediation"]

    @post("/", opt=WRITERS, status_code=201, summary="Open one remediation item")
    async def create_item(
        self, conn: Conn, principal: Caller, data: JSONBody[RemediationIn]
    ) -> Remediation:
        _, ids = await store.create_items(conn, [data], principal)
        if not ids:  # the same origin reference exists: return that item
            items, _ = await store.list_items(
                conn,
                principal,
                filters={
                    "origin": data.origin,
                    "origin_ref": data.origin_ref,
                    "cadre": data.cadre_code,
                    "unit": data.unit_code,
                },
                today=date.today(),
                limit=1000,
                offset=0,
            )
            same = [
                i
                for i in items
                if i.item_code == data.item_code
                and i.cadre_code == data.cadre_code
                and i.unit_code == data.unit_code
            ]
            return same[0]
        return await store.get_item(conn, ids[0], principal, date.today())

    @post(
        "/bulk",
        operation_class=upload_operation(REMEDIATION_UPLOAD),
        request_max_body_size=STREAMED_LIMIT,
        opt=WRITERS,
        status_code=200,
        summary="Open many items, all or nothing (idempotent per origin reference)",
        description="A JSON array, or CSV (text/csv) with columns "
        + ",".join(REMEDIATION_UPLOAD.columns)
        + ". An item with an origin_ref that exists already is counted as unchanged.",
    )
    async def create_items(
        self, conn: Conn, principal: Caller, request: Request[Any, Any, Any]
    ) -> UpsertSummary:
        async def write(rows: Upload[RemediationIn]) -> UpsertSummary:
            summary, _ = await store.create_items(conn, rows, principal)
            return summary

        return await write_upload(request, conn, REMEDIATION_UPLOAD, write)

    @get("/", opt=READERS, summary="Remediation items by due date (overdue is derived)")
    async def list_items(
        self,
        conn: Conn,
        principal: Caller,
        cadre: Annotated[str | None, QueryParameter(description="cadre code")] = None,
        unit: Annotated[str | None, QueryParameter(description="unit code (unit items)")] = None,
        status: FromQuery[Status | None] = None,
        origin: FromQuery[Origin | None] = None,
        overdue: Annotated[
            bool | None, QueryParameter(description="only open items past their due date")
        ] = None,
        due_from: FromQuery[date | None] = None,
        due_to: FromQuery[date | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> RemediationPage:
        items, total = await store.list_items(
            conn,
            principal,
            filters={
                "cadre": cadre,
                "unit": unit,
                "status": status,
                "origin": origin,
                "overdue": overdue or None,
                "due_from": due_from,
                "due_to": due_to,
            },
            today=date.today(),
            limit=limit,
            offset=offset,
        )
        return RemediationPage(items, total, limit, offset)

    @get("/{item_id:int}", opt=READERS, summary="One remediation item")
    async def get_item(self, conn: Conn, principal: Caller, item_id: FromPath[int]) -> Remediation:
        return await store.get_item(conn, item_id, principal, date.today())

    @post(
        "/{item_id:int}/verify",
        opt=WRITERS,
        status_code=200,
        summary="Mark an open item done: who verified it and when",
    )
    async def verify_item(
        self,
        conn: Conn,
        principal: Caller,
        item_id: FromPath[int],
        data: JSONBody[RemediationVerify],
    ) -> Remediation:
        return await store.verify_item(conn, item_id, data, principal, date.today())

    @post(
        "/{item_id:int}/cancel",
        opt=WRITERS,
        status_code=200,
        summary="Cancel an open item, with the reason",
    )
    async def cancel_item(
        self,
        conn: Conn,
        principal: Caller,
        item_id: FromPath[int],
        data: JSONBody[RemediationCancel],
    ) -> Remediation:
        return await store.cancel_item(conn, item_id, data, principal, date.today())
