"""Close of a sealed city-wide round: open every sheet, validate, store, tally (issue 18).

Target: 200,000 sheets (3,000,000 ballots) closed in <= 60 s on the 2-core machine, including
decryption, validation, the tally and the shuffled storage. Own embedded PostgreSQL in a
temporary folder; the synthetic city of bench_ballots (units of 16, each cadre's sheet holds
the 15 colleagues of their unit). The sheets are sealed here with the round's public key and
COPYed into ``ballot_sheets`` as the submission path stores them (the ledger, which the close
does not read, is left out).

    .venv/bin/python benchmarks/bench_sealed_close.py [--sheets 200000] [--runs 1]

Prints the close's time, its stages (from the close's log event), the peak RSS of the service
process and of the close's worker processes, and the CPU seconds they used. ``--runs N``
closes N rounds of the same sheets (each round sealed afresh) and prints the median.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import cProfile
import logging
import os
import pstats
import resource
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path

import asyncpg
import msgspec
import numpy as np

from bench_ballots import (
    ADMIN,
    N_LEADER,
    N_STAFF,
    UNIT_SIZE,
    load,
    peak_rss_mib,
    reset_peak_rss,
    rss_mib,
    seed_catalog,
    seed_city,
)
from evalsvc.domain.ballots import PaperBallot, RoundCreate, Sheet, targets_tag
from evalsvc.jobs.committee import collect_shares, demo_committee
from evalsvc.keyring import derive
from evalsvc.sealing import boxes, receipts
from evalsvc.store import ballot_opening, ballot_rounds
from evalsvc.store.database import ensure_database, start_embedded, with_database
from evalsvc.store.migrations import migrate

KEYS = derive(b"bench sealed close")


async def make_open_round(conn: asyncpg.Connection, root: str, catalog_id: int, period: str) -> int:
    committee = await demo_committee(conn, "bench")
    now = datetime.now(UTC)
    created = await ballot_rounds.create_round(
        conn,
        ADMIN,
        RoundCreate(
            title="bench sealed",
            unit=root,
            period=period,
            catalog_id=catalog_id,
            opens_at=now - timedelta(hours=1),
            closes_at=now + timedelta(days=1),
            include_subunits=True,
            committee=committee.usernames,
        ),
    )
    await ballot_rounds.open_round(conn, ADMIN, int(created["id"]), KEYS)
    return int(created["id"])


def sealed_sheets(
    public_key: bytes, round_id: int, codes: list[str], ids: list[int], seed: int
) -> list[tuple[int, bytes, bytes, bytes]]:
    """One sealed sheet per cadre: a ballot for each colleague of the unit."""
    rng = np.random.default_rng(seed)
    levels = np.array(["", "KHT", "HT", "HTT", "HTXS"])
    confidences = np.array(["", "low", "normal", "high"])
    rows = []
    encode = msgspec.json.encode
    n_units = len(codes) // UNIT_SIZE
    for u in range(n_units):
        base = u * UNIT_SIZE
        often = np.where(rng.random(UNIT_SIZE) < 0.05, 0.45, 0.03)
        draw = rng.random((UNIT_SIZE, UNIT_SIZE, N_LEADER))  # voter, target, item
        grid = np.full(draw.shape, ord("0"), np.uint8)
        grid[draw < often[None, :, None]] = ord("1")
        grid[draw > 0.96] = ord("x")
        text = grid.tobytes().decode()
        lv = levels[rng.integers(0, 5, (UNIT_SIZE, UNIT_SIZE))]
        cf = confidences[rng.integers(0, 4, (UNIT_SIZE, UNIT_SIZE))]
        for v in range(UNIT_SIZE):
            ballots = []
            tids = []
            for t in range(UNIT_SIZE):
                if t == v:
                    continue
                width = N_LEADER if t < 2 else N_STAFF
                start = (v * UNIT_SIZE + t) * N_LEADER
                ballots.append(
                    PaperBallot(
                        target=codes[base + t],
                        marks=text[start : start + width],
                        level=str(lv[v, t]),
                        confidence=str(cf[v, t]),
                    )
                )
                tids.append(ids[base + t])
            sealed = boxes.seal(public_key, encode(Sheet(round=round_id, ballots=ballots)))
            rows.append(
                (round_id, sealed, targets_tag(KEYS, round_id, tids), receipts.receipt(sealed))
            )
    return rows


UNITS_PER_TASK = 250


def seal_all(
    public_key: bytes, round_id: int, codes: list[str], ids: list[int]
) -> list[tuple[int, bytes, bytes, bytes]]:
    """Every cadre's sheet, sealed on all cores (the set-up, not timed as the close)."""
    step = UNITS_PER_TASK * UNIT_SIZE
    with ProcessPoolExecutor(os.cpu_count(), mp_context=get_context("spawn")) as pool:
        parts = pool.map(
            sealed_sheets,
            *zip(
                *[
                    (public_key, round_id, codes[lo : lo + step], ids[lo : lo + step], lo)
                    for lo in range(0, len(codes), step)
                ],
                strict=True,
            ),
        )
        return [row for part in parts for row in part]


