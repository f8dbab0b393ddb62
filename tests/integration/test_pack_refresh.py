"""Month packs kept current after imports (``jobs/pack_refresh.py``)."""

from __future__ import annotations

import asyncio
from datetime import date

import asyncpg
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from evalsvc.api.app import create_app
from evalsvc.domain.recompute import RecomputeRequest
from evalsvc.jobs import pack_refresh, reading
from evalsvc.jobs.demo import SYSTEM, load_demo
from evalsvc.jobs.recompute import recompute
from evalsvc.settings import Settings
from tests.integration.tasks_helpers import HEADER, make_city, row
from tests.integration.test_recompute import _add_task_data, _months

MAY = date(2026, 5, 1)
MAY_NOTES = "select count(*) from input_changes where month = 202605"


async def test_a_month_changed_in_bulk_is_packed_again_for_the_next_run(
    conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A month never packed, or changed in at least ``REPACK_AFTER`` cadres, is read and
    packed at its new version: the next run unpacks it, with the results of reading every
    row. A correction of fewer cadres is left to the runs' patching."""
    await load_demo(conn)
    await _add_task_data(conn)
    packed = await pack_refresh.refresh(conn)
    assert len(packed) == 12  # every month noted, none packed yet
    assert MAY in packed
    may = RecomputeRequest(period="2026-05")
    first = await recompute(conn, may, SYSTEM)
    assert (first.counts["inputs_from_packs"], first.counts["inputs_patched"]) == (1, 0)
    assert await pack_refresh.refresh(conn) == []  # nothing changed since

    monkeypatch.setattr(reading, "REPACK_AFTER", 3)
    one = "update task_month_totals set k_done = k_done - 1 where month = 202605 and cadre_id = $1"
    await conn.execute(one, await conn.fetchval("select min(id) from cadres"))
    assert await pack_refresh.refresh(conn) == []  # one cadre: the next run patches
    assert await conn.fetchval(MAY_NOTES) > 0

    await conn.execute("update task_month_totals set k_done = k_done * 3 / 4 where month = 202605")
    assert await pack_refresh.refresh(conn) == [MAY]
    assert await conn.fetchval(MAY_NOTES) == 0  # the new pack has seen them
    bulk = await recompute(conn, may, SYSTEM)
    assert (bulk.counts["inputs_from_packs"], bulk.counts["inputs_patched"]) == (3, 0)

    await conn.execute("delete from input_packs")
    read = await recompute(conn, may, SYSTEM)
    assert read.counts["inputs_from_packs"] == 0
    assert read.run_id is not None
    assert bulk.run_id is not None
    assert await _months(conn, bulk.run_id) == await _months(conn, read.run_id)


async def test_an_upload_over_http_leaves_its_month_packed(
    client: AsyncTestClient,  # type: ignore[type-arg]
    conn: asyncpg.Connection,
    admin_headers: dict[str, str],
) -> None:
    """The upload answers first; the service packs the month in the background."""
    await make_city(conn)
    body = HEADER + row("e1", "A1") + row("e2", "A2")
    response = await client.post(
        "/tasks/batches", content=body, headers=admin_headers | {"Content-Type": "text/csv"}
    )
    assert response.status_code == 201, response.text
    await _may_alone_gets_packed(conn)


async def test_serve_packs_months_changed_by_plain_sql(
    settings: Settings, db_dsn: str, conn: asyncpg.Connection
) -> None:
    """Rows written behind evalsvc's back are noted by the triggers; the service's look-out
    packs their month within ``pack_refresh_seconds``."""
    await make_city(conn)
    app = create_app(msgspec.structs.replace(settings, pack_refresh_seconds=0.05), db_dsn)
    async with AsyncTestClient(app=app):
        await conn.execute(
            "insert into task_month_totals (cadre_id, month, records, k_assigned, k_done, "
            "k_done_quality, k_done_timely, exceeded_records, late_records) "
            "select id, 202605, 1, 1000000, 1000000, 1000000, 1000000, 0, 0 from cadres"
        )
        await _may_alone_gets_packed(conn)


async def _may_alone_gets_packed(conn: asyncpg.Connection) -> None:
    """Wait (5 s at most) for the app, on its own loop, to pack May: then May alone is
    packed and its notes are forgotten."""
    for _ in range(500):
        if await conn.fetchval("select count(*) from input_packs"):
            break
        await asyncio.sleep(0.01)
    kinds = await conn.fetch("select kind, year from input_packs")
    assert [(k.split(":")[0], y) for k, y in kinds] == [("month", 202605)]
    assert await conn.fetchval(MAY_NOTES) == 0
