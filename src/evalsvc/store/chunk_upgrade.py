"""Convert cadre results stored one row per cadre (0004) to column chunks (0010).

Runs after the SQL migrations, under their lock: each run's row partition becomes a chunk
partition in one transaction (rows read, encoded, written, the old partition dropped), so
an interrupted upgrade resumes with the runs left. When none is left the row tables are
dropped. Earlier runs stay readable for appeals, with the same numbers.
"""

from __future__ import annotations

import logging
import time

import asyncpg
import numpy as np

from evalsvc.store import cadre_chunks
from evalsvc.store.results import MONTH, YEAR

log = logging.getLogger(__name__)

# Row table -> (its chunk layout, its columns besides run_id and month).
_ROW_TABLES = {
    "result_cadre_months": (MONTH, "cadre_id, unit_id, m, level, reasons, n_manifestations"),
    "result_cadre_years": (YEAR, "cadre_id, unit_id, y, level, reasons"),
}


async def convert_row_results(conn: asyncpg.Connection) -> int:
    """Convert every run still stored as rows; returns how many partitions were converted.

    About 0.7 s per city-wide run on a 2-core machine; each one is logged.
    """
    converted = 0
    if await conn.fetchval("select to_regclass('result_month_chunks')") is None:
        return 0  # the chunk tables come with 0010
    for table, (layout, columns) in _ROW_TABLES.items():
        if await conn.fetchval("select to_regclass($1)", table) is None:
            continue
        parts = await conn.fetch(
            "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid"
            " where i.inhparent = $1::regclass order by c.relname",
            table,
        )
        for done, part in enumerate(parts, 1):
            name = str(part["relname"])
            run_id = int(name.rsplit("_r", 1)[1])
            started = time.perf_counter()
            async with conn.transaction():
                await _convert(conn, layout, name, columns, run_id)
            converted += 1
            log.info(
                "result run %d: %s converted to chunks (%d of %d, %.2f s)",
                run_id,
                table,
                done,
                len(parts),
                time.perf_counter() - started,
            )
        async with conn.transaction():
            await conn.execute(f"drop table {table}")
    return converted


async def _convert(
    conn: asyncpg.Connection, layout: cadre_chunks.Layout, part: str, columns: str, run_id: int
) -> None:
    rows = await conn.fetch(f"select {columns}, detail from {part} order by cadre_id")
    n = len(rows)
    names = [c.strip() for c in columns.split(",")]
    values = {
        name: ("", np.array([r[i] for r in rows], dtype=dict(layout.columns)[name]))
        for i, name in enumerate(names)
    }
    detail = np.frombuffer(b"".join(r["detail"] for r in rows), dtype="<f8")
    want = len(layout.detail_fields)
    stored = detail.reshape(n, -1) if n else detail.reshape(0, want)
    if stored.shape[1] < want:  # fields appended since (year: agency, quota cap): NaN
        stored = np.hstack([stored, np.full((n, want - stored.shape[1]), np.nan)])
    values["detail"] = ("", stored)
    await cadre_chunks.write(conn, layout, run_id, values, n)
    await conn.execute(f"drop table {part}")