class StageLog(logging.Handler):
    """Keeps the stage timings of the close's log event."""

    seconds: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        StageLog.seconds = dict(getattr(record, "seconds", {}))


def cpu_seconds() -> tuple[float, float]:
    """User + system CPU of this process, and of its finished children (the close's workers)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


async def close_once(
    conn: asyncpg.Connection, catalog_id: int, codes: list[str], ids: list[int], period: str
) -> float:
    """Open a round over the city, seal and store every sheet, close it; the close's seconds."""
    round_id = await make_open_round(conn, "SC", catalog_id, period)
    public_key = bytes(
        await conn.fetchval("select public_key from ballot_rounds where id = $1", round_id)
    )
    t = time.perf_counter()
    rows = await asyncio.to_thread(seal_all, public_key, round_id, codes, ids)
    sealed_bytes = sum(len(r[1]) for r in rows)
    print(
        f"sealed {len(rows):,} sheets ({len(rows) * (UNIT_SIZE - 1):,} ballots, "
        f"{sealed_bytes / 1e6:,.0f} MB) in {time.perf_counter() - t:.1f} s (set-up)"
    )
    t = time.perf_counter()
    await conn.copy_records_to_table(
        "ballot_sheets", records=rows, columns=["round_id", "sealed", "targets_tag", "receipt"]
    )
    del rows
    await conn.execute("vacuum analyze ballot_sheets, ballot_round_targets")
    print(f"stored them in {time.perf_counter() - t:.1f} s (set-up)")
    committee = await demo_committee(conn, "bench")
    shares = await collect_shares(conn, KEYS, committee, round_id)
    print(f"load average before the close: {load()}; {os.cpu_count()} CPUs")
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    reset_peak_rss()
    base = rss_mib()
    cpu = cpu_seconds()
    profile = cProfile.Profile() if os.environ.get("PROFILE") else None
    if profile:
        profile.enable()
    start = time.perf_counter()
    closed = await ballot_rounds.close_round(
        conn, committee.principals[0], round_id, KEYS, shares[:2]
    )
    elapsed = time.perf_counter() - start
    if profile:
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    peak = peak_rss_mib() - base
    cpu_now = cpu_seconds()
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"CLOSE: {elapsed:.1f} s for {closed['sheets']['counted']:,} sheets "
        f"({closed['ballots_by_channel']['online']:,} ballots, "
        f"{closed['sheets']['invalid']} invalid): open + validate + blocks + receipts + "
        f"tally (target <= 60 s)"
    )
    print("  stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in StageLog.seconds.items()))
    print(
        f"  peak RSS: service process +{peak:,.0f} MiB over {base:,.0f} MiB; largest child "
        f"process {workers:,.0f} MiB (before the close: {children_before:,.0f} MiB, the "
        f"set-up's); CPU {cpu_now[0] - cpu[0]:.1f} s in the service process "
        f"+ {cpu_now[1] - cpu[1]:.1f} s in the workers (PostgreSQL's not counted)"
    )
    print(f"load average after: {load()}")
    assert closed["sheets"]["counted"] == len(codes)
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sheets", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--pool-min",
        type=int,
        default=ballot_opening.POOL_MIN_SHEETS,
        help="sheets from which the close uses worker processes (a comparison knob)",
    )
    args = parser.parse_args()
    ballot_opening.POOL_MIN_SHEETS = args.pool_min
    stage_log = logging.getLogger("evalsvc.store.ballot_rounds")
    stage_log.addHandler(StageLog())
    stage_log.setLevel(logging.INFO)
    tmp = tempfile.mkdtemp(prefix="evalsvc-bench-sealed-")
    atexit.register(shutil.rmtree, tmp, True)
    server = await asyncio.to_thread(start_embedded, Path(tmp) / "pgdata")
    await ensure_database(server, "bench")
    conn = await asyncpg.connect(with_database(server, "bench"))
    try:
        await migrate(conn)
        catalog_id = await seed_catalog(conn)
        n_units = args.sheets // UNIT_SIZE
        await seed_city(conn, "SC", n_units)
        cadres = await conn.fetch("select id, code from cadres where code like 'SC-C%' order by id")
        codes = [r["code"] for r in cadres]
        ids = [r["id"] for r in cadres]
        times = []
        for run in range(args.runs):
            elapsed = await close_once(
                conn, catalog_id, codes, ids, f"{2026 + run // 4}-Q{run % 4 + 1}"
            )
            times.append(elapsed)
        if args.runs > 1:
            print(
                f"CLOSE median of {args.runs} runs: {statistics.median(times):.1f} s "
                f"({', '.join(f'{t:.1f}' for t in times)}) for {args.sheets:,} sheets"
            )
    finally:
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
