"""The recomputation page: start one (administrators: the city or a unit; personnel
officers: a unit of their subtree), watch its stage and percent live, the history of jobs
and runs, and what changed between two runs of a period.

Live progress: ``/static/recompute.js`` polls the job's status every second (a session
read, not the API key); without JavaScript the page says to reload.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from evalsvc.api.deps import Conn
from evalsvc.domain.access import Role
from evalsvc.domain.errors import DomainError
from evalsvc.domain.recompute import RecomputeRequest
from evalsvc.jobs import queue
from evalsvc.published import results as result_jobs
from evalsvc.store import choices
from evalsvc.store import jobs as job_store
from evalsvc.web.page import page_of, people, render
from evalsvc.web.pages.results import helpers, refusal
from evalsvc.web.texts import N_, problem_text

VIEWERS = people(Role.ADMIN, Role.PERSONNEL, Role.AUDITOR)
RUNNERS = people(Role.ADMIN, Role.PERSONNEL)
STAGE_NAMES = {
    "queued": N_("waiting to start"),
    "reading": N_("reading the data"),
    "scoring": N_("scoring"),
    "writing": N_("writing the results"),
    "publishing": N_("publishing"),
    "done": N_("finished"),
}
STATE_NAMES = {
    "queued": N_("queued"),
    "running": N_("running"),
    "succeeded": N_("succeeded"),
    "failed": N_("failed"),
}


class RecomputePages(Controller):
    path = "/recompute"
    include_in_schema = False

    async def _page(
        self,
        request: Request[Any, Any, Any],
        conn: Conn,
        status_code: int = 200,
        errors: dict[str, str] | None = None,
        values: dict[str, str] | None = None,
    ) -> Response[Any]:
        page = page_of(request)
        assert page.user is not None
        principal = page.user.principal
        jobs, _ = await job_store.list_jobs(conn, state=None, period=None, limit=30, offset=0)
        runs, _ = await result_jobs.runs(conn, None, 30, 0)
        q = request.query_params
        comparison = None
        if q.get("compare") and principal.city_wide:
            comparison = await _compare(conn, q.get("period", ""), q.get("a"), q.get("b"))
        return render(
            request,
            "recompute.html",
            status_code=status_code,
            jobs=jobs,
            runs=runs,
            units=await choices.units_for(conn, principal),
            may_run=principal.role in (Role.ADMIN, Role.PERSONNEL),
            city_wide=principal.city_wide,
            errors=errors or {},
            values=values or {},
            comparison=comparison,
            q=q,
            stage_names=STAGE_NAMES,
            state_names=STATE_NAMES,
            **helpers(page),
        )

    @get("/", opt=VIEWERS)
    async def recompute_page(self, request: Request[Any, Any, Any], conn: Conn) -> Response[Any]:
        return await self._page(request, conn)

    @post("/", opt=RUNNERS, status_code=200)
    async def start(self, request: Request[Any, Any, Any], conn: Conn) -> Response[Any]:
        page = page_of(request)
        assert page.user is not None
        form = await request.form()
        values = {k: str(form.get(k, "")).strip() for k in ("period", "unit_code", "profile")}
        try:
            req = msgspec.convert(
                {
                    "period": values["period"],
                    "unit_code": values["unit_code"] or None,
                    "profile": values["profile"] or "nd335",
                },
                RecomputeRequest,
            )
        except msgspec.ValidationError:
            errors = {"period": page.t("Give a year (2026) or a month (2026-05).")}
            return await self._page(request, conn, 422, errors, values)
        if req.unit_code is None and not page.user.principal.city_wide:
            errors = {"unit_code": page.t("Choose a unit of your subtree.")}
            return await self._page(request, conn, 422, errors, values)
        try:
            job, _ = await queue.submit(conn, req, page.user.principal)
        except DomainError as exc:
            errors = {p.field: problem_text(page.t, p.reason) for p in exc.problems} or {
                "period": exc.detail
            }
            return await self._page(request, conn, 422, errors, values)
        return Redirect(f"/recompute/jobs/{job.id}", status_code=303)

    @get("/jobs/{job_id:int}", opt=VIEWERS)
    async def job_page(
        self, request: Request[Any, Any, Any], conn: Conn, job_id: FromPath[int]
    ) -> Response[Any]:
        page = page_of(request)
        try:
            job = await job_store.get_job(conn, job_id)
        except DomainError as exc:
            return refusal(request, exc)
        return render(
            request,
            "recompute_job.html",
            job=job,
            stage_names=STAGE_NAMES,
            state_names=STATE_NAMES,
            **helpers(page),
        )

    @get("/jobs/{job_id:int}/status", opt=VIEWERS)
    async def job_status(
        self, request: Request[Any, Any, Any], conn: Conn, job_id: FromPath[int]
    ) -> Response[Any]:
        """What the page's script polls: state, stage (in words) and percent."""
        page = page_of(request)
        job = await job_store.get_job(conn, job_id)
        return Response(
            {
                "state": job.state,
                "state_text": page.t(STATE_NAMES.get(job.state, job.state)),
                "stage": job.stage,
                "stage_text": page.t(STAGE_NAMES.get(job.stage, job.stage)),
                "percent": round(job.percent),
                "run_id": job.run_id,
                "error": job.error,
            },
            headers={"Cache-Control": "no-store"},
        )


async def _compare(conn: Conn, period: str, a: str | None, b: str | None) -> dict[str, Any]:
    """Cadres who changed level and units whose rank or level moved between runs a and b."""
    try:
        run_a = int(a) if a else None
        run_b = int(b) if b else None
        cadres, n_cadres, ra, rb = await result_jobs.compare(
            conn, what="cadres", period=period, run_a=run_a, run_b=run_b, limit=200, offset=0
        )
        units, n_units, _, _ = await result_jobs.compare(
            conn, what="units", period=period, run_a=ra, run_b=rb, limit=200, offset=0
        )
    except (DomainError, ValueError) as exc:
        return {"error": getattr(exc, "detail", str(exc))}
    return {"cadres": cadres, "n_cadres": n_cadres, "units": units, "n_units": n_units,
            "a": ra, "b": rb, "period": period}  # fmt: skip
