"""Benchmark of the scoring core on a seeded synthetic city. Prints figures; not a test.

Run: ``.venv/bin/python benchmarks/bench_scoring.py [--cadres 200000] [--units 3000]``.
Times are the median of 5 runs; peak memory is traced by ``tracemalloc`` on one more run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from evalsvc.scoring.annual import empty_year, rate_year
from evalsvc.scoring.inputs import Manifestations, MonthInputs, Org, TaskRecords
from evalsvc.scoring.monthly import score_month
from evalsvc.scoring.profiles import ND335
from evalsvc.scoring.rankings import rank_intervals, rank_units
from evalsvc.scoring.units import (
    ancestor_matrix,
    member_matrix,
    rate_units_year,
    score_units_month,
)


def synthetic_org(rng: np.random.Generator, n: int, u: int) -> Org:
    """A tree city -> 30 departments/wards -> divisions -> teams, heads and deputies."""
    parent = np.full(u, -1, dtype=np.int64)
    level1 = min(30, u - 1)
    parent[1 : 1 + level1] = 0
    for i in range(1 + level1, u):
        parent[i] = rng.integers(1, i)  # any earlier unit: depth grows slowly
    unit = rng.integers(1, u, n)
    position = np.zeros(n, dtype=np.int8)
    first = np.unique(unit, return_index=True)[1]
    position[first] = 2  # one head per unit
    deputies = rng.random(n) < 0.05
    position[deputies & (position == 0)] = 1
    block = np.where(parent >= 0, rng.integers(0, 4, u), -1)
    return Org(
        position=position,
        unit=unit,
        peer_group=rng.integers(0, 3, n),
        code=np.arange(n),
        unit_parent=parent,
        unit_block=block,
        unit_outstanding=rng.random(u) < 0.1,
    )


def synthetic_month(rng: np.random.Generator, org: Org, k: int, per_cadre: int = 5) -> MonthInputs:
    n, u = org.n, org.u
    r = n * per_cadre
    assigned = rng.integers(1, 10, r).astype(np.float64)
    mc = rng.integers(0, n, n // 10)
    return MonthInputs(
        period=np.datetime64(f"2026-{k:02d}", "M"),
        tasks=TaskRecords(
            cadre=np.repeat(np.arange(n), per_cadre),
            k=rng.choice([0.5, 1.0, 2.0], r),
            assigned=assigned,
            done=np.minimum(assigned, rng.integers(0, 11, r)),
            errors=(rng.random(r) < 0.05).astype(np.int64),
            delays=(rng.random(r) < 0.08).astype(np.int64) * rng.integers(1, 3, r),
            exceeded=rng.random(r) < 0.2,
        ),
        active=rng.random(n) < 0.98,
        sub_criteria=rng.choice([8.0, 9.0, 10.0], (n, 3)),
        has_assessment=rng.random(n) < 0.95,
        capacity=np.where(rng.random(n) < 0.1, 0.5, np.nan),
        cohesion=np.where(rng.random(n) < 0.1, 0.5, np.nan),
        manifestations=Manifestations(
            mc, rng.integers(0, 36, mc.size), rng.integers(1, 4, mc.size)
        ),
        discipline=(rng.random(n) < 0.001).astype(np.int64),
        low_confidence=rng.random(n) < 0.002,
        bonus=np.zeros(n),
        satisfaction=np.where(rng.random(u) < 0.8, rng.uniform(60, 100, u), np.nan),
    )


def measure(fn: Callable[[], Any], runs: int = 5) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return statistics.median(times), peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cadres", type=int, default=200_000)
    ap.add_argument("--units", type=int, default=3_000)
    ap.add_argument("--resamples", type=int, default=1_000)
    args = ap.parse_args()
    rng = np.random.default_rng(20260101)
    org = synthetic_org(rng, args.cadres, args.units)
    months = [synthetic_month(rng, org, k) for k in range(1, 13)]
    p = ND335.replace(bootstrap_resamples=args.resamples)
    print(
        f"machine: {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}, numpy {np.__version__}"
    )
    print(
        f"cadres {args.cadres:,}, units {args.units:,}, task records/month "
        f"{months[0].tasks.cadre.size:,}"
    )

    rows = []
    t, mem = measure(lambda: score_month(org, months[0], p))
    rows.append(("monthly scores (1 month)", t, mem, 0.3))

    results = [score_month(org, m, p) for m in months]
    year = empty_year(org, months)
    t, mem = measure(lambda: rate_year(org, results, year, p))
    rows.append(("annual rating (12 months)", t, mem, 0.5))

    anc = ancestor_matrix(org.unit_parent)
    unit_months = [
        score_units_month(org, m, r, p, anc=anc) for m, r in zip(months, results, strict=True)
    ]
    kht = np.zeros(org.u, dtype=np.int64)

    def units_and_ranks() -> None:
        um = score_units_month(org, months[-1], results[-1], p, anc=anc)
        uy = rate_units_year(org, [*unit_months[:-1], um], p, kht)
        ranking = rank_units(
            uy.u, org.unit_block, kht, uy.components[:, 1], uy.pairs_per_100, uy.components[:, 4]
        )
        x = member_matrix(org, months[-1], results[-1], year.remediation, p)
        rank_intervals(
            x,
            org.unit,
            np.zeros((org.u, x.shape[1])),
            anc,
            months[-1].satisfaction,
            ranking,
            uy.u,
            org.unit_block,
            p,
            seed=1,
        )

    t, mem = measure(units_and_ranks)
    rows.append((f"units + ranks + {args.resamples} resamples", t, mem, 2.0))
    print(f"{'step':<36}{'median s':>10}{'peak MiB':>10}{'target s':>10}")
    for name, t, mem, target in rows:
        flag = "ok" if t <= target else "SLOW"
        print(f"{name:<36}{t:>10.3f}{mem:>10.1f}{target:>10.1f}  {flag}")


if __name__ == "__main__":
    main()
