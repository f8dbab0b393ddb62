"""The voter's side: authenticated by the voter token itself, never by an API key.

Handlers are ``opt=PUBLIC`` for the API-key guard; the store checks the token.
The token travels as ``Authorization: Bearer bv_...`` and is never logged.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotAuthorizedException
from litestar.params import JSONBody

from evalsvc.api.controllers.ballot_rounds import BALLOT_DEPENDENCIES, Keys
from evalsvc.api.deps import Conn
from evalsvc.api.guards import PUBLIC
from evalsvc.api.limits import count_refused_token, refuse_token_guessing
from evalsvc.api.openapi_docs import returns
from evalsvc.api.schemas.ballots import BallotAccepted, VoterSheet
from evalsvc.domain.ballots import BallotSubmit, SealedSheet
from evalsvc.domain.errors import Forbidden
from evalsvc.domain.sheets import SheetSubmit
from evalsvc.store import ballot_sheets, ballots, sheets
from evalsvc.store.database import session_untouched


def voter_token(request: Request[Any, Any, Any]) -> str:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer ") or not header[7:].strip():
        raise NotAuthorizedException("a voter token is needed: 'Authorization: Bearer bv_...'")
    return header[7:].strip()


def _plain_statements_only(request: Request[Any, Any, Any], conn: Conn) -> None:
    """A sheet's hand-in runs plain statements (no SET, lock, cursor or LISTEN) and names no
    actor on the connection (voters are anonymous): its connection goes back to the pool
    without the reset query, one round trip less per sheet."""
    if request.state.get("principal") is None:
        session_untouched(conn)


class BallotController(Controller):
    path = "/ballot"
    tags = ["ballots"]
    dependencies = BALLOT_DEPENDENCIES
    # Token guessing: refused tokens count per address, then 429 (api/limits.py).
    before_request = refuse_token_guessing  # type: ignore[assignment]
    exception_handlers = {Forbidden: count_refused_token}

    @get(
        "/targets",
        opt=PUBLIC,
        summary="The voter's round, forms and pending targets",
        responses=returns(VoterSheet, "What the voter has still to rate"),
    )
    async def list_pending_targets(
        self, conn: Conn, keys: Keys, request: Request[Any, Any, Any]
    ) -> dict[str, Any]:
        return await ballots.pending_targets(conn, keys, voter_token(request))

    @post(
        "/sheets",
        opt=PUBLIC,
        status_code=201,
        summary="Hand in the whole sheet: one ballot for every pending colleague, all or nothing",
        description=(
            'Body: {"ballots": [{"target", "marks", "level", "confidence", '
            '"comment"}, ...]} with exactly one ballot for each colleague of GET '
            "/ballot/targets. Problems answer 422 with one {field, reason} each "
            "(ballots.<target>[.marks.<item>|.comment]); a second sheet 409; nothing of a "
            "refused sheet is stored."
        ),
        responses=returns(BallotAccepted, "The sheet is stored; its receipt", 201),
    )
    async def submit_sheet(
        self, conn: Conn, keys: Keys, request: Request[Any, Any, Any], data: JSONBody[SheetSubmit]
    ) -> dict[str, Any]:
        _plain_statements_only(request, conn)
        return await sheets.submit_sheet(conn, keys, voter_token(request), data)

    @post(
        "/ballots",
        opt=PUBLIC,
        status_code=201,
        summary="Submit one ballot for one target",
        responses=returns(BallotAccepted, "The ballot is stored; its receipt", 201),
    )
    async def submit_ballot(
        self, conn: Conn, keys: Keys, request: Request[Any, Any, Any], data: JSONBody[BallotSubmit]
    ) -> dict[str, Any]:
        return await ballots.submit_ballot(conn, keys, voter_token(request), data)

    @post(
        "/sealed-sheets",
        opt=PUBLIC,
        status_code=201,
        summary="Submit a sheet sealed by the voter's client to the round's public key",
        description=(
            "`targets`: the colleagues the sheet covers; `sealed`: base64 of a libsodium "
            "sealed box (crypto_box_seal) of the JSON sheet {round, ballots: [{target, marks, "
            "level, confidence, comment}]}. Answers the receipt (SHA-256 of the sealed box)."
        ),
        responses=returns(BallotAccepted, "The sealed sheet is stored; its receipt", 201),
    )
    async def submit_sealed_sheet(
        self, conn: Conn, keys: Keys, request: Request[Any, Any, Any], data: JSONBody[SealedSheet]
    ) -> dict[str, Any]:
        _plain_statements_only(request, conn)
        return await ballot_sheets.submit_sealed(
            conn, keys, voter_token(request), data.targets, data.sealed
        )
