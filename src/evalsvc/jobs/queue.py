"""Recomputations on a PostgreSQL-backed queue (pgqueuer), run by worker processes.

Why pgqueuer: it drives PostgreSQL through asyncpg, the driver the whole service already
uses (procrastinate would bring psycopg and a second connection stack); its jobs are rows
in the same database, enqueued in the same transaction as the ``recompute_jobs`` row, and
it cancels a running job by NOTIFY.

* ``recompute_jobs`` stays the record people follow (state, stage, percent, timings); the
  queue carries its id. :func:`enqueue` runs in the request's transaction.
* A worker (``evalsvc worker``; ``evalsvc serve`` starts ``EVALSVC_WORKERS`` of them)
  takes a job and runs :func:`evalsvc.jobs.recompute.run_job` on its own connection, which
  holds the job's worker advisory lock for the whole run.
* A worker killed midway: its connection closes, so its transaction rolls back (nothing
  half-written; the published set is untouched) and its advisory lock is freed. Looking
  for such jobs is periodic work on the queue: a pgqueuer schedule (:data:`REAP_CRON`,
  every 5 s) that one worker at a time runs (:func:`reap`: jobs left "running" without
  their lock are marked failed with the reason). ``evalsvc serve`` restarts a worker of
  its own that died, so a lone worker's job is failed too. pgqueuer may hand the abandoned
  queue entry to another worker after its heartbeat timeout; the job is no longer queued
  then, so it is not run twice: the next request runs it again.
* Cancel (:func:`cancel`): a queued job is failed at once; a running one is cancelled
  through pgqueuer's NOTIFY, and ``run_job`` marks it failed ("cancelled").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
from pgqueuer import AsyncpgDriver, JobId, Queries, QueueManager, SchedulerManager
from pgqueuer.models import Context, Schedule
from pgqueuer.models import Job as QueueJob

from evalsvc.domain.access import Principal
from evalsvc.domain.audit import Actor
from evalsvc.domain.errors import Conflict
from evalsvc.domain.recompute import Job, RecomputeRequest
from evalsvc.jobs import recompute
from evalsvc.store import jobs as job_store
from evalsvc.store.audit import set_actor
from evalsvc.store.database import connect, lender
from evalsvc.store.subjects import scope_filter

log = logging.getLogger(__name__)

ENTRYPOINT = "evalsvc.recompute"
REAP_ENTRYPOINT = "evalsvc.reap_dead_workers"
REAP_CRON = "* * * * * */5"
"""Every 5 s (croniter's sixth field is seconds): a killed worker's job is failed within
that, the scheduler's 1 s leeway and the time a worker takes to start (when the dead one
was the only one): well under 30 s."""
GONE = "the worker stopped before finishing (its process ended); request it again"


async def enqueue(conn: asyncpg.Connection, job_id: int) -> int:
    """Queue a recompute job (in the caller's transaction); return the queue entry's id."""
    ids = await Queries.from_asyncpg_connection(conn).enqueue(ENTRYPOINT, str(job_id).encode())
    return int(ids[0])


async def submit(
    conn: asyncpg.Connection, req: RecomputeRequest, principal: Principal
) -> tuple[Job, bool]:
    """Create a job and queue it in one transaction (or return the unfinished one of the
    same period and scope, ``created`` False)."""
    async with conn.transaction():
        job, created = await recompute.request(conn, req, principal)
        if created:
            await job_store.set_queue_entry(conn, job.id, await enqueue(conn, job.id))
    return job, created


async def cancel(conn: asyncpg.Connection, job_id: int, principal: Principal) -> Job:
    """Cancel a queued or running job (see the module docstring).

    Raises:
        NotFound: no such job, or (for a scoped caller) a job outside its subtree: the same
            answer, so a scoped key cannot learn which jobs exist elsewhere.
        Conflict: it has finished already.
    """
    job = await job_store.get_job(conn, job_id, await scope_filter(conn, principal))
    if job.state not in ("queued", "running"):
        raise Conflict(f"recomputation {job_id} is {job.state} already")
    entry = await job_store.queue_entry(conn, job_id)
    if job.state == "queued":
        await job_store.fail(conn, job_id, "cancelled before it started")
    if entry is not None:
        queries = Queries.from_asyncpg_connection(conn)
        await queries.mark_job_as_cancelled([JobId(entry)])
    return await job_store.get_job(conn, job_id)


async def reap(conn: asyncpg.Connection) -> list[int]:
    """Mark failed the running jobs whose worker is gone (its advisory lock is free)."""
    failed = []
    for job_id, period, scope in await job_store.running(conn):
        if await job_store.worker_gone(conn, period, scope):
            await job_store.fail(conn, job_id, GONE)
            failed.append(job_id)
    if failed:
        log.warning("recomputation(s) %s failed: %s", failed, GONE)
    return failed


CONNECTION_CHECK = "2s"
"""How often the server checks, during a long statement (a lock wait, a COPY), that the
worker is still there: a killed worker's transaction ends within this, not when its
statement would have ended (PostgreSQL 14+ ``client_connection_check_interval``)."""


async def _run(dsn: str, job_id: int) -> None:
    conn = await connect(dsn)
    try:
        await conn.execute(f"set client_connection_check_interval = '{CONNECTION_CHECK}'")
        # Its publication is recorded as the job's; the job's entry names who asked for it.
        await set_actor(conn, Actor(kind="system", id=str(job_id), label=f"recompute job {job_id}"))
        await recompute.run_job(conn, job_id, reader=lender(dsn))
    except Conflict as exc:  # not queued any more (cancelled, or failed by the reaper)
        log.info("recomputation %s not run: %s", job_id, exc.detail)
    except Exception as exc:  # recorded on the job row by run_job
        log.warning("recomputation %s failed: %s", job_id, type(exc).__name__)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def worker(dsn: str) -> AsyncIterator[QueueManager]:
    """A queue manager that runs recompute jobs (``await qm.run(...)`` inside)."""
    conn = await connect(dsn)
    try:
        qm = QueueManager(Queries(AsyncpgDriver(conn)))

        @qm.entrypoint(ENTRYPOINT, on_failure="delete")
        async def run_recompute(job: QueueJob, context: Context) -> None:
            job_id = int((job.payload or b"0").decode())
            # The job runs as its own task: a cancel through the queue (an anyio scope that
            # keeps cancelling) stops it once, and it still records why on the job row.
            task = asyncio.ensure_future(_run(dsn, job_id))
            with context.cancellation:
                await asyncio.shield(task)
            if not task.done():
                task.cancel()
                await asyncio.wait([task])

        yield qm
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def scheduler(dsn: str) -> AsyncIterator[SchedulerManager]:
    """The queue's periodic work (``await sm.run()`` inside): :func:`reap` every 5 s
    (:data:`REAP_CRON`), run by one worker at a time (pgqueuer picks a due schedule row
    with ``for update skip locked``), on a connection of its own."""
    conn = await connect(dsn)
    try:
        sm = SchedulerManager(Queries(AsyncpgDriver(conn)))

        @sm.schedule(REAP_ENTRYPOINT, REAP_CRON)
        async def reap_dead_workers(schedule: Schedule) -> None:
            # a connection per look (every 5 s, by one worker): nothing to keep alive
            reaping = await connect(dsn)
            try:
                await reap(reaping)
            finally:
                await reaping.close()

        yield sm
    finally:
        await conn.close()


async def run_worker(dsn: str, stop: asyncio.Event | None = None) -> None:
    """Take and run recompute jobs, and the queue's periodic work, until ``stop`` is set
    (``evalsvc worker``).

    One job at a time is taken (batches of one; pgqueuer's smallest in-flight cap is two,
    so a second job of another period may start beside a long one).
    """
    async with worker(dsn) as qm, scheduler(dsn) as sm:
        stopper = None
        if stop is not None:

            async def wait_stop() -> None:
                await stop.wait()
                qm.shutdown.set()
                sm.shutdown.set()

            stopper = asyncio.create_task(wait_stop())
        try:
            await asyncio.gather(
                qm.run(
                    dequeue_timeout=timedelta(seconds=5),
                    batch_size=1,
                    max_concurrent_tasks=2,
                    heartbeat_timeout=timedelta(seconds=30),
                    log_aggregation_interval=timedelta(0),
                ),
                sm.run(),
            )
        finally:
            if stopper is not None:
                stopper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await stopper
