"""Results stored as rows (0004) are converted to chunks (0010) with the same numbers."""

from __future__ import annotations

import json
import math
from datetime import date

import asyncpg
import numpy as np
import pytest

from evalsvc.store import migrations, results
from evalsvc.store.database import with_database
from evalsvc.store.migrations import load_migrations, migrate

MONTH_DETAIL = [
    30.5,
    28.0,
    0.9,
    0.8,
    0.7,
    math.nan,
    math.nan,
    math.nan,
    0.81,
    56.7,
    24.3,
    2.0,
    22.3,
    0.0,
]
YEAR_DETAIL = [
    12.0,
    12.0,
    1.0,
    1.0,
    0.0,
    1.0,
    3.0,
    0.0,
    0.93,
    0.02,
    0.01,
    2.0,
    2.0,
    1.0,
    1.0,
    1.0,
    -1.0,
]


async def _old_run(conn: asyncpg.Connection, kind: str, period: str, first: date) -> int:
    run: int = await conn.fetchval(
        "insert into result_runs (period, kind, first_month, months, profile_name,"
        " profile_version, profile, fingerprint, seed) values ($1, $2, $3, $4, 'p', '1',"
        " $5::jsonb, 'f', 1) returning id",
        period,
        kind,
        first,
        1 if kind == "month" else 12,
        json.dumps({"name": "p", "version": "1"}),
    )
    await conn.execute("update result_runs set month_runs = $2 where id = $1", run, [run])
    return run


@pytest.fixture
async def old_db(pg_server_dsn: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    admin = await asyncpg.connect(with_database(pg_server_dsn, "postgres"))
    await admin.execute('drop database if exists "evalsvc_rows"')
    await admin.execute('create database "evalsvc_rows"')
    conn = await asyncpg.connect(with_database(pg_server_dsn, "evalsvc_rows"))
    try:
        before = [m for m in load_migrations() if m.version < 10]
        monkeypatch.setattr(migrations, "load_migrations", lambda: before)
        await migrate(conn)
        monkeypatch.undo()
        yield conn
    finally:
        await conn.close()
        await admin.execute('drop database "evalsvc_rows" with (force)')
        await admin.close()


async def test_row_results_are_converted_to_chunks_with_the_same_numbers(
    old_db: asyncpg.Connection,
) -> None:
    conn = old_db
    month = await _old_run(conn, "month", "2026-05", date(2026, 5, 1))
    year = await _old_run(conn, "year", "2026", date(2026, 1, 1))
    await conn.execute("update result_runs set month_runs = $2 where id = $1", year, [month] * 12)
    for table, run in (("result_cadre_months", month), ("result_cadre_years", year)):
        part = f"{table}_r{run}"
        await conn.execute(f"create table {part} (like {table})")
        await conn.execute(f"alter table {table} attach partition {part} for values in ({run})")
    ids = [9, 3, 7]  # stored out of order: the chunks are in cadre_id order
    for i, cadre in enumerate(ids):
        m = math.nan if cadre == 7 else 80.0 + i
        detail = np.asarray(MONTH_DETAIL, dtype="<f8") + i
        await conn.execute(
            "insert into result_cadre_months values ($1, $2, $3, 100, $4, $5, $6, $7, $8)",
            month,
            cadre,
            date(2026, 5, 1),
            m,
            i,
            1 << i,
            i + 1,
            detail.tobytes(),
        )
        y_detail = np.asarray(YEAR_DETAIL, dtype="<f8")
        await conn.execute(
            "insert into result_cadre_years values ($1, $2, 100, $3, $4, $5, $6)",
            year,
            cadre,
            75.5 + i,
            2,
            0,
            y_detail.tobytes(),
        )

    await migrate(conn)

    for table in ("result_cadre_months", "result_cadre_years"):
        assert await conn.fetchval("select to_regclass($1)", table) is None
    months, annual = await results.cadre_rows(conn, year, 9)
    assert [r["month"] for r in months] == [date(2026, 5, 1)]
    first = months[0]
    assert (first["m"], first["level"], first["reasons"], first["n_manifestations"]) == (
        80.0,
        0,
        1,
        1,
    )
    assert (first["assigned"], first["d"]) == (30.5, None)  # NaN read as missing
    assert annual is not None
    assert (annual["y"], annual["quota_keep_rank"]) == (75.5, -1)
    assert (annual["done_share"], annual["periods_scored"]) == (0.93, 12)
    months7, _ = await results.cadre_rows(conn, month, 7)
    assert (months7[0]["m"], months7[0]["g_raw"]) == (None, 24.3 + 2)
    # A converted run is a run like any other: a second migrate has nothing to do.
    assert await migrate(conn) == []
