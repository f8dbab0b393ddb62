"""Ballot rounds: personnel (in their subtree) and admins manage them and upload paper
ballots; auditors, admins and personnel read the tallies of closed rounds."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody

from evalsvc.api.deps import AppSettings, Caller, Conn
from evalsvc.api.export import Limit, Offset
from evalsvc.api.guards import allow
from evalsvc.api.openapi_docs import text_body
from evalsvc.domain.access import Role
from evalsvc.domain.ballots import BallotKeys, RoundCreate, RoundUpdate
from evalsvc.keyring import ballot_keys
from evalsvc.settings import Settings
from evalsvc.store import ballot_results, ballot_rounds, ballots

MANAGERS = allow(Role.ADMIN, Role.PERSONNEL)
TALLY_READERS = allow(Role.ADMIN, Role.PERSONNEL, Role.AUDITOR)
RoundId = FromPath[int]


def provide_ballot_keys(request: Request[Any, Any, Any]) -> BallotKeys:
    """The HMAC subkeys, derived once per app from the settings (or the persisted key)."""
    state = request.app.state
    keys: BallotKeys | None = state.get("ballot_keys")
    if keys is None:
        settings: Settings = state.settings
        keys = ballot_keys(settings)
        state.ballot_keys = keys
    return keys


Keys = NamedDependency[BallotKeys]
BALLOT_DEPENDENCIES = {"keys": Provide(provide_ballot_keys, sync_to_thread=False)}


class BallotRoundController(Controller):
    path = "/ballot-rounds"
    tags = ["ballots"]
    dependencies = BALLOT_DEPENDENCIES

    @post("/", opt=MANAGERS, summary="Create a ballot round (draft)")
    async def create_round(
        self, conn: Conn, principal: Caller, data: JSONBody[RoundCreate]
    ) -> dict[str, Any]:
        return await ballot_rounds.create_round(conn, principal, data)

    @get("/", opt=TALLY_READERS, summary="List ballot rounds")
    async def list_rounds(
        self,
        conn: Conn,
        principal: Caller,
        status: FromQuery[str | None] = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        items, total = await ballot_rounds.list_rounds(conn, principal, status, limit, offset)
        return {"items": items, "total": total, "limit": limit, "offset": offset}

    @get("/{round_id:int}", opt=TALLY_READERS, summary="One ballot round")
    async def get_round(self, conn: Conn, principal: Caller, round_id: RoundId) -> dict[str, Any]:
        return await ballot_rounds.get_round(conn, principal, round_id)

    @patch("/{round_id:int}", opt=MANAGERS, summary="Edit a draft round")
    async def update_round(
        self, conn: Conn, principal: Caller, round_id: RoundId, data: JSONBody[RoundUpdate]
    ) -> dict[str, Any]:
        return await ballot_rounds.update_round(conn, principal, round_id, data)

    @delete("/{round_id:int}", opt=MANAGERS, summary="Delete a draft round")
    async def delete_round(self, conn: Conn, principal: Caller, round_id: RoundId) -> None:
        await ballot_rounds.delete_round(conn, principal, round_id)

    @post(
        "/{round_id:int}/open",
        opt=MANAGERS,
        status_code=200,
        summary="Open a draft round; returns each voter's token, once",
    )
    async def open_round(
        self, conn: Conn, principal: Caller, keys: Keys, round_id: RoundId
    ) -> dict[str, Any]:
        return await ballot_rounds.open_round(conn, principal, round_id, keys)

    @post(
        "/{round_id:int}/close",
        opt=MANAGERS,
        status_code=200,
        summary="Close an open round and tally it",
    )
    async def close_round(
        self, conn: Conn, principal: Caller, settings: AppSettings, round_id: RoundId
    ) -> dict[str, Any]:
        return await ballot_rounds.close_round(
            conn,
            principal,
            round_id,
            remediation=settings.ballot_remediation,
            due_days=settings.remediation_due_days,
        )

    @post(
        "/{round_id:int}/paper-ballots",
        operation_class=text_body(
            "Paper ballots as CSV (target,marks,level,confidence,comment) or a JSON array of "
            "objects with those fields.",
            "target,marks,level,confidence,comment\nC001,10x0,HT,normal,\n",
            "text/csv",
            "application/json",
        ),
        opt=MANAGERS,
        status_code=200,
        summary="Upload digitised paper ballots (text/csv or application/json), all or nothing",
        description=(
            "One row per ballot: target, marks (one character per item of the target's form "
            "in catalog order: 1 observed, 0 not observed, x no basis), level, confidence, "
            "comment. Send an Idempotency-Key header; a retry with the same key and body is "
            "answered without storing twice."
        ),
    )
    async def upload_paper_ballots(
        self, conn: Conn, principal: Caller, request: Request[Any, Any, Any], round_id: RoundId
    ) -> dict[str, Any]:
        body = await request.body()
        return await ballots.upload_paper(
            conn,
            principal,
            round_id,
            body,
            request.headers.get("content-type", ""),
            request.headers.get("idempotency-key", ""),
        )

    @get("/{round_id:int}/tallies", opt=TALLY_READERS, summary="Per-target results")
    async def list_tallies(
        self,
        conn: Conn,
        principal: Caller,
        round_id: RoundId,
        limit: Limit = 500,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        return await ballot_results.list_tallies(conn, principal, round_id, limit, offset)

    @get(
        "/{round_id:int}/tallies/{target:str}",
        opt=TALLY_READERS,
        summary="One target's result: items, levels, confidence, comments",
    )
    async def get_tally(
        self, conn: Conn, principal: Caller, round_id: RoundId, target: FromPath[str]
    ) -> dict[str, Any]:
        return await ballot_results.target_tally(conn, principal, round_id, target)
