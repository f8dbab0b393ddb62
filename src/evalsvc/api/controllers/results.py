"""Published results: a cadre's ratings, a unit's members, rankings, runs, comparisons,
what-if. Lists page with ``limit``/``offset`` and export as CSV (``?format=csv`` or
``Accept: text/csv``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from evalsvc.api.deps import Caller, Conn
from evalsvc.api.export import Format, Offset, ReportFormat, file_response, page
from evalsvc.api.guards import READERS, allow
from evalsvc.api.schemas.results import (
    CadreComparison,
    CadreResults,
    MemberPage,
    RankingPage,
    RunPage,
    RunView,
    UnitComparison,
    WhatIfResult,
)
from evalsvc.domain.access import Role
from evalsvc.domain.cadres import Position
from evalsvc.domain.errors import Forbidden
from evalsvc.domain.recompute import Period
from evalsvc.jobs import report_files, whatif
from evalsvc.published import results as jobs
from evalsvc.store.subjects import scope_filter

REPORT_Q = QueryParameter(
    description="json (default), csv (add excel=1 for Excel: BOM, Vietnamese headers), "
    "xlsx or pdf (the whole list, Vietnamese, for filing)"
)
PERIOD_Q = QueryParameter(description="'YYYY' (annual) or 'YYYY-MM'; default: a run must be given")
RUN_Q = QueryParameter(description="Read this run instead of the published one (appeals)")
# Result lists allow larger pages than the registry (exports of whole blocks).
Limit = Annotated[int, QueryParameter(ge=1, le=10000)]
WHAT_IF = allow(Role.ADMIN, Role.AUDITOR)


class WhatIfRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /what-if``: rate a year under a changed profile; nothing is stored."""

    period: Period
    profile: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] = "nd335"
    changes: dict[str, Any]
    examples: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 20


def _city_only(principal: Any) -> None:
    if not principal.city_wide:
        raise Forbidden("city-wide lists need a city-wide key; ask for a unit's members instead")


class ResultController(Controller):
    path = "/results"
    tags = ["results"]

    @get("/cadres/{code:str}", opt=READERS, summary="A cadre's rating of a period, explained")
    async def get_cadre_results(
        self,
        conn: Conn,
        principal: Caller,
        code: FromPath[str],
        period: Annotated[str | None, PERIOD_Q] = None,
        run: Annotated[int | None, RUN_Q] = None,
    ) -> CadreResults:
        found = await jobs.cadre_ratings(conn, principal, code, period, run)
        return msgspec.convert(found, CadreResults)

    @get("/units/{code:str}/members", opt=READERS, summary="A unit's members and their levels")
    async def list_unit_members(
        self,
        conn: Conn,
        principal: Caller,
        request: Request[Any, Any, Any],
        code: FromPath[str],
        period: Annotated[str | None, PERIOD_Q] = None,
        run: Annotated[int | None, RUN_Q] = None,
        subtree: Annotated[bool, QueryParameter(description="Include every unit below")] = False,
        level: Annotated[
            str | None, QueryParameter(description="HTXS, HTT, HT, KHT, not_rated")
        ] = None,
        position: FromQuery[Position | None] = None,
        limit: Limit = 100,
        offset: Offset = 0,
        format: Annotated[ReportFormat | None, REPORT_Q] = None,
    ) -> Response[MemberPage]:
        if format in ("xlsx", "pdf"):
            report = await report_files.members_report_of(
                conn, principal, code, period=period, run=run, subtree=subtree, level=level,
                position=position,
            )  # fmt: skip
            body = await report_files.render(report, format)
            return file_response(body, report.filename, format)
        items, total = await jobs.unit_members(
            conn, principal, code, period=period, run=run, subtree=subtree, level=level,
            position=position, limit=limit, offset=offset,
        )  # fmt: skip
        return page(
            request, format, items, total, limit, offset, f"members-{code}", jobs.MEMBER_COLUMNS,
            shape=MemberPage,
        )  # fmt: skip

    @get("/rankings", opt=READERS, summary="Units ranked in their blocks: movement, intervals")
    async def list_rankings(
        self,
        conn: Conn,
        principal: Caller,
        request: Request[Any, Any, Any],
        period: Annotated[str | None, PERIOD_Q] = None,
        run: Annotated[int | None, RUN_Q] = None,
        block: Annotated[str | None, QueryParameter(description="Ranking block")] = None,
        limit: Limit = 100,
        offset: Offset = 0,
        format: Annotated[ReportFormat | None, REPORT_Q] = None,
    ) -> Response[RankingPage]:
        if format in ("xlsx", "pdf"):
            report = await report_files.rankings_report_of(
                conn, period=period, run=run, block=block
            )
            return file_response(await report_files.render(report, format), report.filename, format)
        items, total = await jobs.rankings(
            conn, period=period, run=run, block=block, limit=limit, offset=offset
        )
        return page(
            request, format, items, total, limit, offset, "rankings", jobs.RANKING_COLUMNS,
            shape=RankingPage,
        )  # fmt: skip

    @get("/runs", opt=READERS, summary="Result runs (published or not), newest first")
    async def list_runs(
        self,
        conn: Conn,
        principal: Caller,
        request: Request[Any, Any, Any],
        period: FromQuery[str | None] = None,
        limit: Limit = 100,
        offset: Offset = 0,
        format: FromQuery[Format | None] = None,
    ) -> Response[RunPage]:
        # Scoped keys see the runs of their subtree only (docs/audit.md, "Scopes").
        items, total = await jobs.runs(
            conn, period, limit, offset, await scope_filter(conn, principal)
        )
        return page(request, format, items, total, limit, offset, "runs", shape=RunPage)

    @get("/runs/{run_id:int}", opt=READERS, summary="One run: profile, fingerprint, timings")
    async def get_run(self, conn: Conn, principal: Caller, run_id: FromPath[int]) -> RunView:
        found = await jobs.run_info(conn, run_id, await scope_filter(conn, principal))
        return msgspec.convert(found, RunView)

    @get(
        "/compare",
        opt=READERS,
        summary="Who changed level (what=cadres) or which ranks moved (what=units) between runs",
    )
    async def compare_runs(
        self,
        conn: Conn,
        principal: Caller,
        request: Request[Any, Any, Any],
        period: FromQuery[str],
        what: FromQuery[Literal["cadres", "units"]] = "cadres",
        a: Annotated[
            int | None, QueryParameter(description="Earlier run (default: previous)")
        ] = None,
        b: Annotated[
            int | None, QueryParameter(description="Later run (default: published)")
        ] = None,
        limit: Limit = 100,
        offset: Offset = 0,
        format: FromQuery[Format | None] = None,
    ) -> Response[CadreComparison | UnitComparison]:
        _city_only(principal)
        items, total, run_a, run_b = await jobs.compare(
            conn, what=what, period=period, run_a=a, run_b=b, limit=limit, offset=offset
        )
        shape = CadreComparison if what == "cadres" else UnitComparison
        return page(
            request, format, items, total, limit, offset, f"compare-{what}", a=run_a, b=run_b,
            what=what, shape=shape,
        )  # fmt: skip


class WhatIfController(Controller):
    path = "/what-if"
    tags = ["results"]

    @post(
        "/",
        opt=WHAT_IF,
        status_code=200,
        summary="Rate a year under a changed profile and report the shifts (nothing stored)",
    )
    async def create_what_if(self, conn: Conn, data: JSONBody[WhatIfRequest]) -> WhatIfResult:
        found = await whatif.what_if(conn, data.period, data.profile, data.changes, data.examples)
        return msgspec.convert(found, WhatIfResult)
