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
from typing import Any

import asyncpg
import numpy as np

from evalsvc.domain.access import Principal, Role
from evalsvc.domain.errors import DomainError, Forbidden, RuleViolation, field_error
from evalsvc.domain.recompute import Job, PeriodSpan, RecomputeRequest, parse_period, quarter_of
from evalsvc.jobs import carry_codec, inputs, memory, reading
from evalsvc.jobs.cache_writer import CacheWriter
from evalsvc.jobs.compute import Columns, Computed, compute, month_columns
from evalsvc.jobs.rerank import merge_units
from evalsvc.scoring import Profile, profile_from_dict
from evalsvc.scoring.profiles import PROFILES, variant_changes, variant_digest
from evalsvc.store import jobs as job_store
from evalsvc.store import results as result_store
from evalsvc.store.scope import ensure_in_scope, subtree_ids
from evalsvc.store.units import unit_id as unit_id_of

Hook = Callable[[str], Awaitable[None]]
"""Called at every stage boundary with the stage name (tests inject failures here)."""
Progress = Callable[[str, float], None]
Reader = reading.Reader

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
        await ensure_in_scope(conn, principal, [scope])
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


def _select(columns: Columns, mask: np.ndarray[Any, Any]) -> Columns:
    out: Columns = {}
    for name, (t, v) in columns.items():
        if isinstance(v, tuple):  # explanation numbers, one array each (store/cadre_chunks)
            out[name] = (t, tuple(np.asarray(a)[mask] for a in v))
            continue
        arr = np.asarray(v)
        out[name] = (t, arr[mask] if arr.ndim else v)
    return out


async def run_job(
    conn: asyncpg.Connection,
    job_id: int,
    *,
    hook: Hook | None = None,
    on_progress: Progress | None = None,
    intervals: bool = True,
    reader: Reader | None = None,
) -> Job:
    """Run a queued job to the end: succeeded with a published run, or failed with why.

    ``reader`` lends a second connection for reading the inputs in parallel.

    Cancellation (or any error) marks the job failed and leaves the published set as it
    was; rows of the unfinished run are rolled back with their transaction. Afterwards a
    process left holding more than ``memory.KEEP_BYTES`` gives its freed heap memory back.
    """
    try:
        return await _run_job(conn, job_id, hook, on_progress, intervals, reader)
    finally:
        memory.release()  # the job's arrays went with its frame


async def _run_job(
    conn: asyncpg.Connection,
    job_id: int,
    hook: Hook | None,
    on_progress: Progress | None,
    intervals: bool,
    reader: Reader | None,
) -> Job:
    row = await job_store.start_job(conn, job_id)
    period = parse_period(row["period"])
    scope: int | None = row["scope_unit_id"]
    slot = job_store.slot(row["period"], row["variant_digest"])
    variant = {"variant": row["variant"], "variant_digest": row["variant_digest"]}
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
    finishing: asyncio.Future[None] | None = None
    caches_ready: asyncio.Future[None] | None = None
    caches: CacheWriter | None = None
    try:
        profile = profile_from_dict(row["profile"])
        await stage("reading", STAGES["reading"])
        # One snapshot for every input table; no JIT (compiling costs more than it saves
        # on these scans).
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            await conn.execute("set local jit = off")
            city, reuse = await reading.read_inputs(conn, period, profile, scope, reader)
            base = await result_store.published_run(conn, period.text)
            if not row["publish"] and scope is not None:
                base = None  # an unpublished variant of a subtree stands alone
            previous = await result_store.previous_ranks(
                conn, period.previous(), period.kind == "year"
            )
        lap("read")
        await stage("scoring", STAGES["scoring"])
        carried = await reuse.decoded()
        # The input fingerprint (hashing) and the cadre scores, side by side in two threads.
        fps, result = await asyncio.gather(
            asyncio.to_thread(inputs.fingerprints, city, profile, reuse.fingerprints),
            asyncio.to_thread(compute, city, profile, previous, intervals, carried),
        )
        lap("score")
        await stage("writing", STAGES["writing"])
        # The rest of the scoring (a month's units, ranks, carry; the rank intervals) and
        # the caches' payloads are finished in a worker thread while the cadre rows are
        # stored (the server's work): _write awaits them before their tables.
        loop = asyncio.get_running_loop()
        caches_ready = loop.create_future()

        def signal_caches_ready() -> None:  # called in the worker thread
            loop.call_soon_threadsafe(_settle, caches_ready)

        finishing = asyncio.ensure_future(
            asyncio.to_thread(
                _finish,
                result,
                _seed(fps.run),
                reuse,
                city.months,
                scope is None and profile.period == "month",
                signal_caches_ready,
            )
        )
        finishing.add_done_callback(lambda done: _settle(caches_ready, done))
        caches = CacheWriter(conn, reuse, caches_ready, reader)
        if reuse.to_pack:
            caches.add_packs()
        counts = dict(city.counts) | {f"rows_{k}": v for k, v in result.rows.items()}
        counts["months_carried"] = len(reuse.found)
        counts["inputs_from_packs"] = len(reuse.from_packs)
        counts["inputs_patched"] = len(reuse.patched)
        run_id = await _write(
            conn,
            job_id,
            city,
            result,
            profile,
            fps,
            scope,
            base,
            stage,
            counts,
            timings,
            reuse,
            finishing,
            caches,
            variant,
        )
        lap("write")
        await stage("publishing", STAGES["publishing"])
        if row["publish"]:
            await result_store.publish(
                conn,
                run_id,
                period.text,
                base,
                scope is not None and base is not None,
                timings,
                counts,
            )
        else:  # a variant: readable by run id, never the period's official set
            await result_store.complete_unpublished(conn, run_id, timings, counts)
        lap("publish")
        timings["total"] = round(time.perf_counter() - t_all, 4)
        await job_store.succeed(conn, job_id, run_id, timings, counts)
        if on_progress is not None:
            on_progress("done", 100.0)
    except BaseException as exc:
        if caches is not None:  # carries stored aside for this job's new month runs
            await asyncio.shield(caches.discard())
        if finishing is not None:  # a worker thread cannot be stopped: let it end
            await asyncio.shield(asyncio.wait([finishing]))
            if not finishing.cancelled():
                finishing.exception()  # retrieved: the job's own error is reported
            if caches_ready is not None and caches_ready.done() and not caches_ready.cancelled():
                caches_ready.exception()
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


