"""Ballot rounds: personnel (in their subtree) and admins manage them and upload paper
ballots; auditors, admins and personnel read the tallies of closed rounds."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, patch, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody

from evalsvc.api.deps import AppSettings, Caller, Conn
from evalsvc.api.export import Limit, Offset
from evalsvc.api.guards import PUBLIC, allow, allow_people
from evalsvc.api.openapi_docs import returns, text_body
from evalsvc.api.schemas.ballots import (
    BallotRound,
    BallotRoundPage,
    CommitteeKeyInfo,
    CommitteeShare,
    Invitation,
    InvitationsQueued,
    PaperUpload,
    PaperUploadRecord,
    Participation,
    ReceiptProof,
    RoundTallies,
    TargetTally,
)
from evalsvc.api.uploads import read_whole_body
from evalsvc.delivery.invitations import invitations_of, resend_ids
from evalsvc.delivery.runner import keys_of, start_delivery
from evalsvc.domain.access import Role
from evalsvc.domain.ballots import (
    BallotKeys,
    CommitteeKey,
    PaperBallot,
    RoundClose,
    RoundCreate,
    RoundUpdate,
)
from evalsvc.domain.errors import Conflict, NotFound, field_error
from evalsvc.domain.sheets import ResendRequest
from evalsvc.store import ballot_committee, ballot_receipts, ballot_results, ballot_rounds, ballots
from evalsvc.store.sheets import finished_voters

MANAGERS = allow(Role.ADMIN, Role.PERSONNEL)
TALLY_READERS = allow(Role.ADMIN, Role.PERSONNEL, Role.AUDITOR)
# Closing and paper entry: managers' keys or people; the store lets only committee members
# enter shares and paper ballots.
COMMITTEE = allow_people(*Role)
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

    @post(
        "/",
        opt=MANAGERS,
        summary="Create a ballot round (draft)",
        responses=returns(BallotRound, "The new draft round", 201),
    )
    async def create_round(
        self, conn: Conn, principal: Caller, data: JSONBody[RoundCreate]
    ) -> dict[str, Any]:
        return await ballot_rounds.create_round(conn, principal, data)

    @get(
        "/",
        opt=TALLY_READERS,
        summary="List ballot rounds",
        responses=returns(BallotRoundPage, "A page of rounds"),
    )
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

    @get(
        "/{round_id:int}",
        opt=TALLY_READERS,
        summary="One ballot round",
        responses=returns(BallotRound, "The round"),
    )
    async def get_round(self, conn: Conn, principal: Caller, round_id: RoundId) -> dict[str, Any]:
        return await ballot_rounds.get_round(conn, principal, round_id)

    @patch(
        "/{round_id:int}",
        opt=MANAGERS,
        summary="Edit a draft round",
        responses=returns(BallotRound, "The edited draft"),
    )
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
        responses=returns(BallotRound, "The open round with its invitations per channel"),
    )
    async def open_round(
        self,
        conn: Conn,
        principal: Caller,
        keys: Keys,
        request: Request[Any, Any, Any],
        round_id: RoundId,
    ) -> dict[str, Any]:
        opened = await ballot_rounds.open_round(conn, principal, round_id, keys)
        start_delivery(request.app.state, round_id)
        return opened

    @post(
        "/{round_id:int}/close",
        opt=COMMITTEE,
        status_code=200,
        summary="Close an open round with the shares of `threshold` committee members; tally",
        responses=returns(BallotRound, "The closed round with its counts and tally summary"),
    )
    async def close_round(
        self,
        conn: Conn,
        principal: Caller,
        settings: AppSettings,
        keys: Keys,
        round_id: RoundId,
        data: JSONBody[RoundClose],
    ) -> dict[str, Any]:
        return await ballot_rounds.close_round(
            conn,
            principal,
            round_id,
            keys,
            data.shares,
            remediation=settings.ballot_remediation,
            due_days=settings.remediation_due_days,
        )

    @post(
        "/{round_id:int}/committee/share",
        opt=COMMITTEE,
        status_code=200,
        summary="A committee member fetches their share, sealed to their own committee key",
        responses=returns(CommitteeShare, "The caller's share, sealed to their committee key"),
    )
    async def collect_share(
        self, conn: Conn, principal: Caller, keys: Keys, round_id: RoundId
    ) -> dict[str, Any]:
        return await ballot_committee.collect_share(conn, keys, principal, round_id)

    @post(
        "/{round_id:int}/paper-ballots",
        operation_class=text_body(
            "Paper ballots as CSV (target,marks,level,confidence,comment) or a JSON array of "
            "objects with those fields.",
            "target,marks,level,confidence,comment\nC001,10x0,HT,normal,\n",
            "text/csv",
            "application/json",
            rows=PaperBallot,
        ),
        opt=COMMITTEE,
        status_code=200,
        summary="A committee member uploads digitised paper ballots (pending until a second "
        "member confirms)",
        description=(
            "text/csv or application/json, validated whole. One row per ballot: target, marks "
            "(one character per item of the target's form in catalog order: 1 observed, "
            "0 not observed, x no basis), level, confidence, comment. Send an Idempotency-Key "
            "header; a retry with the same key and body is answered without storing twice."
        ),
        responses=returns(PaperUpload, "The upload, pending a second member's confirmation"),
    )
    async def upload_paper_ballots(
        self, conn: Conn, principal: Caller, request: Request[Any, Any, Any], round_id: RoundId
    ) -> dict[str, Any]:
        body = await read_whole_body(request)
        return await ballots.upload_paper(
            conn,
            principal,
            round_id,
            body,
            request.headers.get("content-type", ""),
            request.headers.get("idempotency-key", ""),
        )

    @post(
        "/{round_id:int}/paper-ballots/{upload_id:int}/confirm",
        opt=COMMITTEE,
        status_code=200,
        summary="A second committee member confirms an upload: only then does it count",
        responses=returns(PaperUpload, "The counted upload"),
    )
    async def confirm_paper_ballots(
        self, conn: Conn, principal: Caller, round_id: RoundId, upload_id: FromPath[int]
    ) -> dict[str, Any]:
        return await ballots.confirm_paper(conn, principal, round_id, upload_id)

    @get(
        "/{round_id:int}/paper-ballots",
        opt=COMMITTEE,
        summary="Paper uploads and who did what",
        responses=returns(list[PaperUploadRecord], "The round's paper uploads"),
    )
    async def list_paper_uploads(
        self, conn: Conn, principal: Caller, round_id: RoundId
    ) -> list[dict[str, Any]]:
        return await ballots.list_uploads(conn, principal, round_id)

    @get(
        "/{round_id:int}/receipts/{receipt:str}",
        opt=PUBLIC,
        summary="Inclusion proof of a receipt in the round's published Merkle root",
        responses=returns(ReceiptProof, "The receipt's path to the root"),
    )
    async def get_receipt(
        self, conn: Conn, round_id: RoundId, receipt: FromPath[str]
    ) -> dict[str, Any]:
        try:
            value = bytes.fromhex(receipt)
        except ValueError:
            raise field_error("receipt", "64 hex digits") from None
        if len(value) != 32:
            raise field_error("receipt", "64 hex digits")
        found = await ballot_receipts.inclusion(conn, round_id, value)
        if found is None:
            raise NotFound("this receipt is not among the round's counted sheets")
        return found

    @get(
        "/{round_id:int}/participation",
        opt=TALLY_READERS,
        summary="How many voters have handed in their sheet (a count, never who)",
        responses=returns(Participation, "The count"),
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
        responses=returns(list[Invitation], "One entry per voter"),
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
        responses=returns(InvitationsQueued, "What was queued", 202),
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

    @get(
        "/{round_id:int}/tallies",
        opt=TALLY_READERS,
        summary="Per-target results",
        responses=returns(RoundTallies, "The round's figures and a page of targets"),
    )
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
        responses=returns(TargetTally, "The target's result (withheld under k_min)"),
    )
    async def get_tally(
        self, conn: Conn, principal: Caller, round_id: RoundId, target: FromPath[str]
    ) -> dict[str, Any]:
        return await ballot_results.target_tally(conn, principal, round_id, target)


class CommitteeKeyController(Controller):
    """A person's committee key: the public half of the X25519 pair their shares are sealed
    to. The private half is made and kept by the person (browser page or their machine)."""

    path = "/committee-key"
    tags = ["ballots"]

    @get(
        "/",
        opt=COMMITTEE,
        summary="My registered committee key (public half)",
        responses=returns(CommitteeKeyInfo, "The caller's registered key, or nulls"),
    )
    async def get_key(self, conn: Conn, principal: Caller) -> dict[str, Any]:
        return await ballot_committee.registered_key(conn, principal)

    @put(
        "/",
        opt=COMMITTEE,
        summary="Register or replace my committee key (public half)",
        responses=returns(CommitteeKeyInfo, "The key now registered"),
    )
    async def put_key(
        self, conn: Conn, principal: Caller, data: JSONBody[CommitteeKey]
    ) -> dict[str, Any]:
        return await ballot_committee.register_key(conn, principal, data.public_key)
