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
from evalsvc.delivery.invitations import invitations_of, resend_ids
from evalsvc.delivery.runner import keys_of, start_delivery
from evalsvc.domain.access import Role
from evalsvc.domain.ballots import BallotKeys, RoundCreate, RoundUpdate
from evalsvc.domain.errors import Conflict
from evalsvc.domain.sheets import ResendRequest
from evalsvc.store import ballot_results, ballot_rounds, ballots
from evalsvc.store.sheets import finished_voters

MANAGERS = allow(Role.ADMIN, Role.PERSONNEL)
TALLY_READERS = allow(Role.ADMIN, Role.PERSONNEL, Role.AUDITOR)
RoundId = FromPath[int]


def provide_ballot_keys(request: Request[Any, Any, Any]) -> BallotKeys:
    """The HMAC subkeys, derived once per app from the settings (or the persisted key)."""
    return keys_of(request.app.state)


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
        summary="Open a draft round; the service delivers each voter's link (never returned)",
        description=(
            "Voters with an email address get their link by mail (SMTP, or the outbox folder "
            "when no SMTP server is set); the others get a sealed paper slip that an "
            "administrator prints once (GET /ballot-rounds/{id}/slips.pdf). The answer counts "
            "invitations per channel; delivery status: GET /ballot-rounds/{id}/invitations."
        ),
    )
    async def open_round(
        self, conn: Conn, principal: Caller, request: Request[Any, Any, Any], round_id: RoundId
    ) -> dict[str, Any]:
        opened = await ballot_rounds.open_round(conn, principal, round_id)
        start_delivery(request.app.state, round_id)
        return opened

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

    @get(
        "/{round_id:int}/participation",
        opt=TALLY_READERS,
        summary="How many voters have handed in their sheet (a count, never who)",
    )
    async def participation(
        self, conn: Conn, principal: Caller, round_id: RoundId
    ) -> dict[str, Any]:
        rnd = await ballot_rounds.get_round(conn, principal, round_id)
        return {
            "round_id": round_id,
            "voters": rnd["voters"],
            "finished": await finished_voters(conn, round_id),
        }

    @get(
        "/{round_id:int}/invitations",
        opt=MANAGERS,
        summary="Delivery of each voter's invitation: channel, address, status (never the link)",
    )
    async def list_invitations(
        self, conn: Conn, principal: Caller, round_id: RoundId
    ) -> list[dict[str, Any]]:
        await ballot_rounds.get_round(conn, principal, round_id)
        rows = await invitations_of(conn, round_id)
        return [{k: v for k, v in r.items() if k != "voter_id"} for r in rows]

    @post(
        "/{round_id:int}/invitations/send",
        opt=MANAGERS,
        status_code=202,
        summary="Send pending email invitations, or re-send to the voters listed (new links)",
        description=(
            'Body: {"voters": [cadre codes]} re-sends to those voters (each gets a new link; '
            'the old one stops working); no body or {"voters": null} sends every pending '
            "one. The work runs in the background: read GET .../invitations for the outcome."
        ),
    )
    async def send_invitations(
        self,
        conn: Conn,
        principal: Caller,
        request: Request[Any, Any, Any],
        round_id: RoundId,
        data: JSONBody[ResendRequest | None] = None,
    ) -> dict[str, Any]:
        rnd = await ballot_rounds.get_round(conn, principal, round_id)
        if rnd["status"] != "open":
            raise Conflict(f"round {round_id} is {rnd['status']}; only an open round sends")
        voter_ids = None
        if data is not None and data.voters is not None:
            voter_ids = await resend_ids(conn, round_id, data.voters)
        start_delivery(request.app.state, round_id, voter_ids)
        return {"round_id": round_id, "queued": "pending" if voter_ids is None else len(voter_ids)}

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
