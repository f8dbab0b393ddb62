"""Recomputation jobs: queue one (202), follow its progress, cancel it, list them.

The jobs run in worker processes (``jobs/queue.py``), never in the API process.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from evalsvc.api.deps import Caller, Conn
from evalsvc.api.guards import READERS, allow
from evalsvc.api.openapi_docs import returns
from evalsvc.api.schemas.lists import JobPage
from evalsvc.domain.access import Role
from evalsvc.domain.errors import Forbidden
from evalsvc.domain.recompute import Job, JobState, RecomputeRequest
from evalsvc.jobs import queue
from evalsvc.store import jobs as job_store
from evalsvc.store.subjects import scope_filter

log = logging.getLogger(__name__)
RUNNERS = allow(Role.ADMIN, Role.PERSONNEL)


class RecomputeController(Controller):
    path = "/recomputations"
    tags = ["recomputations"]

    @post(
        "/",
        opt=RUNNERS,
        status_code=202,
        responses=returns(Job, "An unfinished job of the same period and scope"),
        summary="Start a recomputation of a month or a year (city or a unit subtree)",
        description=(
            "202 with the new job; if a job of the same period and scope is unfinished, "
            "200 with that job instead. Follow it with GET /recomputations/{id}."
        ),
    )
    async def create_recomputation(
        self,
        conn: Conn,
        principal: Caller,
        request: Request[Any, Any, Any],
        data: JSONBody[RecomputeRequest],
    ) -> Response[Job]:
        if data.unit_code is None and not principal.city_wide:
            raise Forbidden("a scoped key can recompute only a unit of its subtree (unit_code)")
        job, created = await queue.submit(conn, data, principal)
        return Response(
            job,
            status_code=202 if created else 200,
            headers={"location": f"/recomputations/{job.id}"},
        )

    @post(
        "/{job_id:int}/cancel",
        opt=RUNNERS,
        status_code=200,
        summary="Cancel a queued or running recomputation",
        description=(
            "The job ends failed ('cancelled'); the published results stay as they were. "
            "409 when it has finished already."
        ),
    )
    async def cancel_recomputation(
        self, conn: Conn, principal: Caller, job_id: FromPath[int]
    ) -> Job:
        return await queue.cancel(conn, job_id, principal)

    @get("/{job_id:int}", opt=READERS, summary="A recomputation: state, stage, percent, timings")
    async def get_recomputation(self, conn: Conn, principal: Caller, job_id: FromPath[int]) -> Job:
        # Scoped keys see the jobs of their subtree only; others answer as unknown ids.
        return await job_store.get_job(conn, job_id, await scope_filter(conn, principal))

    @get("/", opt=READERS, summary="Recomputations, newest first")
    async def list_recomputations(
        self,
        conn: Conn,
        principal: Caller,
        job_state: Annotated[JobState | None, QueryParameter(name="state")] = None,
        period: FromQuery[str | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> JobPage:
        items, total = await job_store.list_jobs(
            conn,
            state=job_state,
            period=period,
            limit=limit,
            offset=offset,
            units=await scope_filter(conn, principal),
        )
        return JobPage(items, total, limit, offset)
