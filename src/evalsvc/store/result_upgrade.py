"""Convert runs stored as compressed chunks (0010) into plain rows (0020), once.

Runs at start-up after the migrations (``store.migrations.migrate``), one transaction per
run, the same numbers: each chunk column was a zstd frame of a little-endian array and
``detail`` the explanation numbers field by field (``MONTH_DETAIL`` / ``YEAR_DETAIL``
order, which the row tables keep; a run stored before the three quota fields of issue 15
gets -1 for them, "not known"). Runs stored before 0020 did not keep the organisation
they used: they get the registry as of the upgrade (one snapshot for all of them). When
no run is left in chunks, the chunk tables are dropped.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import numpy as np
import zstandard

from evalsvc.store import results

CHUNKS = (
    (
        "result_month_chunks",
        results.MONTH,
        (("cadre_id", "<i8"), ("unit_id", "<i8"), ("m", "<f8"), ("level", "<i2"),
         ("reasons", "<i4"), ("n_manifestations", "<i4")),
        results.MONTH_DETAIL,
    ),
    (
        "result_year_chunks",
        results.YEAR,
        (("cadre_id", "<i8"), ("unit_id", "<i8"), ("y", "<f8"), ("level", "<i2"),
         ("reasons", "<i4")),
        results.YEAR_DETAIL,
    ),
)  # fmt: skip


def _decode(
    rows: list[asyncpg.Record], columns: tuple[tuple[str, str], ...], detail: tuple[str, ...]
) -> tuple[dict[str, Any], int]:
    zd = zstandard.ZstdDecompressor()
    parts: dict[str, list[np.ndarray[Any, Any]]] = {name: [] for name, _ in columns}
    parts |= {name: [] for name in detail}
    for row in rows:
        k = int(row["n_cadres"])
        for name, dtype in columns:
            parts[name].append(np.frombuffer(zd.decompress(row[name]), dtype=dtype))
        numbers = np.frombuffer(zd.decompress(row["detail"]), dtype="<f8")
        fields = numbers.size // k  # older runs stored fewer fields (before issue 15's three)
        for j, name in enumerate(detail):
            column = numbers.reshape(fields, k)[j] if j < fields else np.full(k, -1.0)
            parts[name].append(column)
    arrays = {k: np.concatenate(v) if v else np.empty(0) for k, v in parts.items()}
    return arrays, len(arrays["cadre_id"])


async def convert_chunk_results(conn: asyncpg.Connection) -> int:
    """Convert every run still in chunks; return how many partitions were converted."""
    if await conn.fetchval("select to_regclass('result_month_chunks')") is None:
        return 0
    converted = 0
    async with conn.transaction():
        org_id = await results.snapshot_org(conn)
        await conn.execute("update result_runs set org_id = $1 where org_id is null", org_id)
    for chunk_table, layout, columns, detail in CHUNKS:
        parts = await conn.fetch(
            "select c.relname, i.inhrelid from pg_inherits i join pg_class c on c.oid ="
            " i.inhrelid where i.inhparent = $1::regclass order by c.relname",
            chunk_table,
        )
        for part in parts:
            run_id = int(str(part["relname"]).rsplit("_r", 1)[1])
            names = ", ".join(name for name, _ in columns)
            async with conn.transaction():
                rows = await conn.fetch(
                    f"select n_cadres, {names}, detail from {part['relname']}"
                    " order by first_cadre_id"
                )
                arrays, n = _decode(rows, columns, detail)
                cols = {name: (t, arrays[name]) for name, t in layout.columns}
                await results.write_cadres(conn, layout, run_id, cols, n)
                await conn.execute(f"drop table {part['relname']}")
            converted += 1
    await conn.execute("drop table result_month_chunks, result_year_chunks")
    return converted
