"""``evalsvc backup`` and ``restore``: a fresh data folder gets everything back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import asyncpg
from litestar.testing import AsyncTestClient

from evalsvc.domain.access import Role
from evalsvc.store.database import DATABASE_NAME, connect, start_embedded, with_database
from tests.conftest import make_key
from tests.integration.ballots_seed import round_body
from tests.integration.test_ballots_flow import open_round, seed_unit

Client = AsyncTestClient  # type: ignore[type-arg]


def evalsvc(env_extra: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALSVC_")} | env_extra
    return subprocess.run(
        [sys.executable, "-m", "evalsvc.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


async def snapshot(conn: asyncpg.Connection) -> dict[str, str]:
    """Every public table's rows, as one md5 per table (order-independent)."""
    tables = [
        r["tablename"]
        for r in await conn.fetch(
            "select tablename from pg_tables where schemaname = 'public' order by 1"
        )
    ]
    out = {}
    for table in tables:
        # A schedule's run times are the queue's clock, rewritten whenever a worker runs it
        # (every 5 s): what the backup must keep is which work is scheduled, and how often.
        rows = (
            "(select entrypoint, expression from pgqueuer_schedules)"
            if table == "pgqueuer_schedules"
            else f'"{table}"'
        )
        out[table] = await conn.fetchval(
            f"select count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|' "
            f"order by t::text)), '') from {rows} t"
        )
    return out


async def test_a_backup_restores_into_a_fresh_data_folder(
    client: Client, conn: asyncpg.Connection, db_dsn: str, tmp_path: Path
) -> None:
    catalog_id, _ = await seed_unit(conn)
    headers = await make_key(conn, Role.PERSONNEL, "UB")
    round_id, tokens = await open_round(client, headers, round_body(catalog_id, "UB"))
    await conn.execute(
        "insert into ballot_ledger (tag, round_id) values ('\\x0102'::bytea, $1)", round_id
    )
    before = await snapshot(conn)
    assert before["ballot_ledger"].startswith("1:")
    assert not before["audit_log"].startswith("0:")

    file = tmp_path / "city.dump"
    made = evalsvc({"EVALSVC_DATABASE_URL": db_dsn}, "backup", str(file))
    assert made.returncode == 0, made.stderr
    assert file.stat().st_size > 0

    fresh = tmp_path / "fresh"
    restored = evalsvc({"EVALSVC_DATA_DIR": str(fresh)}, "restore", str(file))
    assert restored.returncode == 0, restored.stderr
    again = evalsvc({"EVALSVC_DATA_DIR": str(fresh)}, "restore", str(file))
    assert again.returncode != 0
    assert "--replace" in again.stderr

    server = start_embedded(fresh / "pgdata")
    copy = await connect(with_database(server, DATABASE_NAME))
    try:
        after = await snapshot(copy)
        status = await copy.fetchval("select status from ballot_rounds where id = $1", round_id)
    finally:
        await copy.close()
    assert after == before
    assert status == "open"
    assert len(tokens) == 8
