"""Recomputation jobs: start one (202), follow its progress, list them."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any, cast

import asyncpg
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from evalsvc.api.deps import Caller, Conn
from evalsvc.api.guards import READERS, allow
from evalsvc.domain.access import Role
from evalsvc.domain.audit import Actor
from evalsvc.domain.errors import Forbidden
from evalsvc.domain.recompute import Job, JobState, RecomputeRequest
from evalsvc.jobs import recompute as jobs
from evalsvc.store import jobs as job_store
from evalsvc.store.audit import set_actor
from evalsvc.store.subjects import scope_filter

log = logging.getLogger(__name__)
RUNNERS = allow(Role.ADMIN, Role.PERSONNEL)


async def _run_in_background(pool: asyncpg.Pool, job_id: int) -> None:
    # A second connection reads alongside, unless the pool is too small to spare one for
    # the job and still serve requests (it would wait for itself with a pool of one).
    reader = cast(jobs.Reader, pool.acquire) if pool.get_max_size() > 2 else None
    async with pool.acquire() as conn:
        # Its publication is recorded as the job's; the job's entry names who asked for it.
        await set_actor(
            cast(asyncpg.Connection, conn),
            Actor(kind="system", id=str(job_id), label=f"recompute job {job_id}"),
        )
        try:
            await jobs.run_job(cast(asyncpg.Connection, conn), job_id, reader=reader)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # recorded on the job row by run_job
            log.warning("recomputation %s failed: %s", job_id, type(exc).__name__)


def start_background(state: State, job_id: int) -> None:
    """Run the job on the app's event loop; CPU work goes to a thread inside run_job."""
    task = asyncio.get_running_loop().create_task(_run_in_background(state.pool, job_id))
    background: set[asyncio.Task[None]] = state.background
    background.add(task)
    task.add_done_callback(background.discard)


class RecomputeController(Controller):
    path = "/recomputations"
    tags = ["recomputations"]

    @post(
        "/",
        opt=RUNNERS,
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
        job, created = await jobs.request(conn, data, principal)
        if created:
            start_background(request.app.state, job.id)
        return Response(
            job,
            status_code=202 if created else 200,
            headers={"location": f"/recomputations/{job.id}"},
        )

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
    ) -> dict[str, Any]:
        items, total = await job_store.list_jobs(
            conn,
            state=job_state,
            period=period,
            limit=limit,
            offset=offset,
            units=await scope_filter(conn, principal),
        )
        return {"items": items, "total": total, "limit": limit, "offset": offset}
