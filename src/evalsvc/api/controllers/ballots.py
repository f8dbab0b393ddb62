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
from evalsvc.domain.ballots import BallotSubmit
from evalsvc.domain.errors import Forbidden
from evalsvc.store import ballots


def voter_token(request: Request[Any, Any, Any]) -> str:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer ") or not header[7:].strip():
        raise NotAuthorizedException("a voter token is needed: 'Authorization: Bearer bv_...'")
    return header[7:].strip()


class BallotController(Controller):
    path = "/ballot"
    tags = ["ballots"]
    dependencies = BALLOT_DEPENDENCIES
    # Token guessing: refused tokens count per address, then 429 (api/limits.py).
    before_request = refuse_token_guessing  # type: ignore[assignment]
    exception_handlers = {Forbidden: count_refused_token}

    @get("/targets", opt=PUBLIC, summary="The voter's round, forms and pending targets")
    async def list_pending_targets(
        self, conn: Conn, keys: Keys, request: Request[Any, Any, Any]
    ) -> dict[str, Any]:
        return await ballots.pending_targets(conn, keys, voter_token(request))

    @post("/ballots", opt=PUBLIC, status_code=201, summary="Submit one ballot for one target")
    async def submit_ballot(
        self, conn: Conn, keys: Keys, request: Request[Any, Any, Any], data: JSONBody[BallotSubmit]
    ) -> dict[str, Any]:
        await ballots.submit_ballot(conn, keys, voter_token(request), data)
        return {"accepted": True}
