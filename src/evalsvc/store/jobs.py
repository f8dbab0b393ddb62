"""Recomputation jobs: one unfinished job per (period, scope), progress, outcome.

Two advisory locks per (period, scope) key (``hashtextextended`` of the key with two
seeds): the *request* lock (transaction-scoped) serialises concurrent requests, so a
second request finds and returns the running job; the *worker* lock (session-scoped)
is held by whoever runs the job for its whole duration, so a job row left "running" by
a process that died is recognised (its worker lock is free) and replaced.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from evalsvc.domain.errors import Conflict, FieldProblem, NotFound
from evalsvc.domain.recompute import Job
from evalsvc.store.sqlfiles import queries

Q = queries("results")

_KEY = "select hashtextextended('recompute:' || $1::text || ':' || coalesce($2::bigint, 0), $3)"
REQUEST_SEED = 1
WORKER_SEED = 2


async def lock_key(
    conn: asyncpg.Connection, period: str, scope_unit_id: int | None, seed: int
) -> int:
    key: int = await conn.fetchval(_KEY, period, scope_unit_id, seed)
    return key


def slot(period: str, variant_digest: str | None) -> str:
    """The key of a job's slot: a variant has its own beside the period's official one."""
    return period if variant_digest is None else f"{period}~{variant_digest}"


def _job(row: asyncpg.Record) -> Job:
    data = dict(row)
    for name in ("scope_unit_id", "profile", "publish"):
        data.pop(name, None)
    return msgspec.convert(data, Job, strict=False)


async def request_job(
    conn: asyncpg.Connection,
    *,
    period: str,
    scope_unit_id: int | None,
    profile: dict[str, Any],
    requested_by: int,
    variant: dict[str, Any] | None = None,
    variant_digest: str | None = None,
    publish: bool = True,
) -> tuple[Job, bool]:
    """Create a queued job, or return the unfinished one of the same (period, scope,
    variant).

    Returns:
        ``(job, created)``; ``created`` is False when an existing job is returned.
    """
    key = slot(period, variant_digest)
    async with conn.transaction():
        await conn.execute(
            "select pg_advisory_xact_lock($1)",
            await lock_key(conn, key, scope_unit_id, REQUEST_SEED),
        )
        active = await conn.fetchrow(Q["job_active"], period, scope_unit_id, variant_digest)
        if active is not None:
            if active["state"] == "queued" and not active["stale"]:
                return await get_job(conn, active["id"]), False
            if not await worker_gone(conn, key, scope_unit_id):
                return await get_job(conn, active["id"]), False
            await conn.execute(
                Q["job_fail"], active["id"], "the worker stopped before finishing", None
            )
        job_id = await conn.fetchval(
            Q["job_insert"],
            period,
            scope_unit_id,
            str(profile["name"]),
            str(profile["version"]),
            profile,
            requested_by,
            variant,
            variant_digest,
            publish,
        )
    return await get_job(conn, job_id), True


async def worker_gone(conn: asyncpg.Connection, key: str, scope: int | None) -> bool:
    """Whether nobody holds the worker lock of (slot, scope): its worker has ended."""
    lock = await lock_key(conn, key, scope, WORKER_SEED)
    got = bool(await conn.fetchval("select pg_try_advisory_lock($1)", lock))
    if got:
        await conn.execute("select pg_advisory_unlock($1)", lock)
    return got


async def start_job(conn: asyncpg.Connection, job_id: int) -> asyncpg.Record:
    """Take the worker lock on this session and mark the job running.

    Returns:
        The job row (period, scope_unit_id, profile ...).

    Raises:
        Conflict: another worker holds the lock or the job is not queued.
    """
    row = await conn.fetchrow(Q["job_select"] + " where j.id = $1", job_id)
    if row is None:
        raise NotFound(f"no recomputation {job_id}", [FieldProblem("id", "not found")])
    key = await lock_key(
        conn, slot(row["period"], row["variant_digest"]), row["scope_unit_id"], WORKER_SEED
    )
    if not await conn.fetchval("select pg_try_advisory_lock($1)", key):
        raise Conflict(f"recomputation {job_id} is being run by another worker")
    if await conn.fetchval(Q["job_start"], job_id) is None:
        await conn.execute("select pg_advisory_unlock($1)", key)
        raise Conflict(f"recomputation {job_id} is {row['state']}, not queued")
    return row


async def release(conn: asyncpg.Connection, period: str, scope_unit_id: int | None) -> None:
    """Release the worker lock taken by :func:`start_job` (idempotent); ``period`` is the
    job's :func:`slot`."""
    key = await lock_key(conn, period, scope_unit_id, WORKER_SEED)
    await conn.execute("select pg_advisory_unlock($1)", key)


