"""Recomputations in worker processes: a worker killed midway, a job cancelled midway."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from evalsvc.api.app import create_app
from evalsvc.cli import WorkerProcesses
from evalsvc.democity.city import load_demo
from evalsvc.domain.access import SYSTEM
from evalsvc.domain.recompute import RecomputeRequest
from evalsvc.jobs import queue
from evalsvc.jobs.recompute import recompute
from evalsvc.settings import Settings
from tests.integration import cadre_results


async def _job(client: Any, headers: dict[str, str], job_id: int) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get(f"/recomputations/{job_id}", headers=headers)).json()
    return body


async def _until(client: Any, headers: dict[str, str], job_id: int, done: Any, seconds: float):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = await _job(client, headers, job_id)
        if done(job):
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} never got there: {await _job(client, headers, job_id)}")


def _worker(db_dsn: str, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "EVALSVC_DATABASE_URL": db_dsn, "EVALSVC_DATA_DIR": str(tmp_path)}
    return subprocess.Popen([sys.executable, "-m", "evalsvc.cli", "worker"], env=env)


async def _hold_writes(dsn: str) -> asyncpg.Connection:
    """A session that keeps every run's cadre rows from being written until it rolls back:
    a job started meanwhile stops in its writing stage (midway)."""
    blocker = await asyncpg.connect(dsn)
    await blocker.execute("begin; lock table cadre_period_results in access exclusive mode")
    return blocker


@pytest.fixture
async def api(db_dsn: str, tmp_path: Path) -> AsyncIterator[Any]:
    """The API with no worker of its own (the workers look for dead workers' jobs)."""
    app = create_app(Settings(database_url=db_dsn, data_dir=str(tmp_path)), db_dsn)
    async with AsyncTestClient(app=app) as client:
        yield client


async def test_a_worker_killed_midway_fails_the_job_and_keeps_the_published_set(
    api: Any, conn: asyncpg.Connection, admin_headers: dict[str, str], db_dsn: str, tmp_path: Path
) -> None:
    await load_demo(conn)
    first = await recompute(conn, RecomputeRequest(period="2026-05"), SYSTEM)
    before = await cadre_results.month_rows(conn, [first.run_id])  # type: ignore[list-item]
    partitions = await conn.fetchval("select count(*) from pg_inherits")
    blocker = await _hold_writes(db_dsn)
    worker = _worker(db_dsn, tmp_path)
    started = [worker]
    try:
        r = await api.post("/recomputations", json={"period": "2026-05"}, headers=admin_headers)
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        job = await _until(api, admin_headers, job_id, lambda j: j["stage"] == "writing", 60)
        assert job["state"] == "running"
        # Another worker (as `serve` starts one when its own dies) runs the queue's periodic
        # look for dead workers' jobs; the API process does no such work.
        other = _worker(db_dsn, tmp_path)
        started.append(other)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        killed_at = time.monotonic()
        job = await _until(api, admin_headers, job_id, lambda j: j["state"] != "running", 30)
        assert time.monotonic() - killed_at < 30
        assert job["state"] == "failed"
        assert job["error"] == queue.GONE
        await blocker.execute("rollback")
        # The published set is the one before, whole; nothing of the killed run remains.
        published = await conn.fetchval(
            "select run_id from result_published where period = '2026-05'"
        )
        assert published == first.run_id
        assert await cadre_results.month_rows(conn, [first.run_id]) == before  # type: ignore[list-item]
        assert await conn.fetchval("select count(*) from pg_inherits") == partitions
        rows = await conn.fetchval("select count(*) from ratings_month where period = '2026-05'")
        assert rows == len(before)
        # The next request runs it again (the other worker takes it).
        again = await api.post("/recomputations", json={"period": "2026-05"}, headers=admin_headers)
        assert again.status_code == 202
        done = await _until(
            api, admin_headers, again.json()["id"], lambda j: j["state"] != "running"
            and j["state"] != "queued", 60
        )  # fmt: skip
        assert done["state"] == "succeeded", done["error"]
        assert (
            await conn.fetchval("select run_id from result_published where period = '2026-05'")
            == done["run_id"]
        )
    finally:
        if not blocker.is_closed():
            await blocker.close()
        for process in started:
            if process.poll() is None:
                process.terminate()
                process.wait(20)


async def test_cancel_midway_keeps_the_published_set(
    client: Any, conn: asyncpg.Connection, admin_headers: dict[str, str], db_dsn: str
) -> None:
    await load_demo(conn)
    first = await recompute(conn, RecomputeRequest(period="2026-05"), SYSTEM)
    blocker = await _hold_writes(db_dsn)
    try:
        r = await client.post("/recomputations", json={"period": "2026-05"}, headers=admin_headers)
        job_id = r.json()["id"]
        await _until(client, admin_headers, job_id, lambda j: j["stage"] == "writing", 60)
        cancelled = await client.post(f"/recomputations/{job_id}/cancel", headers=admin_headers)
        assert cancelled.status_code == 200, cancelled.text
        job = await _until(client, admin_headers, job_id, lambda j: j["state"] != "running", 30)
        assert (job["state"], job["error"]) == ("failed", "cancelled")
    finally:
        await blocker.close()
    assert (
        await conn.fetchval("select run_id from result_published where period = '2026-05'")
        == first.run_id
    )
    again = await client.post(f"/recomputations/{job_id}/cancel", headers=admin_headers)
    assert again.status_code == 409  # finished already
    missing = await client.post("/recomputations/999999/cancel", headers=admin_headers)
    assert missing.status_code == 404


def test_serve_starts_its_worker_again_when_it_dies(db_dsn: str) -> None:
    """The lone worker of `serve` killed: another is started, so the queue's periodic look
    for dead workers' jobs still runs (and jobs still do)."""
    workers = WorkerProcesses(db_dsn, 1)
    try:
        first = workers.processes[0]
        first.send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 20
        while workers.processes[0] is first:
            assert time.monotonic() < deadline, "no worker started again"
            time.sleep(0.1)
        assert workers.processes[0].poll() is None
    finally:
        workers.stop()
    assert all(p.poll() is not None for p in workers.processes)
    time.sleep(1.5)  # stopping is final: nothing is started again
    assert all(p.poll() is not None for p in workers.processes)
