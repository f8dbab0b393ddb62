"""``/health`` latency while a city-wide year recomputation runs in a worker process.

Usage (a seeded city, as for ``bench_recompute.py``)::

    EVALSVC_DATA_DIR=/tmp/evalsvc-bench1 python benchmarks/bench_health.py

Starts ``evalsvc serve`` (the API and its one worker process) on the benchmark's database,
queues a cold year (a profile variant no run used: every month scored and written) over
HTTP, and asks ``/health`` every 20 ms until the job has finished; prints p50 / p99 / max of
each of ``--runs`` years and of all their requests together, with the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time

import httpx

from evalsvc.domain.access import Role, generate_key
from evalsvc.settings import load_settings
from evalsvc.store.database import connect, resolve_dsn
from evalsvc.store.keys import create_key

PORT = 8799


async def _admin_key() -> tuple[str, str]:
    settings = load_settings()
    dsn = await resolve_dsn(settings.database_url, settings.pgdata)
    conn = await connect(dsn)
    key = generate_key()
    await create_key(conn, key, Role.ADMIN, None, "bench_health")
    await conn.close()
    return dsn, key.token


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    dsn, token = asyncio.run(_admin_key())
    env = {**os.environ, "EVALSVC_DATABASE_URL": dsn, "EVALSVC_PORT": str(PORT)}
    serve = subprocess.Popen([sys.executable, "-m", "evalsvc.cli", "serve"], env=env)
    try:
        asyncio.run(measure({"Authorization": f"Bearer {token}"}, args.runs))
    finally:
        serve.terminate()
        serve.wait(30)


async def _timed(client: httpx.AsyncClient) -> float:
    """One /health request's milliseconds, then the 20 ms pause between requests."""
    t = time.perf_counter()
    assert (await client.get("/health")).status_code == 200
    ms = (time.perf_counter() - t) * 1000
    await asyncio.sleep(0.02)
    return ms


def _p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def measure(headers: dict[str, str], runs: int) -> None:
    base = f"http://127.0.0.1:{PORT}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for _ in range(300):
            try:
                if (await client.get("/health")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        print(f"machine: {os.cpu_count()} cores, load average before {os.getloadavg()}")
        idle = [await _timed(client) for _ in range(200)]
        print(
            f"/health with no job running, {len(idle)} requests: p50 "
            f"{statistics.median(idle):.1f} ms, p99 {_p99(idle):.1f} ms, max {max(idle):.1f} ms;"
            f" load {os.getloadavg()} (the machine's share, for comparison)"
        )
        pooled: list[float] = []
        for _ in range(runs):
            pooled += await one_year(client, headers)
        print(
            f"/health over {runs} year job(s), {len(pooled)} requests: p50 "
            f"{statistics.median(pooled):.1f} ms, p99 {_p99(pooled):.1f} ms, "
            f"max {max(pooled):.1f} ms; load {os.getloadavg()}"
        )


async def one_year(client: httpx.AsyncClient, headers: dict[str, str]) -> list[float]:
    """Queue a cold city-wide year; ask /health every 20 ms until it has finished."""
    changes = {"rank_interval": [5.0, 95.0 - (time.time_ns() % 10**9) * 1e-12]}
    r = await client.post(
        "/recomputations", json={"period": "2026", "changes": changes}, headers=headers
    )
    job_id = r.json()["id"]
    latencies: list[float] = []
    state = "queued"
    while state in ("queued", "running"):
        latencies.append(await _timed(client))
        if len(latencies) % 10 == 0:
            state = (await client.get(f"/recomputations/{job_id}", headers=headers)).json()["state"]
    job = (await client.get(f"/recomputations/{job_id}", headers=headers)).json()
    print(
        f"year job {job['state']} in {job['timings'].get('total', 0):.2f} s; /health "
        f"{len(latencies)} requests: p50 {statistics.median(latencies):.1f} ms, "
        f"p99 {_p99(latencies):.1f} ms, max {max(latencies):.1f} ms; load {os.getloadavg()}"
    )
    return latencies


if __name__ == "__main__":
    main()
