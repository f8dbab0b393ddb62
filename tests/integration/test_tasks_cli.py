"""`evalsvc import tasks FILE` as a user runs it (a separate process)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg

from tests.integration.tasks_helpers import HEADER, make_city, recount, row, stored_totals


async def evalsvc(dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALSVC_")}
    env["EVALSVC_DATABASE_URL"] = dsn
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "evalsvc.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_import_tasks_then_resend_then_bad_file(
    conn: asyncpg.Connection, db_dsn: str, tmp_path: Path
) -> None:
    await make_city(conn)
    good = tmp_path / "tasks.csv"
    good.write_text(HEADER + row("e1") + row("e2", "B1", ec="2"), encoding="utf-8")
    first = await evalsvc(db_dsn, "import", "tasks", str(good), "--quiet")
    assert first.returncode == 0, first.stderr
    assert "2 rows, 2 inserted, 0 updated, 0 unchanged" in first.stdout
    again = await evalsvc(db_dsn, "import", "tasks", str(good), "--quiet")
    assert "0 inserted, 0 updated, 2 unchanged" in again.stdout
    assert await stored_totals(conn) == await recount(conn)

    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + row("e3") + row("e4", done="99"), encoding="utf-8")
    failed = await evalsvc(db_dsn, "import", "tasks", str(bad), "--quiet")
    assert failed.returncode != 0
    assert "row 2: done: done exceeds assigned" in failed.stderr
    assert await conn.fetchval("select count(*) from task_records") == 2

    ndjson = tmp_path / "tasks.ndjson"
    ndjson.write_text(
        '{"external_id":"j1","cadre_code":"A2","month":"2026-07","product_code":"P",'
        '"k":1,"assigned":1,"done":1}\n',
        encoding="utf-8",
    )
    sent = await evalsvc(db_dsn, "import", "tasks", str(ndjson), "--source", "dms", "--quiet")
    assert sent.returncode == 0, sent.stderr
    assert await conn.fetchval("select count(*) from task_records") == 3