def _seed(fp: str) -> int:
    return int(fp[:15], 16)


def _finish(
    result: Computed,
    seed: int,
    reuse: reading.Reuse,
    months: list[Any],
    carries: bool,
    caches_ready: Callable[[], None],
) -> None:
    """What the writer needs after the cadre rows: the rest of the scoring, the carries'
    and the input packs' payloads (``caches_ready`` once these exist: the rank intervals
    are computed while they are stored)."""

    def payloads() -> None:
        if carries:
            reuse.payloads = {
                m: carry_codec.encode(c)
                for m, c in zip(months, result.carries, strict=True)
                if m not in reuse.covered
            }
        reuse.pack_inputs()
        caches_ready()

    result.finish(seed, payloads)


def _settle(target: asyncio.Future[None], source: asyncio.Future[None] | None = None) -> None:
    """Complete ``target`` like ``source`` (done), or with None; once."""
    if target.done():
        return
    if source is not None and source.cancelled():
        target.cancel()
    elif source is not None and source.exception() is not None:
        target.set_exception(source.exception())  # type: ignore[arg-type]
    else:
        target.set_result(None)


async def _write(
    conn: asyncpg.Connection,
    job_id: int,
    city: inputs.City,
    result: Computed,
    profile: Profile,
    fps: inputs.Fingerprints,
    scope: int | None,
    base: int | None,
    stage: Callable[[str], Awaitable[None]],
    counts: dict[str, int],
    timings: dict[str, float],
    reuse: reading.Reuse,
    finishing: asyncio.Future[None],
    caches: CacheWriter,
    variant: dict[str, Any],
) -> int:
    """Write the run's rows in one transaction (all or nothing); return the run id.

    ``finishing`` completes the units' rank intervals, the carries and the input packs; it
    is awaited after the cadre month rows are sent and before anything that needs it.
    ``caches`` stores the carries and input packs meanwhile (``jobs/cache_writer.py``).

    Cadre month rows: a month run writes its month into its own partition. A year run
    names, per month, a complete city-wide month run with the same month fingerprint
    (the same inputs and profile give the same rows) and writes only the other months,
    each as a month run of this job (complete, hence reusable, once the year is
    published). A subtree run merges: the base's rows outside the subtree are carried
    forward, the subtree's rows are new (a month whose inputs equal the base's city-wide
    month run keeps that run).
    """
    period = city.period
    merging = scope is not None and base is not None
    t0 = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t0
        now = time.perf_counter()
        timings[name] = round(now - t0, 4)
        t0 = now

    async with conn.transaction():
        run_id = await result_store.create_run(
            conn,
            job_id=job_id,
            period=period.text,
            kind=period.kind,
            first_month=period.first_month,
            months=period.months,
            scope_unit_id=scope,
            base_run_id=base if scope is not None else None,
            profile=profile.to_dict(),
            fingerprint=fps.run,
            seed=_seed(fps.run),
            **variant,
        )
        cy, un = result.cadre_years, None
        n = city.org.n
        cadre_in: np.ndarray[Any, Any] | None = None
        sub_cadres: list[int] = []
        base_months: list[int] = []
        if merging:
            assert base is not None
            assert scope is not None
            sub_units = np.asarray(await subtree_ids(conn, scope), dtype=np.int64)
            cadre_in = np.isin(city.unit_ids[city.org.unit], sub_units)
            sub_cadres = city.cadre_ids[cadre_in].tolist()
            base_months = await result_store.month_runs(conn, base) or [base]
            if cy is not None:
                cy = _select(cy, cadre_in)
            await finishing  # the new unit rows need their intervals to be merged
            un = await merge_units(conn, city, base, result.units, sub_units)
            n = int(cadre_in.sum())
        sources: list[int] = []
        written = reused = 0
        fresh = dict(zip(city.months, result.months, strict=True))
        monthly = profile.period == "month"
        for i, start in enumerate(inputs.period_starts(period, profile)):
            fp = fps.months[i]
            if start in reuse.found:  # unchanged since that month run: its carry was used
                sources.append(reuse.found[start].run_id)
                reused += 1
                continue
            r = fresh[start]
            if period.kind == "year":
                found = await result_store.reusable_month_run(conn, fp)
                if found is not None and (not merging or found == base_months[i]):
                    sources.append(found)
                    reused += 1
                    if scope is None and monthly:  # same content, newer versions: restamp
                        caches.add_carry(found, start, new_run=False)
                    continue
            target = run_id
            if period.kind == "year":
                target = await result_store.create_run(
                    conn,
                    job_id=job_id,
                    period=f"{start:%Y-%m}" if monthly else quarter_of(start),
                    kind="month" if monthly else "quarter",
                    first_month=start,
                    months=profile.period_months,
                    scope_unit_id=scope if merging else None,
                    base_run_id=base_months[i] if merging else None,
                    profile=profile.to_dict(),
                    fingerprint=fp,
                    seed=_seed(fp),
                    **variant,
                )
                await result_store.set_month_runs(conn, target, [target])
            if scope is None and monthly and start not in reuse.covered:
                caches.add_carry(target, start, new_run=True)
            cols = month_columns(city, r)
            if cadre_in is not None:
                cols = _select(cols, cadre_in)
            written += await result_store.write_cadres(
                conn,
                result_store.MONTH,
                target,
                cols,
                n,
                carry_from=base_months[i] if merging else None,
                carry_except=sub_cadres,
            )
            sources.append(target)
            await stage("write:cadre_months")
        await result_store.set_month_runs(conn, run_id, sources)
        lap("write_cadre_months")
        counts["rows_cadre_months"] = written
        counts["months_reused"] = reused
        if cy is not None:
            await result_store.write_cadres(
                conn,
                result_store.YEAR,
                run_id,
                cy,
                n,
                carry_from=base if merging else None,
                carry_except=sub_cadres,
            )
            await stage("write:cadre_years")
            lap("write_cadre_years")
        await finishing
        un = un or result.units
        n_unit_rows = len(np.asarray(un["unit_id"][1]))
        await result_store.write_units(conn, run_id, un, n_unit_rows)
        await stage("write:units")
        lap("write_units")
        await caches.wait()
        lap("write_caches")
    lap("write_commit")
    return run_id


async def recompute(
    conn: asyncpg.Connection,
    req: RecomputeRequest,
    principal: Principal,
    *,
    on_progress: Progress | None = None,
    hook: Hook | None = None,
    reader: Reader | None = None,
) -> Job:
    """Request and run a job in this process (the CLI path).

    Raises:
        RuleViolation: a job of the same period and scope is already running elsewhere.
    """
    job, created = await request(conn, req, principal)
    if not created:
        raise RuleViolation(
            f"recomputation {job.id} of {job.period} is already {job.state}; "
            f"follow it with GET /recomputations/{job.id}"
        )
    return await run_job(conn, job.id, on_progress=on_progress, hook=hook, reader=reader)
