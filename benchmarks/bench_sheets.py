"""Whole-sheet submission: 100 concurrent voters, sheets of 15 colleagues, over HTTP.

Target (issues 13 and 18): >= 2,000 ballots/s and p99 <= 250 ms at 100 concurrent voters
on the 2-core machine, with the sheets sealed to the round's key.

Three kinds of process: this one seeds an embedded PostgreSQL (units of 16 cadres: every
voter ballots the 15 colleagues of their unit) and opens one round; a server process runs
the real app (``create_app`` under uvicorn, one worker, no access log); a load generator
process per measurement, lighter than the server (raw asyncio streams, HTTP/1.1
keep-alive, no client library), holds 100 voter connections and times every request.

Four measurements per run, each with fresh voters (a sheet is taken once):

- closed loop: the 100 voters submit back to back; the saturation throughput. (Little's
  law: 100 always-busy voters at p99 <= 250 ms would need >= 400 sheets/s, so the latency
  target is read from the paced measurement.)
- paced: open-loop arrivals at the target rate (2,000 ballots/s = 133 sheets/s), spread
  evenly over the 100 connections; a sheet's latency counts from its scheduled arrival, so
  a late server is not hidden by a waiting client.
- each of the two for sheets sealed by the server (``POST /ballot/sheets``: the page without
  JavaScript; the server seals in memory) and by the voter's client (``POST
  /ballot/sealed-sheets``, sealed before the clock starts with PyNaCl by
  ``evalsvc.voting_client.seal_sheet``, as an API voter's machine would).

The voters' codes are made here and their hashes stored as the delivery does (no mail is
sent: that is not what is measured). Printed: every run, the medians of the runs, CPU per
sheet of the server, PostgreSQL and the load generator, and the load average.

    .venv/bin/python benchmarks/bench_sheets.py [--runs 3] [--sheets 2000] [--concurrency 100]
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import base64
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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
TARGET_BALLOTS_PER_S = 2000
MODES = ("closed", "paced")
SEALERS = ("server", "client")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Round:
    """What the load generator needs to know of the round (as GET /ballot/targets says)."""

    round_id: int
    public_key: str  # base64
    forms: dict[str, list[str]]  # form -> item codes in catalog order
    codes: list[str]  # the voters' codes
    colleagues: dict[str, list[str]]  # voter code -> colleagues' cadre codes
    form_of: dict[str, str]  # cadre code -> form


async def prepare(dsn: str, n_voters: int) -> Round:
    """Seed, create and open the round; return what voters would learn of it."""
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
        form_of = {
            code_of[r["cadre_id"]]: r["form"]
            for r in await conn.fetch(
                "select cadre_id, form from ballot_round_targets where round_id = $1", round_id
            )
        }
        items = await conn.fetch(
            "select code, for_leader, for_staff from catalog_items where catalog_id = $1"
            " order by ordinal, code",
            catalog_id,
        )
        forms = {
            "leader": [r["code"] for r in items if r["for_leader"]],
            "staff": [r["code"] for r in items if r["for_staff"]],
        }
        public_key = await conn.fetchval(
            "select public_key from ballot_rounds where id = $1", round_id
        )
    finally:
        await conn.close()
    return Round(round_id, base64.b64encode(public_key).decode(), forms, codes, colleagues, form_of)


def answers(rnd: Round, code: str, rng: random.Random) -> dict[str, dict[str, Any]]:
    """One voter's answers: target -> marks (3 items), mostly a level and confidence."""
    out: dict[str, dict[str, Any]] = {}
    for target in rnd.colleagues[code]:
        items = rnd.forms[rnd.form_of[target]]
        answer: dict[str, Any] = {
            "marks": {i: rng.choice(("observed", "no_basis")) for i in rng.sample(items, 3)}
        }
        if rng.random() < 0.7:
            answer["level"] = rng.choice(("HTXS", "HTT", "HT", "KHT"))
        if rng.random() < 0.7:
            answer["confidence"] = rng.choice(("high", "normal", "low"))
        if rng.random() < 0.1:
            answer["comment"] = "Cần chủ động hơn trong công việc."
        out[target] = answer
    return out


