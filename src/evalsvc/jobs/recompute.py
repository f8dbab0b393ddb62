"""City-wide and subtree recomputation: read → score (off the event loop) → write → publish.

A job is created by :func:`request` (one unfinished job per period and scope, see
``store.jobs``) and run by :func:`run_job` on a connection it holds for the whole run
(its worker advisory lock lives on that session). Stages and their share of the progress
bar: reading 0-30 %, scoring 30-60 %, writing 60-95 %, publishing 95-100 %.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import asyncpg

from evalsvc.domain.access import Principal, Role
from evalsvc.domain.errors import (
    DomainError,
    FieldProblem,
    Forbidden,
    NotFound,
    RuleViolation,
    field_error,
)
from evalsvc.domain.recompute import Job, PeriodSpan, RecomputeRequest, parse_period
from evalsvc.jobs import inputs, scoring_version, snapshot, write
from evalsvc.jobs.compute import Computed, compute
from evalsvc.scoring import Profile, profile_from_dict
from evalsvc.scoring.profiles import PROFILES, variant_changes, variant_digest
from evalsvc.store import jobs as job_store
from evalsvc.store import results as result_store
from evalsvc.store.scope import ensure_in_scope
from evalsvc.store.units import unit_id as unit_id_of

Hook = Callable[[str], Awaitable[None]]
"""Called at every stage boundary with the stage name (tests inject failures here)."""
Progress = Callable[[str, float], None]
Reader = snapshot.Reader

STAGES = {"reading": 0.0, "scoring": 30.0, "writing": 60.0, "publishing": 95.0}


def resolve_profile(name: str, changes: dict[str, Any] | None) -> Profile:
    """A built-in profile, optionally changed (validated by the scoring core).

    Raises:
        RuleViolation: unknown profile or a bad change, naming the field.
    """
    if name not in PROFILES:
        raise field_error("profile", f"unknown profile; one of {', '.join(sorted(PROFILES))}")
    base = PROFILES[name]
    if not changes:
        return base
    try:
        return profile_from_dict({**base.to_dict(), **changes})
    except ValueError as exc:
        field, _, reason = str(exc).partition(": ")
        raise field_error(f"changes.{field}", reason or str(exc)) from exc


async def request(
    conn: asyncpg.Connection, req: RecomputeRequest, principal: Principal
) -> tuple[Job, bool]:
    """Create a queued job (or find the unfinished one of the same period, scope and
    variant).

    A request with ``changes`` is a variant of its profile (DOMAIN part 3): the changes
    that differ from the profile and their digest go on the job and every run it writes;
    it publishes only when an admin asks (``publish: true``).

    Raises:
        RuleViolation: bad period, profile or changes; a period the profile does not rate.
        Forbidden: ``publish: true`` for a variant from a key that is not an admin's.
    """
    span = parse_period(req.period)
    profile = resolve_profile(req.profile, req.changes)
    check_period_fits(span, profile)
    variant = variant_changes(PROFILES[req.profile], profile)
    digest = variant_digest(variant)
    publish = req.publish if req.publish is not None else digest is None
    if publish and digest is not None and principal.role is not Role.ADMIN:
        raise Forbidden("only an admin may publish a variant as the official result set")
    scope = None
    if req.unit_code is not None:
        scope = await unit_id_of(conn, req.unit_code, "unit_code")
        await ensure_in_scope(
            conn,
            principal,
            [scope],
            NotFound(
                f"no unit with code {req.unit_code!r}", [FieldProblem("unit_code", "not found")]
            ),
        )
    return await job_store.request_job(
        conn,
        period=req.period,
        scope_unit_id=scope,
        profile=profile.to_dict(),
        requested_by=principal.key_id,
        variant=variant or None,
        variant_digest=digest,
        publish=publish,
    )


def check_period_fits(span: PeriodSpan, profile: Profile) -> None:
    """A monthly profile rates months and years, a quarterly one quarters and years.

    Raises:
        RuleViolation: naming ``period``.
    """
    if span.kind == "quarter" and profile.period == "month":
        raise field_error(
            "period",
            f"profile {profile.name} rates months; a quarter ({span.text}) needs a quarterly "
            "profile such as qd366",
        )
    if span.kind == "month" and profile.period == "quarter":
        q = f"{span.year}-Q{(span.first_month.month - 1) // 3 + 1}"
        raise field_error(
            "period", f"profile {profile.name} rates quarters; ask for {q} instead of {span.text}"
        )


async def run_job(
    conn: asyncpg.Connection,
    job_id: int,
    *,
    hook: Hook | None = None,
    on_progress: Progress | None = None,
    intervals: bool = True,
    reader: Reader | None = None,
    as_of: date | None = None,
) -> Job:
    """Run a queued job to the end: succeeded with a published run, or failed with why.

    The steps: read the inputs in one snapshot (``jobs/snapshot.py``), score them
    (``jobs/compute.py``, in a worker thread), write the run's rows in one transaction
    (``jobs/write.py``), publish (:func:`publish`). ``reader`` lends a second connection
    for reading the inputs in parallel. With ``as_of``, a year is rated over its periods
    over by that day (:meth:`PeriodSpan.over_by`; the demo city's "today").

    Cancellation (or any error) marks the job failed and leaves the published set as it
    was; rows of the unfinished run are rolled back with their transaction.
    """
    row = await job_store.start_job(conn, job_id)
    period = parse_period(row["period"])
    scope: int | None = row["scope_unit_id"]
    slot = job_store.slot(row["period"], row["variant_digest"])
    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    clock = [t_all]

    async def stage(name: str, pct: float | None = None) -> None:
        now = time.perf_counter()
        if hook is not None:
            await hook(name)
        if pct is not None:
            await job_store.progress(conn, job_id, name, pct, timings)
            if on_progress is not None:
                on_progress(name, pct)
            clock[0] = now

    def lap(name: str) -> None:
        now = time.perf_counter()
        timings[name] = round(now - clock[0], 4)
        clock[0] = now

    run_id: int | None = None
    try:
        profile = profile_from_dict(row["profile"])
        if as_of is not None:
            period = period.over_by(as_of, profile.period_months)
        await stage("reading", STAGES["reading"])
        version = scoring_version.current()
        reuse = None
        if scope is None:
            reuse = snapshot.Reuse(profile.to_dict(), row["variant_digest"], version)
        snap = await snapshot.read(conn, period, profile, reader, reuse)
        base = snap.base
        if not row["publish"] and scope is not None:
            base = None  # an unpublished variant of a subtree stands alone
        lap("read")
        await stage("scoring", STAGES["scoring"])
        fps, result = await asyncio.to_thread(_score, snap, profile, intervals, version)
        lap("score")
        await stage("writing", STAGES["writing"])
        counts = dict(snap.city.counts) | {f"rows_{k}": v for k, v in result.rows.items()}
        run = write.Run(
            job_id=job_id,
            city=snap.city,
            result=result,
            profile=profile,
            variant=row["variant"],
            variant_digest=row["variant_digest"],
            fingerprints=fps,
            scoring_version=version,
            org_id=snap.org_id,
            scope=scope,
            base=base,
            read_snapshot=snap.read_snapshot,
            reused={start: c.run_id for start, c in snap.reused.items()},
        )
        run_id = await write.write(conn, run, stage, counts, timings)
        lap("write")
        await stage("publishing", STAGES["publishing"])
        if row["publish"]:
            await publish(conn, run_id, period.text, base, scope, timings, counts)
        else:  # a variant: readable by run id, never the period's official set
            await result_store.complete_unpublished(conn, run_id, timings, counts)
        lap("publish")
        timings["total"] = round(time.perf_counter() - t_all, 4)
        await job_store.succeed(conn, job_id, run_id, timings, counts)
        if on_progress is not None:
            on_progress("done", 100.0)
    except BaseException as exc:
        message = exc.detail if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
        if isinstance(exc, asyncio.CancelledError):
            message = "cancelled"
        try:
            if run_id is not None:
                await asyncio.shield(result_store.discard_run(conn, run_id))
            await asyncio.shield(job_store.fail(conn, job_id, message, timings))
        finally:
            await asyncio.shield(job_store.release(conn, slot, scope))
        raise
    await job_store.release(conn, slot, scope)
    return await job_store.get_job(conn, job_id)


def _score(
    snap: snapshot.Snapshot, profile: Profile, intervals: bool, version: str
) -> tuple[inputs.Fingerprints, Computed]:
    """Fingerprints, then every score of the run (CPU only: in a worker thread)."""
    known = {start: c.rows_digest for start, c in snap.reused.items()}
    fps = inputs.fingerprints(snap.city, profile, version, known)
    for start, c in snap.reused.items():  # what snapshot.read checked
        assert fps.months[snap.city.months.index(start)] == c.fingerprint, start
    result = compute(snap.city, profile, snap.previous, intervals, snap.carries)
    result.finish(write.seed_of(fps.run))
    return fps, result


async def publish(
    conn: asyncpg.Connection,
    run_id: int,
    period: str,
    base: int | None,
    scope: int | None,
    timings: dict[str, float],
    counts: dict[str, int],
) -> None:
    """The one place a job publishes: point ``period`` at ``run_id`` (store/results.py).

    A subtree run checks that the run it carried rows from is still the published one.
    """
    await result_store.publish(
        conn, run_id, period, base, scope is not None and base is not None, timings, counts
    )


async def recompute(
    conn: asyncpg.Connection,
    req: RecomputeRequest,
    principal: Principal,
    *,
    on_progress: Progress | None = None,
    hook: Hook | None = None,
    reader: Reader | None = None,
    as_of: date | None = None,
) -> Job:
    """Request and run a job in this process (the CLI path; ``as_of``: see :func:`run_job`).

    Raises:
        RuleViolation: a job of the same period and scope is already running elsewhere.
    """
    job, created = await request(conn, req, principal)
    if not created:
        raise RuleViolation(
            f"recomputation {job.id} of {job.period} is already {job.state}; "
            f"follow it with GET /recomputations/{job.id}"
        )
    return await run_job(
        conn, job.id, on_progress=on_progress, hook=hook, reader=reader, as_of=as_of
    )
