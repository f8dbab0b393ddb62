"""Change notes of the per-month tables (0011): what a statement notes, and which notes an
earlier snapshot did not see, whatever the order transactions committed in."""

from __future__ import annotations

import asyncpg

from evalsvc.store import input_changes, input_packs
from evalsvc.store.database import connect


async def _notes(conn: asyncpg.Connection, month: int) -> list[tuple[int, int | None]]:
    rows = await conn.fetch(
        "select tbl, cadre_id from input_changes where month = $1 order by 1, 2", month
    )
    return [(r[0], r[1]) for r in rows]


async def _totals(conn: asyncpg.Connection, month: int, cadres: range) -> None:
    await conn.execute(
        "insert into task_month_totals (cadre_id, month, records, k_assigned, k_done,"
        " k_done_quality, k_done_timely, exceeded_records, late_records)"
        " select c, $1, 1, 1, 1, 1, 1, 0, 0 from generate_series($2::int8, $3::int8) c",
        month,
        cadres.start,
        cadres.stop - 1,
    )


async def test_a_statement_notes_its_cadres_or_past_5000_the_month(
    conn: asyncpg.Connection,
) -> None:
    await _totals(conn, 209901, range(1, 4))
    assert await _notes(conn, 209901) == [(1, 1), (1, 2), (1, 3)]
    await conn.execute("update task_month_totals set k_done = 0 where month = 209901")
    assert len(await _notes(conn, 209901)) == 6  # the update notes its three again
    await _totals(conn, 209902, range(1, 5002))
    assert await _notes(conn, 209902) == [(1, None)]
    async with conn.transaction():
        await conn.execute("delete from input_changes")
    try:
        async with conn.transaction():
            await _totals(conn, 209903, range(1, 3))
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    assert await _notes(conn, 209903) == []  # rolled back with the change


async def test_changes_unseen_by_a_snapshot_are_found_in_any_commit_order(
    conn: asyncpg.Connection, db_dsn: str
) -> None:
    await _totals(conn, 209904, range(1, 2))  # committed before the snapshot: seen
    other = await connect(db_dsn)
    try:
        slow = other.transaction()
        await slow.start()
        await _totals(other, 209904, range(7, 8))  # in progress while the snapshot is taken
        snapshot: str = await conn.fetchval("select pg_current_snapshot()::text")
        await _totals(conn, 209904, range(5, 6))  # after the snapshot
        await slow.commit()
    finally:
        await other.close()
    changes = await input_changes.since(conn, 209904, snapshot)
    assert sorted(changes.cadres["task_month_totals"]) == [5, 7]
    assert changes.whole == frozenset()


async def test_a_pack_is_not_replaced_by_one_read_in_an_older_snapshot(
    conn: asyncpg.Connection,
) -> None:
    older: str = await conn.fetchval("select pg_current_snapshot()::text")
    await _totals(conn, 209905, range(1, 3))  # a transaction between the two snapshots
    newer: str = await conn.fetchval("select pg_current_snapshot()::text")
    await input_packs.put(conn, "month:T", 209905, 2, b"new", newer, forget_changes=True)
    assert await _notes(conn, 209905) == []  # the stored pack has seen them
    await input_packs.put(conn, "month:T", 209905, 1, b"old", older, forget_changes=True)
    stored = await input_packs.get_any(conn, [("month:T", 209905)])
    assert stored[("month:T", 209905)].payload == b"new"