# --- the load generator (its own process) -------------------------------------------------


def _sealed_body(job: dict[str, Any]) -> bytes:
    """The voter's machine seals the sheet (evalsvc.voting_client, PyNaCl)."""
    from evalsvc.voting_client import seal_sheet

    body, _receipt = seal_sheet(job["pending"], job["answers"])
    return json.dumps(body).encode()


def _plain_body(job: dict[str, Any]) -> bytes:
    ballots = [{"target": t, **a} for t, a in job["answers"].items()]
    return json.dumps({"ballots": ballots}, ensure_ascii=False).encode()


async def _one_client(
    port: int,
    path: str,
    jobs: list[tuple[str, bytes]],
    next_job: list[int],
    schedule: float | None,
    start: float,
    latencies: list[float],
    errors: list[str],
) -> None:
    """One voter connection: take the next sheet, (paced: wait for its arrival), send it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while next_job[0] < len(jobs):
            index = next_job[0]
            next_job[0] += 1
            code, body = jobs[index]
            request = (
                f"POST {path} HTTP/1.1\r\nHost: bench\r\n"
                f"Authorization: Bearer {code}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode() + body
            if schedule is None:
                began = time.perf_counter()
            else:
                began = start + index * schedule
                delay = began - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
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
            latencies.append(time.perf_counter() - began)
            if b" 201 " not in status_line:
                errors.append(status_line.decode().strip() + " " + answer[:200].decode())
    finally:
        writer.close()


async def _generate(
    port: int, path: str, jobs: list[tuple[str, bytes]], concurrency: int, rate: float | None
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    next_job = [0]
    cpu = time.process_time()
    start = time.perf_counter() + 0.2  # the connections are open by then
    schedule = None if rate is None else 1 / rate
    await asyncio.gather(
        *(
            _one_client(port, path, jobs, next_job, schedule, start, latencies, errors)
            for _ in range(concurrency)
        )
    )
    wall = time.perf_counter() - (start if rate is not None else start - 0.2)
    return {
        "wall": wall,
        "latencies": latencies,
        "errors": errors[:5],
        "n_errors": len(errors),
        "client_cpu": time.process_time() - cpu,
    }


def generate(port: int, work_file: Path, concurrency: int, rate: float | None) -> None:
    """The load generator's main: bodies first (sealing, off the clock), then the load."""
    work = json.loads(work_file.read_text())
    cpu = time.process_time()
    make = _sealed_body if work["sealer"] == "client" else _plain_body
    jobs = [(job["code"], make(job)) for job in work["jobs"]]
    prepare_cpu = time.process_time() - cpu
    path = "/ballot/sealed-sheets" if work["sealer"] == "client" else "/ballot/sheets"
    result = asyncio.run(_generate(port, path, jobs, concurrency, rate))
    result["prepare_cpu"] = prepare_cpu
    print(json.dumps(result))


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


def postgres_cpu_seconds(pgdata: Path) -> float:
    """CPU of the PostgreSQL server: the postmaster's children (and those that ended)."""
    postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == postmaster:
            total += sum(int(f) for f in fields[11:15])
        elif int(fields[1]) == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _setup(tmp: str, n_voters: int) -> tuple[str, Round]:
    pg = await asyncio.to_thread(start_embedded, Path(tmp) / "pgdata")
    await ensure_database(pg, "bench")
    dsn = with_database(pg, "bench")
    return dsn, await prepare(dsn, n_voters)


