"""A year takes unchanged months from month runs without reading them again (0100).

Each test compares the year that took months with one that read every month again (a
change note for every month forces that): the ratings must be identical.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import numpy as np
import pytest
import zstandard

from evalsvc.democity.city import load_demo
from evalsvc.domain.access import SYSTEM
from evalsvc.domain.recompute import RecomputeRequest, parse_period
from evalsvc.jobs import carries, inputs
from evalsvc.jobs.recompute import recompute
from evalsvc.scoring import PROFILES, score_month
from evalsvc.scoring.carry import carry_month
from evalsvc.scoring.units import ancestor_matrix, score_units_month
from evalsvc.store.database import connect
from evalsvc.store.results import MONTH
from tests.integration import cadre_results
from tests.integration.test_recompute import _add_task_data, _annual, _month_runs, _months


async def _task_rows(conn: asyncpg.Connection, yyyymm: int | None = None) -> int:
    n: int = await conn.fetchval(
        "select count(*) from task_month_totals where $1::int is null or month = $1", yyyymm
    )
    return n


async def _full_read_year(conn: asyncpg.Connection) -> Any:
    """The year again, every month read (a note that every month changed)."""
    await conn.execute("insert into input_month_changes (tbl, month) values ('test', null)")
    job = await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
    assert job.counts["task_month_totals"] == await _task_rows(conn)
    return job


async def test_a_year_of_unchanged_months_reads_none_of_them(conn: asyncpg.Connection) -> None:
    await load_demo(conn)
    await _add_task_data(conn)
    first = await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
    assert first.counts["task_month_totals"] == await _task_rows(conn)
    assert first.counts["months_reused"] == 0
    second = await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
    assert second.state == "succeeded", second.error
    assert second.counts["task_month_totals"] == 0  # no month's rows read
    assert second.counts["months_reused"] == 12
    assert second.counts["rows_cadre_months"] == 0
    assert await _month_runs(conn, second.run_id) == await _month_runs(conn, first.run_id)  # type: ignore[arg-type]
    read = await _full_read_year(conn)
    assert await _annual(conn, second.run_id) == await _annual(conn, read.run_id)  # type: ignore[arg-type]
    assert await _annual(conn, second.run_id) == await _annual(conn, first.run_id)  # type: ignore[arg-type]


async def test_a_month_changed_by_plain_sql_is_read_and_scored_again(
    conn: asyncpg.Connection,
) -> None:
    await load_demo(conn)
    await _add_task_data(conn)
    first = await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
    before = await _month_runs(conn, first.run_id)  # type: ignore[arg-type]
    cadre = await conn.fetchval("select cadre_id from task_month_totals order by 1 limit 1")
    # What a DBA might do: a direct update, past every evalsvc write path.
    await conn.execute(
        "update task_month_totals set k_done = 0, k_done_quality = 0, k_done_timely = 0"
        " where cadre_id = $1 and month = 202607",
        cadre,
    )
    second = await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
    assert second.counts["months_reused"] == 11
    assert second.counts["task_month_totals"] == await _task_rows(conn, 202607)  # July only
    after = await _month_runs(conn, second.run_id)  # type: ignore[arg-type]
    assert [i for i in range(12) if after[i] != before[i]] == [6]
    july_before = await cadre_results.row(conn, MONTH, before[6], cadre)
    july_after = await cadre_results.row(conn, MONTH, after[6], cadre)
    assert july_after["done"] == 0 != july_before["done"]
    read = await _full_read_year(conn)
    assert await _annual(conn, second.run_id) == await _annual(conn, read.run_id)  # type: ignore[arg-type]
    assert await _months(conn, second.run_id) == await _months(conn, read.run_id)  # type: ignore[arg-type]


async def test_a_month_read_again_and_found_unchanged_is_taken_by_the_next_year(
    conn: asyncpg.Connection,
) -> None:
    """A write that changes nothing (July's totals set to themselves) leaves a note: the
    next year reads July, finds the same fingerprint and keeps July's run; the year after
    takes July without reading it again."""
    await load_demo(conn)
    await _add_task_data(conn)
    first = await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
    before = await _month_runs(conn, first.run_id)  # type: ignore[arg-type]
    await conn.execute("update task_month_totals set k_done = k_done where month = 202607")
    second = await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
    assert second.counts["task_month_totals"] == await _task_rows(conn, 202607)
    assert second.counts["rows_cadre_months"] == 0
    assert await _month_runs(conn, second.run_id) == before  # type: ignore[arg-type]
    third = await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
    assert third.counts["task_month_totals"] == 0
    assert third.counts["months_reused"] == 12
    assert await _annual(conn, third.run_id) == await _annual(conn, first.run_id)  # type: ignore[arg-type]


async def test_a_snapshot_of_another_cluster_is_not_trusted(conn: asyncpg.Connection) -> None:
    """Restored from pg_dump into another cluster, or into an older copy of this one, the
    stored snapshots compare with transaction ids of another history: no month is taken
    on their word."""
    await load_demo(conn)
    await _add_task_data(conn)
    await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
    for forged in (
        "update result_runs set read_cluster = 'another cluster'",
        # an older copy of this cluster: its transaction ids are behind the snapshot's
        "update result_runs set read_snapshot = '900000000:900000000:'",
    ):
        await conn.execute(forged)
        again = await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
        assert again.counts["task_month_totals"] == await _task_rows(conn), forged
        assert again.counts["rows_cadre_months"] == 0  # the fingerprints still match
        taken = await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
        assert taken.counts["task_month_totals"] == 0  # read again here: this cluster's now


async def test_unchanged_rows_with_a_changed_registry_are_read_again(
    conn: asyncpg.Connection,
) -> None:
    """The per-month rows are the same but a cadre moved: every month's fingerprint
    differs, so no month is taken (each is read, scored and written again)."""
    await load_demo(conn)
    await _add_task_data(conn)
    first = await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
    before = set(await _month_runs(conn, first.run_id))  # type: ignore[arg-type]
    await conn.execute(
        "update cadres set peer_group_id = null where id = (select min(id) from cadres"
        " where peer_group_id is not null)"
    )
    second = await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
    assert second.counts["months_reused"] == 0
    assert second.counts["task_month_totals"] == await _task_rows(conn)
    assert not set(await _month_runs(conn, second.run_id)) & before  # type: ignore[arg-type]


async def test_a_write_in_flight_while_a_month_run_reads_is_seen_by_the_next_year(
    conn: asyncpg.Connection, db_dsn: str
) -> None:
    """A change committed after a month run read (it was in progress then) is not in that
    run: the next year reads the month again instead of taking it."""
    await load_demo(conn)
    await _add_task_data(conn)
    await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
    cadre = await conn.fetchval("select cadre_id from task_month_totals order by 1 limit 1")
    other = await connect(db_dsn)
    try:
        tx = other.transaction()
        await tx.start()
        await other.execute(
            "update task_month_totals set k_done = 0, k_done_quality = 0, k_done_timely = 0"
            " where cadre_id = $1 and month = 202607",
            cadre,
        )
        july = await recompute(conn, RecomputeRequest(period="2026-07"), SYSTEM)
        await tx.commit()
    finally:
        await other.close()
    old = await cadre_results.row(conn, MONTH, july.run_id, cadre)
    assert old["done"] != 0  # the month run read before the change was committed
    year = await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
    assert year.counts["months_reused"] == 11
    source = (await _month_runs(conn, year.run_id))[6]  # type: ignore[arg-type]
    assert source != july.run_id
    assert (await cadre_results.row(conn, MONTH, source, cadre))["done"] == 0


async def test_a_month_carry_survives_storage(conn: asyncpg.Connection) -> None:
    await load_demo(conn)
    await _add_task_data(conn)
    profile = PROFILES["nd335"]
    city = await inputs.read_city(conn, parse_period("2026-05"), profile)
    org, year = city.org, city.year
    month = year.periods[0]
    r = score_month(org, month, profile, year.remediation)
    um = score_units_month(
        org,
        month,
        r,
        profile,
        year.remediation,
        year.unit_remediation,
        ancestor_matrix(org.unit_parent),
    )
    carry = carry_month(month, r, um)
    back = carries.from_bytes(carries.to_bytes(carry))

    def arrays(c: Any, prefix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in c.__dataclass_fields__:
            v = getattr(c, name)
            if hasattr(v, "__dataclass_fields__"):
                out |= arrays(v, f"{prefix}{name}.")
            else:
                out[prefix + name] = v
        return out

    a, b = arrays(carry), arrays(back)
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]), err_msg=key)
        assert np.asarray(a[key]).dtype == np.asarray(b[key]).dtype, key
    with pytest.raises(ValueError, match="not a month carry"):
        carries.from_bytes(_npz(x=np.zeros(3)))
    with pytest.raises(ValueError, match="not a month carry"):
        carries.from_bytes(b"not zstd")


def _npz(**arrays: Any) -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return zstandard.ZstdCompressor().compress(buf.getvalue())
