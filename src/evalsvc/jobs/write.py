"""Step 3 of a recomputation: write a run's rows in one transaction (all or nothing).

Cadre period rows: a month (quarter) run writes its period. A year run names, per month
(quarter), the run holding it: the month run it took the month from without reading it
(``Run.reused``), else a complete city-wide month run with the same month fingerprint —
the same inputs, profile and scoring version give the same rows — and writes only the
other months, each as a month run of its own (complete, hence reusable, once the year is
published). A city-wide month run keeps what it read (snapshot, rows digest) and its
carry, so a later year may take it without reading it (0100). A subtree run
merges: the base's rows outside the subtree are carried forward server-side, the
subtree's rows are new (a month whose fingerprint equals the base's month keeps it).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import time
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import asyncpg
import numpy as np

from evalsvc.domain.recompute import quarter_of
from evalsvc.jobs import carries, inputs
from evalsvc.jobs.compute import Columns, Computed, month_columns
from evalsvc.jobs.rerank import merge_units
from evalsvc.scoring import Profile
from evalsvc.store import results as result_store
from evalsvc.store.scope import subtree_ids

Stage = Callable[[str], Awaitable[None]]


def seed_of(fingerprint: str) -> int:
    """The rank-interval bootstrap seed of a run (from its fingerprint: reproducible)."""
    return int(fingerprint[:15], 16)


@dataclasses.dataclass(frozen=True, slots=True)
class Run:
    """Everything the writer stores for one job."""

    job_id: int
    city: inputs.City
    result: Computed
    profile: Profile
    variant: dict[str, Any] | None
    variant_digest: str | None
    fingerprints: inputs.Fingerprints
    scoring_version: str
    org_id: int
    scope: int | None
    base: int | None
    read_snapshot: str
    reused: dict[date, int]
    """A year's periods (first day) taken from month runs without reading them."""


def _select(columns: Columns, mask: np.ndarray[Any, Any]) -> Columns:
    out: Columns = {}
    for name, (t, v) in columns.items():
        arr = np.asarray(v)
        out[name] = (t, arr[mask] if arr.ndim else v)
    return out


async def _create_run(
    conn: asyncpg.Connection,
    run: Run,
    *,
    period: str,
    kind: str,
    first_month: Any,
    months: int,
    scope: int | None,
    base: int | None,
    fingerprint: str,
) -> int:
    return await result_store.create_run(
        conn,
        job_id=run.job_id,
        period=period,
        kind=kind,
        first_month=first_month,
        months=months,
        scope_unit_id=scope,
        base_run_id=base,
        profile=run.profile.to_dict(),
        fingerprint=fingerprint,
        seed=seed_of(fingerprint),
        org_id=run.org_id,
        scoring_version=run.scoring_version,
        variant=run.variant,
        variant_digest=run.variant_digest,
    )


async def write(
    conn: asyncpg.Connection,
    run: Run,
    stage: Stage,
    counts: dict[str, int],
    timings: dict[str, float],
) -> int:
    """Write the run's rows in one transaction; return the run id (not yet published)."""
    city, result, scope, base = run.city, run.result, run.scope, run.base
    period = city.period
    merging = scope is not None and base is not None
    t0 = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t0
        now = time.perf_counter()
        timings[name] = round(now - t0, 4)
        t0 = now

    async with conn.transaction():
        run_id = await _create_run(
            conn,
            run,
            period=period.text,
            kind=period.kind,
            first_month=period.first_month,
            months=period.months,
            scope=scope,
            base=base if scope is not None else None,
            fingerprint=run.fingerprints.run,
        )
        cy, units = result.cadre_years, result.units
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
            units = await merge_units(conn, city, base, result.units, sub_units)
            n = int(cadre_in.sum())
        sources: list[int] = []
        written = reused = 0
        monthly = run.profile.period == "month"
        starts = inputs.period_starts(period, run.profile)
        for i, (start, r) in enumerate(zip(starts, result.months, strict=True)):
            fp = run.fingerprints.months[i]
            target = run_id
            if r is None:  # taken from a month run whose rows and fingerprint are the same
                sources.append(run.reused[start])
                reused += 1
                continue
            if period.kind == "year":
                found = await result_store.reusable_month_run(conn, fp)
                if found is not None and (not merging or found == base_months[i]):
                    sources.append(found)  # same inputs, profile and scoring version
                    reused += 1
                    if scope is None:  # its rows were read again: the next year need not
                        await result_store.refresh_read_state(
                            conn,
                            found,
                            run.read_snapshot,
                            run.fingerprints.rows[i],
                            functools.partial(carries.to_bytes, result.carries[i]),
                        )
                    continue
                target = await _create_run(
                    conn,
                    run,
                    period=f"{start:%Y-%m}" if monthly else quarter_of(start),
                    kind="month" if monthly else "quarter",
                    first_month=start,
                    months=run.profile.period_months,
                    scope=scope if merging else None,
                    base=base_months[i] if merging else None,
                    fingerprint=fp,
                )
                await result_store.set_month_runs(conn, target, [target])
            packed = None
            if scope is None:  # a city-wide period: a later year may take it as it is;
                # its carry is compressed in a thread while the rows are loaded
                packed = asyncio.ensure_future(
                    asyncio.to_thread(carries.to_bytes, result.carries[i])
                )
            cols = month_columns(city, r)
            if cadre_in is not None:
                cols = _select(cols, cadre_in)
            try:
                written += await result_store.write_cadres(
                    conn,
                    result_store.MONTH,
                    target,
                    cols,
                    n,
                    carry_from=base_months[i] if merging else None,
                    carry_except=sub_cadres,
                )
            except BaseException:
                if packed is not None:
                    packed.cancel()
                raise
            if packed is not None:
                await result_store.set_read_state(
                    conn, target, run.read_snapshot, run.fingerprints.rows[i], await packed
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
        n_unit_rows = len(np.asarray(units["unit_id"][1]))
        await result_store.write_units(conn, run_id, units, n_unit_rows)
        await stage("write:units")
        lap("write_units")
    lap("write_commit")
    return run_id
