"""Peer ballot benchmarks: paper upload rate and the tally of a 3,000,000-ballot round.

Targets (issue 3): upload ≥ 100,000 ballots/s; tally ≤ 2 s on a 2-core machine. Since issue 18
an upload counts after a second committee member confirms it: the upload figure times both.
Creates its own embedded PostgreSQL under a temporary folder. Seeded, synthetic city:
units of 16 cadres (1 head, 1 deputy, 14 staff), every cadre ballots the 15 colleagues of
their unit, so each target gets 15 ballots.

    .venv/bin/python benchmarks/bench_ballots.py [--runs 3] [--upload 1000000] [--tally 3000000]
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import os
import resource
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import numpy as np

from evalsvc.domain.access import Principal, Role
from evalsvc.domain.ballots import RoundCreate
from evalsvc.jobs.committee import collect_shares, demo_committee, enter_paper
from evalsvc.keyring import derive
from evalsvc.store import ballot_rounds, ballots
from evalsvc.store.ballot_blocks import read_round
from evalsvc.store.ballot_rounds import form_items
from evalsvc.store.ballot_tally import tally_round
from evalsvc.store.database import ensure_database, start_embedded, with_database
from evalsvc.store.migrations import migrate

UNIT_SIZE = 16
ADMIN = Principal(key_id=0, role=Role.ADMIN, scope_unit_id=None)
N_LEADER, N_STAFF = 41, 36
KEYS = derive(b"bench ballots")


async def seed_city(conn: asyncpg.Connection, root_code: str, n_units: int) -> None:
    """A root unit with ``n_units`` sub-units of 16 cadres each, by UNNEST batches."""
    root = await conn.fetchval(
        "insert into units (code, name, name_key, search_text, kind)"
        " values ($1, $1, $1, lower($1), 'city') returning id",
        root_code,
    )
    codes = [f"{root_code}-U{i}" for i in range(n_units)]
    unit_ids = await conn.fetch(
        "insert into units (code, name, name_key, search_text, parent_id, kind)"
        " select c, c, c, lower(c), $2, 'x' from unnest($1::text[]) c returning id",
        codes,
        root,
    )
    ids = np.repeat(np.array([r["id"] for r in unit_ids], np.int64), UNIT_SIZE)
    positions = np.tile(np.array(["head", "deputy"] + ["staff"] * (UNIT_SIZE - 2)), n_units)
    cadre_codes = [f"{root_code}-C{i}" for i in range(len(ids))]
    await conn.execute(
        "insert into cadres (code, full_name, name_key, search_text, personnel_type, position,"
        " unit_id) select c, c, c, lower(c), 'cong_chuc', p, u"
        " from unnest($1::text[], $2::text[], $3::bigint[])"
        " as x (c, p, u)",
        cadre_codes,
        positions.tolist(),
        ids.tolist(),
    )


async def seed_catalog(conn: asyncpg.Connection) -> int:
    catalog_id = await conn.fetchval(
        "insert into catalogs (name, version, title, is_sample) values ('bench', 1, 'bench', true)"
        " returning id"
    )
    # 36 items on both forms, 5 more for leaders: leader form 41, staff form 36.
    rows = [(catalog_id, f"I{i:02d}", f"item {i}", i % 3 + 1, True, i < 36, i) for i in range(41)]
    await conn.executemany(
        "insert into catalog_items (catalog_id, code, text, group_no, for_leader, for_staff,"
        " ordinal) values ($1, $2, $3, $4, $5, $6, $7)",
        rows,
    )
    await conn.execute("update catalogs set status = 'published' where id = $1", catalog_id)
    return int(catalog_id)


async def make_round(conn: asyncpg.Connection, root_code: str, catalog_id: int) -> int:
    """An open round whose voters all ballot on paper, with the bench committee."""
    now = datetime.now(UTC)
    committee = await demo_committee(conn, "bench")
    voters = [
        r["code"]
        for r in await conn.fetch("select code from cadres where code like $1", f"{root_code}-C%")
    ]
    data = RoundCreate(
        title="bench",
        unit=root_code,
        period="2026-Q1",
        catalog_id=catalog_id,
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=1),
        include_subunits=True,
        paper_voters=voters,
        committee=committee.usernames,
    )
    created = await ballot_rounds.create_round(conn, ADMIN, data)
    await ballot_rounds.open_round(conn, ADMIN, int(created["id"]), KEYS)
    return int(created["id"])


def paper_csv(root_code: str, first: int, n_cadres: int, per_target: int, seed: int) -> bytes:
    """``per_target`` ballots for each of cadres ``first .. first + n_cadres - 1``; most items
    rarely observed, a few targets often."""
    rng = np.random.default_rng(seed)
    target = np.repeat(np.arange(first, first + n_cadres), per_target)
    is_leader = target % UNIT_SIZE < 2
    n = len(target)
    propensity = np.where(rng.random(n_cadres) < 0.05, 0.45, 0.03)[target - first]
    draw = rng.random((n, N_LEADER))
    grid = np.full((n, N_LEADER), ord("0"), np.uint8)
    grid[draw < propensity[:, None]] = ord("1")
    grid[draw > 0.96] = ord("x")
    del draw
    levels = np.array(["", "KHT", "HT", "HTT", "HTXS"])[rng.integers(0, 5, n)]
    confidence = np.array(["", "low", "normal", "high"])[rng.integers(0, 4, n)]
    lines = ["target,marks,level,confidence"]
    rows = grid.tobytes()
    for i in range(n):
        width = N_LEADER if is_leader[i] else N_STAFF
        marks = rows[i * N_LEADER : i * N_LEADER + width].decode()
        lines.append(f"{root_code}-C{target[i]},{marks},{levels[i]},{confidence[i]}")
    return ("\n".join(lines) + "\n").encode()


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rss_mib() -> float:
    return _status_mib("VmRSS")


def peak_rss_mib() -> float:
    """Peak resident memory since the last ``reset_peak_rss`` (Linux VmHWM)."""
    return _status_mib("VmHWM")


def reset_peak_rss() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def bench_upload(
    conn: asyncpg.Connection, catalog_id: int, n_ballots: int, runs: int
) -> None:
    n_units = n_ballots // (UNIT_SIZE * (UNIT_SIZE - 1)) + 1
    await seed_city(conn, "UP", n_units)
    n_cadres = n_units * UNIT_SIZE
    body = paper_csv("UP", 0, n_cadres, UNIT_SIZE - 1, seed=1)
    total = n_cadres * (UNIT_SIZE - 1)
    rates = []
    for run in range(runs):
        round_id = await make_round(conn, "UP", catalog_id)
        start = time.perf_counter()
        # The two-person rule: one member uploads (validated), a second confirms (stored).
        committee = await demo_committee(conn, "bench")
        first, second = committee.principals[:2]
        pending = await ballots.upload_paper(conn, first, round_id, body, "text/csv", f"r{run}")
        result = await ballots.confirm_paper(conn, second, round_id, pending["upload_id"])
        elapsed = time.perf_counter() - start
        assert result["ballots"] == total
        rates.append(total / elapsed)
        print(
            f"  upload run {run + 1}: {total:,} ballots in {elapsed:.2f} s "
            f"({total / elapsed:,.0f} ballots/s)"
        )
    print(
        f"UPLOAD median: {statistics.median(rates):,.0f} ballots/s for {total:,} paper ballots "
        f"({len(body) / 1e6:.0f} MB CSV; target >= 100,000/s)"
    )


async def bench_tally(conn: asyncpg.Connection, catalog_id: int, n_ballots: int, runs: int) -> None:
    n_units = n_ballots // (UNIT_SIZE * (UNIT_SIZE - 1))
    await seed_city(conn, "TL", n_units)
    round_id = await make_round(conn, "TL", catalog_id)
    n_cadres = n_units * UNIT_SIZE
    chunk_units = 4000
    for part, first in enumerate(range(0, n_units, chunk_units)):
        # Upload in slices of units (each a valid CSV for its targets).
        n_part = min(chunk_units, n_units - first) * UNIT_SIZE
        body = paper_csv("TL", first * UNIT_SIZE, n_part, UNIT_SIZE - 1, seed=10 + part)
        await enter_paper(conn, await demo_committee(conn, "bench"), round_id, body, f"l{part}")
    total = await conn.fetchval("select sum(n_ballots) from ballots where round_id = $1", round_id)
    await conn.execute("vacuum analyze ballots")
    forms = await form_items(conn, catalog_id)
    start = time.perf_counter()
    recs = (await read_round(conn, round_id)).records
    read = time.perf_counter() - start
    del recs
    print(f"  reading the round's blocks alone: {read:.2f} s")
    timings, peaks = [], []
    for run in range(runs):
        tx = conn.transaction()
        await tx.start()
        reset_peak_rss()
        base = rss_mib()
        start = time.perf_counter()
        await tally_round(conn, round_id, 5, forms)
        elapsed = time.perf_counter() - start
        peak = peak_rss_mib() - base
        flags = await conn.fetchval(
            "select count(*) from ballot_flags where round_id = $1", round_id
        )
        await tx.rollback()
        # A round's tallies are written once; clear the rolled-back rows so that every run
        # starts, like a real close, without dead index entries for the same keys.
        await conn.execute("vacuum ballot_tallies")
        timings.append(elapsed)
        peaks.append(peak)
        print(
            f"  tally run {run + 1}: {elapsed:.2f} s for {total:,} ballots, "
            f"{n_cadres:,} targets, {flags:,} flags; peak RSS +{peak:,.0f} MiB"
        )
    print(
        f"TALLY median: {statistics.median(timings):.2f} s for {total:,} ballots "
        f"(read blocks + count + store tallies; target <= 2 s); "
        f"peak RSS during the tally +{statistics.median(peaks):,.0f} MiB"
    )
    committee = await demo_committee(conn, "bench")
    shares = await collect_shares(conn, KEYS, committee, round_id)
    start = time.perf_counter()
    await ballot_rounds.close_round(conn, ADMIN, round_id, KEYS, shares[:2])
    print(f"CLOSE (tally + status, paper-only round, once): {time.perf_counter() - start:.2f} s")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--upload", type=int, default=1_000_000)
    parser.add_argument("--tally", type=int, default=3_000_000)
    args = parser.parse_args()
    # The embedded server stops at exit (atexit, last in first out): remove its folder after.
    tmp = tempfile.mkdtemp(prefix="evalsvc-bench-")
    atexit.register(shutil.rmtree, tmp, True)
    server = await asyncio.to_thread(start_embedded, Path(tmp) / "pgdata")
    await ensure_database(server, "bench")
    conn = await asyncpg.connect(with_database(server, "bench"))
    try:
        await migrate(conn)
        catalog_id = await seed_catalog(conn)
        print(f"load average before: {load()}")
        if args.upload:
            await bench_upload(conn, catalog_id, args.upload, args.runs)
        if args.tally:
            await bench_tally(conn, catalog_id, args.tally, args.runs)
    finally:
        await conn.close()
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS (with seeding) {usage:,.0f} MiB; {os.cpu_count()} CPUs")
    print(f"load average after: {load()}")


if __name__ == "__main__":
    asyncio.run(main())
