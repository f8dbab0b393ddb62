"""Whole-sheet submission: 100 concurrent voters, sheets of 15 colleagues, over HTTP.

Target (issue 13): >= 2,000 ballots/s and p99 <= 250 ms on the 2-core machine.

Three processes: this one seeds an embedded PostgreSQL (units of 16 cadres: every voter
ballots the 15 colleagues of their unit) and opens one round; a server process runs the
real app (``create_app`` under uvicorn, one worker, no access log); a load generator
process, lighter than the server (raw asyncio streams, HTTP/1.1 keep-alive, no client
library), keeps 100 voters submitting at once and times every request.

The voters' codes are made here and their hashes stored as the delivery does (no mail is
sent: that is not what is measured). Each run uses fresh voters (a sheet is taken once).

    .venv/bin/python benchmarks/bench_sheets.py [--runs 3] [--sheets 3000] [--concurrency 100]
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from evalsvc.domain.access import Principal, Role
from evalsvc.domain.ballots import RoundCreate, token_hash
from evalsvc.domain.sheets import new_voter_code
from evalsvc.jobs.committee import demo_committee
from evalsvc.keyring import derive
from evalsvc.store import ballot_rounds
from evalsvc.store.database import ensure_database, start_embedded, with_database
from evalsvc.store.migrations import migrate

sys.path.insert(0, str(Path(__file__).parent))
from bench_ballots import UNIT_SIZE, seed_catalog, seed_city

ADMIN = Principal(key_id=0, role=Role.ADMIN, scope_unit_id=None, kind="system")
SECRET = "bench-sheets-secret"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def prepare(dsn: str, n_voters: int) -> tuple[list[str], dict[str, list[str]], list[str]]:
    """Seed, create and open the round; return the voters' codes, each code's colleagues."""
    keys = derive(SECRET.encode())
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
        catalog_id = await seed_catalog(conn)
        n_units = -(-n_voters // UNIT_SIZE)
        await seed_city(conn, "B", n_units)
        now = datetime.now(UTC)
        created = await ballot_rounds.create_round(
            conn,
            ADMIN,
            RoundCreate(
                title="bench",
                unit="B",
                period="2026-Q1",
                catalog_id=catalog_id,
                opens_at=now - timedelta(hours=1),
                closes_at=now + timedelta(days=1),
                include_subunits=True,
                committee=(await demo_committee(conn, "bench")).usernames,
            ),
        )
        round_id = int(created["id"])
        await ballot_rounds.open_round(conn, ADMIN, round_id, keys)
        voters = await conn.fetch(
            "select v.id, v.cadre_id, v.group_id from ballot_round_voters v"
            " where v.round_id = $1 order by v.id",
            round_id,
        )
        codes = [new_voter_code() for _ in voters]
        await conn.execute(
            "update ballot_round_voters v set token_hash = x.h"
            " from unnest($1::bigint[], $2::bytea[]) as x (id, h) where v.id = x.id",
            [v["id"] for v in voters],
            [token_hash(keys, c) for c in codes],
        )
        code_of = {c["id"]: c["code"] for c in await conn.fetch("select id, code from cadres")}
        by_group: dict[int, list[int]] = {}
        for v in voters:
            by_group.setdefault(v["group_id"], []).append(v["cadre_id"])
        colleagues = {
            code: [code_of[t] for t in by_group[v["group_id"]] if t != v["cadre_id"]]
            for v, code in zip(voters, codes, strict=True)
        }
        items = [
            r["code"]
            for r in await conn.fetch(
                "select code from catalog_items where catalog_id = $1 and for_staff"
                " order by ordinal",
                catalog_id,
            )
        ]
    finally:
        await conn.close()
    return codes, colleagues, items


def sheet_body(colleagues: list[str], items: list[str], rng: random.Random) -> bytes:
    ballots = []
    for target in colleagues:
        marks = {i: rng.choice(("observed", "no_basis")) for i in rng.sample(items, 3)}
        ballot: dict[str, object] = {"target": target, "marks": marks}
        if rng.random() < 0.7:
            ballot["level"] = rng.choice(("HTXS", "HTT", "HT", "KHT"))
        if rng.random() < 0.7:
            ballot["confidence"] = rng.choice(("high", "normal", "low"))
        if rng.random() < 0.1:
            ballot["comment"] = "Cần chủ động hơn trong công việc."
        ballots.append(ballot)
    return json.dumps({"ballots": ballots}, ensure_ascii=False).encode()


# --- the load generator (its own process) -------------------------------------------------


async def _one_client(
    port: int, jobs: asyncio.Queue[tuple[str, bytes]], latencies: list[float], errors: list[str]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            try:
                code, body = jobs.get_nowait()
            except asyncio.QueueEmpty:
                return
            request = (
                f"POST /ballot/sheets HTTP/1.1\r\nHost: bench\r\n"
                f"Authorization: Bearer {code}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode() + body
            start = time.perf_counter()
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            answer = await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if b" 201 " not in status_line:
                errors.append(status_line.decode().strip() + " " + answer[:200].decode())
    finally:
        writer.close()


async def _generate(port: int, work: list[list[str]], concurrency: int) -> dict[str, object]:
    jobs: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    for code, body in work:
        jobs.put_nowait((code, body.encode()))
    latencies: list[float] = []
    errors: list[str] = []
    start = time.perf_counter()
    await asyncio.gather(*(_one_client(port, jobs, latencies, errors) for _ in range(concurrency)))
    wall = time.perf_counter() - start
    cpu = time.process_time()
    return {
        "wall": wall,
        "latencies": latencies,
        "errors": errors[:5],
        "n_errors": len(errors),
        "client_cpu": cpu,
    }


def serve(dsn: str, port: int) -> None:
    import uvicorn

    from evalsvc.api.app import create_app
    from evalsvc.settings import Settings

    settings = Settings(
        database_url=dsn,
        data_dir=tempfile.mkdtemp(prefix="evalsvc-bench-serve-"),
        secret_key=SECRET,
        pool_min_size=10,
        pool_max_size=20,
    )
    uvicorn.run(
        create_app(settings, dsn),
        host="127.0.0.1",
        port=port,
        access_log=False,
        log_level="warning",
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _setup(tmp: str, n_voters: int) -> tuple[str, list[str], dict[str, list[str]], list[str]]:
    pg = await asyncio.to_thread(start_embedded, Path(tmp) / "pgdata")
    await ensure_database(pg, "bench")
    dsn = with_database(pg, "bench")
    return (dsn, *await prepare(dsn, n_voters))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sheets", type=int, default=3000, help="sheets per run")
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="evalsvc-bench-sheets-")
    atexit.register(shutil.rmtree, tmp, True)
    print(f"load average before: {load()}; {os.cpu_count()} CPUs")
    t = time.perf_counter()
    dsn, codes, colleagues, items = asyncio.run(_setup(tmp, args.sheets * args.runs))
    print(f"seeded {len(codes):,} voters in {time.perf_counter() - t:.1f} s")
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", dsn, str(port)])
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        rng = random.Random(13)
        rates, p50s, p99s = [], [], []
        for run in range(args.runs):
            chosen = codes[run * args.sheets : (run + 1) * args.sheets]
            work = [(c, sheet_body(colleagues[c], items, rng).decode()) for c in chosen]
            ballots = sum(len(colleagues[c]) for c in chosen)
            work_file = Path(tmp) / f"work-{run}.json"
            work_file.write_text(json.dumps(work))
            before = load()
            server_cpu = cpu_seconds(server.pid)
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--load",
                    str(port),
                    str(work_file),
                    str(args.concurrency),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(out.stdout)
            server_cpu = cpu_seconds(server.pid) - server_cpu
            lat = result["latencies"]
            rate = ballots / result["wall"]
            rates.append(rate)
            p50s.append(1000 * pct(lat, 0.50))
            p99s.append(1000 * pct(lat, 0.99))
            print(
                f"run {run + 1}: {len(lat):,} sheets, {ballots:,} ballots in {result['wall']:.2f} s"
                f" = {rate:,.0f} ballots/s ({len(lat) / result['wall']:,.0f} sheets/s);"
                f" latency p50 {p50s[-1]:.0f} ms, p99 {p99s[-1]:.0f} ms;"
                f" errors {result['n_errors']} {result['errors'][:1]};"
                f" CPU: server {1000 * server_cpu / len(lat):.1f} ms/sheet,"
                f" load generator {result['client_cpu']:.1f} s in all; load {before}"
            )
        print(
            f"MEDIAN of {args.runs}: {statistics.median(rates):,.0f} ballots/s,"
            f" p50 {statistics.median(p50s):.0f} ms, p99 {statistics.median(p99s):.0f} ms"
            f" (target >= 2,000 ballots/s, p99 <= 250 ms)"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"load average after: {load()}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--load":
        work = json.loads(Path(sys.argv[3]).read_text())
        print(json.dumps(asyncio.run(_generate(int(sys.argv[2]), work, int(sys.argv[4])))))
    else:
        main()