async def progress(
    conn: asyncpg.Connection, job_id: int, stage: str, percent: float, timings: dict[str, float]
) -> None:
    await conn.execute(Q["job_progress"], job_id, stage, percent, timings)


async def succeed(
    conn: asyncpg.Connection,
    job_id: int,
    run_id: int,
    timings: dict[str, float],
    counts: dict[str, int],
) -> None:
    await conn.execute(Q["job_succeed"], job_id, timings, counts, run_id)


async def fail(
    conn: asyncpg.Connection, job_id: int, error: str, timings: dict[str, float] | None = None
) -> None:
    await conn.execute(Q["job_fail"], job_id, error[:2000], timings)


async def get_job(conn: asyncpg.Connection, job_id: int, units: list[int] | None = None) -> Job:
    """``units``: a scoped reader's subtree; jobs of other scopes (the city's too) read as
    unknown."""
    row = await conn.fetchrow(
        Q["job_select"]
        + " where j.id = $1 and ($2::bigint[] is null or j.scope_unit_id = any($2))",
        job_id,
        units,
    )
    if row is None:
        raise NotFound(f"no recomputation {job_id}", [FieldProblem("id", "not found")])
    return _job(row)


async def list_jobs(
    conn: asyncpg.Connection,
    *,
    state: str | None,
    period: str | None,
    limit: int,
    offset: int,
    units: list[int] | None = None,
) -> tuple[list[Job], int]:
    where = (
        " where ($1::text is null or j.state = $1) and ($2::text is null or j.period = $2)"
        " and ($3::bigint[] is null or j.scope_unit_id = any($3))"
    )
    total: int = await conn.fetchval(
        "select count(*) from recompute_jobs j" + where, state, period, units
    )
    rows = await conn.fetch(
        Q["job_select"] + where + " order by j.id desc limit $4 offset $5",
        state,
        period,
        units,
        limit,
        offset,
    )
    return [_job(r) for r in rows], total


async def set_queue_entry(conn: asyncpg.Connection, job_id: int, entry: int) -> None:
    await conn.execute("update recompute_jobs set queue_job_id = $2 where id = $1", job_id, entry)


async def queue_entry(conn: asyncpg.Connection, job_id: int) -> int | None:
    entry: int | None = await conn.fetchval(
        "select queue_job_id from recompute_jobs where id = $1", job_id
    )
    return entry


async def running(conn: asyncpg.Connection) -> list[tuple[int, str, int | None]]:
    """``(id, slot, scope_unit_id)`` of the jobs marked running (:func:`slot`: the key of
    their worker lock)."""
    rows = await conn.fetch(
        "select id, period, variant_digest, scope_unit_id from recompute_jobs"
        " where state = 'running'"
    )
    return [(r["id"], slot(r["period"], r["variant_digest"]), r["scope_unit_id"]) for r in rows]


async def scope_of(conn: asyncpg.Connection, job_id: int) -> int | None:
    """The unit whose subtree the job recomputes (None: the city)."""
    scope: int | None = await conn.fetchval(
        "select scope_unit_id from recompute_jobs where id = $1", job_id
    )
    return scope
