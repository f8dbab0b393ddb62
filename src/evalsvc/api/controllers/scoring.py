"""``POST /scoring/periods``: score an HR system's own data with the scoring core."""

from __future__ import annotations

import asyncio

import msgspec
from litestar import Controller, post
from litestar.params import JSONBody

from evalsvc.api.guards import allow
from evalsvc.api.schemas.results import ScoringResult
from evalsvc.domain.access import Role
from evalsvc.domain.scoring_api import ScoringRequest
from evalsvc.jobs import scoring_api

SCORERS = allow(Role.ADMIN, Role.PERSONNEL, Role.HR_SYSTEM, Role.AUDITOR)


class ScoringController(Controller):
    path = "/scoring"
    tags = ["scoring"]

    @post(
        "/periods",
        opt=SCORERS,
        status_code=200,
        summary="Score cadre-periods' inputs (tasks or totals, assessment, manifestations, "
        "d/đ/e) under a profile or a variant; nothing is stored",
    )
    async def score_periods(self, data: JSONBody[ScoringRequest]) -> ScoringResult:
        scored = await asyncio.to_thread(scoring_api.score_periods, data)
        return msgspec.convert(scored, ScoringResult)