def _wait_for(port: int) -> None:
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sheets", type=int, default=2000, help="sheets per measurement")
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--rate", type=float, default=0.0, help="paced sheets/s (0: target)")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="evalsvc-bench-sheets-")
    atexit.register(shutil.rmtree, tmp, True)
    print(f"load average before: {load()}; {os.cpu_count()} CPUs")
    t = time.perf_counter()
    n_measurements = args.runs * len(MODES) * len(SEALERS)
    dsn, rnd = asyncio.run(_setup(tmp, args.sheets * n_measurements))
    ballots_per_sheet = statistics.mean(len(c) for c in rnd.colleagues.values())
    rate = args.rate or TARGET_BALLOTS_PER_S / ballots_per_sheet
    print(
        f"seeded {len(rnd.codes):,} voters in {time.perf_counter() - t:.1f} s;"
        f" paced rate {rate:.0f} sheets/s ({rate * ballots_per_sheet:,.0f} ballots/s),"
        f" {args.concurrency} voter connections"
    )
    pgdata = Path(tmp) / "pgdata"
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", dsn, str(port)])
    figures: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    try:
        _wait_for(port)
        rng = random.Random(13)
        voters = iter(rnd.codes)
        for run in range(args.runs):
            for mode in MODES:
                for sealer in SEALERS:
                    chosen = [next(voters) for _ in range(args.sheets)]
                    pending = {
                        "round": {"id": rnd.round_id},
                        "public_key": rnd.public_key,
                        "forms": {
                            f: [{"code": c} for c in codes] for f, codes in rnd.forms.items()
                        },
                    }
                    jobs = [
                        {
                            "code": c,
                            "answers": answers(rnd, c, rng),
                            "pending": pending
                            | {
                                "targets": [
                                    {"code": t, "form": rnd.form_of[t]} for t in rnd.colleagues[c]
                                ]
                            },
                        }
                        for c in chosen
                    ]
                    work_file = Path(tmp) / f"work-{run}-{mode}-{sealer}.json"
                    work_file.write_text(json.dumps({"sealer": sealer, "jobs": jobs}))
                    ballots = sum(len(rnd.colleagues[c]) for c in chosen)
                    figures.setdefault((mode, sealer), []).append(
                        _measure(
                            server.pid,
                            pgdata,
                            port,
                            work_file,
                            args.concurrency,
                            rate if mode == "paced" else None,
                            ballots,
                            f"run {run + 1} {mode:>6} sealed by {sealer}:",
                        )
                    )
        for (mode, sealer), values in figures.items():
            rates, p50s, p99s = zip(*values, strict=True)
            print(
                f"MEDIAN of {args.runs}, {mode} loop, sealed by the {sealer}:"
                f" {statistics.median(rates):,.0f} ballots/s,"
                f" p50 {statistics.median(p50s):.0f} ms, p99 {statistics.median(p99s):.0f} ms"
            )
        print("(target: >= 2,000 ballots/s closed loop, p99 <= 250 ms paced at 2,000 ballots/s)")
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"load average after: {load()}")


def _measure(
    server_pid: int,
    pgdata: Path,
    port: int,
    work_file: Path,
    concurrency: int,
    rate: float | None,
    ballots: int,
    label: str,
) -> tuple[float, float, float]:
    """One load generator process over ``work_file``; prints and returns ballots/s, p50, p99."""
    before = load()
    server_cpu = cpu_seconds(server_pid)
    pg_cpu = postgres_cpu_seconds(pgdata)
    command = [sys.executable, __file__, "--load", str(port), str(work_file), str(concurrency)]
    out = subprocess.run([*command, str(rate or 0)], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    server_cpu = cpu_seconds(server_pid) - server_cpu
    pg_cpu = postgres_cpu_seconds(pgdata) - pg_cpu
    lat = result["latencies"]
    n = len(lat)
    ballots_per_s = ballots / result["wall"]
    p50, p99 = 1000 * pct(lat, 0.50), 1000 * pct(lat, 0.99)
    print(
        f"{label} {n:,} sheets, {ballots:,} ballots in {result['wall']:.2f} s"
        f" = {ballots_per_s:,.0f} ballots/s ({n / result['wall']:,.0f} sheets/s);"
        f" latency p50 {p50:.0f} ms, p99 {p99:.0f} ms;"
        f" errors {result['n_errors']} {result['errors'][:1]};"
        f" CPU ms/sheet: server {1000 * server_cpu / n:.1f}, PostgreSQL {1000 * pg_cpu / n:.1f},"
        f" load generator {1000 * result['client_cpu'] / n:.1f}"
        f" (+ {1000 * result['prepare_cpu'] / n:.1f} making the bodies, off the clock);"
        f" load {before}"
    )
    return ballots_per_s, p50, p99


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--load":
        given = float(sys.argv[5])
        generate(int(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]), given or None)
    else:
        main()
