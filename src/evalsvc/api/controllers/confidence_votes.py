"""Formal confidence votes (QĐ 96): create, bulk upsert (JSON or CSV), list."""

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
from evalsvc.domain.confidence_votes import CONFIDENCE_UPLOAD, ConfidenceVote, ConfidenceVoteIn
from evalsvc.domain.units import UpsertSummary
from evalsvc.store import confidence_votes as store

WRITERS = allow(Role.ADMIN, Role.PERSONNEL, Role.HR_SYSTEM)


class ConfidenceVotePage(msgspec.Struct):
    items: list[ConfidenceVote]
    total: int
    limit: int
    offset: int


class ConfidenceVoteController(Controller):
    path = "/confidence-votes"
    tags = ["confidence votes"]

    @post("/", opt=WRITERS, status_code=201, summary="Record (or update) one formal vote")
    async def create_vote(
        self, conn: Conn, principal: Caller, data: JSONBody[ConfidenceVoteIn]
    ) -> ConfidenceVote:
        await store.upsert_votes(conn, [data], principal)
        items, _ = await store.list_votes(
            conn,
            principal,
            cadre=data.cadre_code,
            date_from=data.vote_date,
            date_to=data.vote_date,
            limit=1,
            offset=0,
        )
        return items[0]

    @post(
        "/bulk",
        operation_class=upload_operation(CONFIDENCE_UPLOAD),
        request_max_body_size=STREAMED_LIMIT,
        opt=WRITERS,
        status_code=200,
        summary="Insert or update many by (cadre, vote_date), all or nothing",
        description="A JSON array, or CSV (text/csv) with columns "
        + ",".join(CONFIDENCE_UPLOAD.columns),
    )
    async def upsert_votes(
        self, conn: Conn, principal: Caller, request: Request[Any, Any, Any]
    ) -> UpsertSummary:
        return await write_upload(
            request, conn, CONFIDENCE_UPLOAD, lambda rows: store.upsert_votes(conn, rows, principal)
        )

    @get("/", opt=READERS, summary="Formal confidence votes, latest first, with derived shares")
    async def list_votes(
        self,
        conn: Conn,
        principal: Caller,
        cadre: Annotated[str | None, QueryParameter(description="cadre code")] = None,
        date_from: FromQuery[date | None] = None,
        date_to: FromQuery[date | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> ConfidenceVotePage:
        items, total = await store.list_votes(
            conn,
            principal,
            cadre=cadre,
            date_from=date_from,
            date_to=date_to,
            limit=limit,
            offset=offset,
        )
        return ConfidenceVotePage(items, total, limit, offset)
