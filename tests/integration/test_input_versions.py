"""Change markers: which writes give which months a new version (0005_input_versions.sql)."""

from __future__ import annotations

import asyncio
from datetime import date

import asyncpg
import pytest

from evalsvc.domain.access import Principal, Role
from evalsvc.domain.assessments import AssessmentIn
from evalsvc.domain.cadres import CadreCreate, EmploymentSpell
from evalsvc.domain.errors import RuleViolation
from evalsvc.store.assessments import upsert_assessments
from evalsvc.store.cadres import upsert_cadres
from evalsvc.store.database import connect
from evalsvc.store.input_versions import versions
from evalsvc.store.tasks import IngestResult, ingest_stream
from tests.integration.tasks_helpers import HEADER, make_city, pieces, row

MONTHS = [202604, 202605, 202606, 202607]
ADMIN = Principal(key_id=0, role=Role.ADMIN, scope_unit_id=None)
PER_MONTH = ("task_month_totals", "supervisor_assessments", "unit_indicators")
EVERY_MONTH = (
    "cadres",
    "units",
    "peer_groups",
    "unit_outstanding_years",
    "employment_spells",
    "absences",
    "remediation_items",
    "discipline_records",
    "catalogs",
    "catalog_items",
    "ballot_rounds",
    "ballot_tallies",
)


async def ingest(conn: asyncpg.Connection, body: str) -> IngestResult:
    return await ingest_stream(
        conn, pieces(body.encode(), 4096), fmt="csv", principal=None, origin="cli"
    )


async def snapshot(conn: asyncpg.Connection) -> dict[int, int]:
    return await versions(conn, MONTHS)


def changed(before: dict[int, int], after: dict[int, int]) -> set[int]:
    return {m for m in after if after[m] != before[m]}


def assessment(month: str, politics: float = 8, cadre: str = "A1") -> AssessmentIn:
    return AssessmentIn(cadre_code=cadre, month=month, politics=politics, capacity=7, innovation=6)


def cadre(
    name: str = "Nguyễn Văn A", code: str = "A1", unit: str = "DEP-A", **kw: object
) -> CadreCreate:
    return CadreCreate(
        code=code,
        full_name=name,
        personnel_type="cong_chuc",
        position="staff",
        unit_code=unit,
        **kw,  # type: ignore[arg-type]
    )


async def test_versions_of_months_never_changed_read_zero(conn: asyncpg.Connection) -> None:
    assert await versions(conn, [202605, 202601]) == {0: 0, 202601: 0, 202605: 0}
    await make_city(conn)
    got = await versions(conn, [202605])
    assert got[202605] == 0
    assert got[0] > 0


async def test_a_task_batch_bumps_exactly_its_months_and_a_resend_bumps_nothing(
    conn: asyncpg.Connection,
) -> None:
    await make_city(conn)
    body = HEADER + row("e1") + row("e2", "A2") + row("e3", "B1", month="2026-06")
    start = await snapshot(conn)
    await ingest(conn, body)
    after_first = await snapshot(conn)
    assert changed(start, after_first) == {202605, 202606}
    assert after_first[202605] == after_first[202606]  # one version per transaction

    # The same batch again: every row is unchanged, task_month_totals is not written.
    again = await ingest(conn, body)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert await snapshot(conn) == after_first

    # A correction moving e1 from May to July: both months, not June.
    await ingest(conn, HEADER + row("e1", month="2026-07") + row("e2", "A2"))
    after_fix = await snapshot(conn)
    assert changed(after_first, after_fix) == {202605, 202607}
    assert after_fix[202605] > after_first[202605]

    # Another product code leaves the totals equal, but the totals row is rewritten: bumped.
    await ingest(conn, HEADER + row("e2", "A2", product="P2"))
    assert changed(after_fix, await snapshot(conn)) == {202605}


async def test_a_batch_that_is_refused_leaves_versions_unchanged(
    conn: asyncpg.Connection,
) -> None:
    await make_city(conn)
    start = await snapshot(conn)
    with pytest.raises(RuleViolation):
        await ingest(conn, HEADER + row("e1") + row("e2", "NOBODY"))
    assert await snapshot(conn) == start
    assert await conn.fetchval("select count(*) from input_versions_pending") == 0


async def test_an_assessment_upsert_bumps_its_month_and_an_identical_resend_does_not(
    conn: asyncpg.Connection,
) -> None:
    await make_city(conn)
    start = await snapshot(conn)
    await upsert_assessments(conn, [assessment("2026-05")], ADMIN)
    first = await snapshot(conn)
    assert changed(start, first) == {202605}
    summary = await upsert_assessments(conn, [assessment("2026-05")], ADMIN)
    assert summary.unchanged == 1
    assert await snapshot(conn) == first
    await upsert_assessments(conn, [assessment("2026-05", politics=9)], ADMIN)
    assert changed(first, await snapshot(conn)) == {202605}


async def test_a_cadre_upsert_bumps_month_zero_only(conn: asyncpg.Connection) -> None:
    await make_city(conn)
    start = await snapshot(conn)
    await upsert_cadres(conn, [cadre("Nguyễn Văn Mới")], ADMIN)
    first = await snapshot(conn)
    assert changed(start, first) == {0}
    # Unchanged fields: the upsert's `where ... is distinct from` skips the row.
    await upsert_cadres(conn, [cadre("Nguyễn Văn Mới")], ADMIN)
    assert await snapshot(conn) == first


async def test_a_cadre_resend_with_employment_lists_bumps_month_zero(
    conn: asyncpg.Connection,
) -> None:
    """Sent lists are replaced (delete + insert) even when equal: a conservative bump."""
    await make_city(conn)
    spells = [EmploymentSpell(start=date(2020, 1, 1))]
    summary = await upsert_cadres(conn, [cadre(employment=spells)], ADMIN)
    assert summary.updated == 1
    first = await snapshot(conn)
    summary = await upsert_cadres(conn, [cadre(employment=spells)], ADMIN)
    assert summary.unchanged == 1
    assert changed(first, await snapshot(conn)) == {0}


async def test_a_rolled_back_transaction_leaves_versions_unchanged(
    conn: asyncpg.Connection,
) -> None:
    await make_city(conn)
    start = await snapshot(conn)

    async def write_then_fail() -> None:
        async with conn.transaction():
            await upsert_assessments(conn, [assessment("2026-05")], ADMIN)
            await conn.execute("update cadres set full_name = 'X' where code = 'A1'")
            raise RuntimeError("abandon")

    with pytest.raises(RuntimeError, match="abandon"):
        await write_then_fail()
    assert await snapshot(conn) == start
    assert await conn.fetchval("select count(*) from input_versions_pending") == 0


async def test_a_rolled_back_savepoint_drops_only_its_months(conn: asyncpg.Connection) -> None:
    await make_city(conn)
    start = await snapshot(conn)

    async def write_then_fail() -> None:
        async with conn.transaction():
            await upsert_assessments(conn, [assessment("2026-07")], ADMIN)
            raise RuntimeError("abandon the savepoint")

    async with conn.transaction():
        await upsert_assessments(conn, [assessment("2026-05")], ADMIN)
        with pytest.raises(RuntimeError, match="abandon"):
            await write_then_fail()
    assert changed(start, await snapshot(conn)) == {202605}


async def test_deleting_rows_bumps(conn: asyncpg.Connection) -> None:
    await make_city(conn)
    await ingest(conn, HEADER + row("e1") + row("e3", "B1", month="2026-06"))
    await conn.execute(
        "insert into absences (cadre_id, kind, start_date, end_date) "
        "select id, 'sick', '2026-05-01', '2026-05-31' from cadres where code = 'A1'"
    )
    start = await snapshot(conn)
    await conn.execute("delete from task_month_totals where month = 202606")
    after_totals = await snapshot(conn)
    assert changed(start, after_totals) == {202606}
    await conn.execute("delete from absences")
    assert changed(after_totals, await snapshot(conn)) == {0}


async def test_statements_that_change_no_row_do_not_bump(conn: asyncpg.Connection) -> None:
    await make_city(conn)
    await upsert_assessments(conn, [assessment("2026-05")], ADMIN)
    start = await snapshot(conn)
    for table in (*PER_MONTH, *EVERY_MONTH):
        await conn.execute(f"update {table} set {await _some_column(conn, table)} where false")
        await conn.execute(f"delete from {table} where false")
        await conn.execute(
            f"insert into {table} overriding system value select * from {table} where false"
        )
    await conn.execute("update supervisor_assessments set politics = 1 where month = 209901")
    assert await snapshot(conn) == start


async def _some_column(conn: asyncpg.Connection, table: str) -> str:
    name = await conn.fetchval(
        "select attname from pg_attribute where attrelid = $1::regclass and attnum > 0 "
        "and not attisdropped and attidentity = '' order by attnum limit 1",
        table,
    )
    return f"{name} = {name}"


async def test_an_update_that_moves_a_row_bumps_its_old_and_new_month(
    conn: asyncpg.Connection,
) -> None:
    await make_city(conn)
    await upsert_assessments(conn, [assessment("2026-05")], ADMIN)
    start = await snapshot(conn)
    await conn.execute("update supervisor_assessments set month = 202604 where month = 202605")
    assert changed(start, await snapshot(conn)) == {202604, 202605}


async def test_truncate_bumps_month_zero(conn: asyncpg.Connection) -> None:
    await make_city(conn)
    await ingest(conn, HEADER + row("e1"))
    start = await snapshot(conn)
    await conn.execute("truncate task_records, task_month_totals, task_batches")
    assert changed(start, await snapshot(conn)) == {0}


async def test_an_open_writer_does_not_hold_up_another_writer_of_the_same_month(
    conn: asyncpg.Connection, db_dsn: str
) -> None:
    """Markers are written at commit: a long transaction (a task ingest) locks no marker row
    until then, and the new version is visible only once its data is."""
    await make_city(conn)
    other = await connect(db_dsn)
    try:
        start = await snapshot(conn)
        long = conn.transaction()
        await long.start()
        try:
            await upsert_assessments(conn, [assessment("2026-05", cadre="A1")], ADMIN)
            await conn.execute("update cadres set full_name = 'X' where code = 'A1'")
            await other.execute("set lock_timeout = '5s'")
            await asyncio.wait_for(
                upsert_assessments(other, [assessment("2026-05", cadre="A2")], ADMIN), 10
            )
            await upsert_cadres(other, [cadre("Y", "B1", "DEP-B")], ADMIN)
            mid = await versions(other, MONTHS)
            assert changed(start, mid) == {0, 202605}
        finally:
            await long.commit()
        end = await snapshot(conn)
        assert changed(mid, end) == {0, 202605}
        assert end[0] == end[202605]
    finally:
        await other.close()


async def test_the_marked_tables_are_exactly_the_listed_ones(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(
        """
        select c.relname, count(*) as triggers
        from pg_trigger t join pg_class c on c.oid = t.tgrelid
        where t.tgname ~ '_versions_(insert|update|delete|truncate)$'
        group by c.relname
        """
    )
    assert {r["relname"]: r["triggers"] for r in rows} == dict.fromkeys(
        (*PER_MONTH, *EVERY_MONTH), 4
    )
    assert "confidence_votes" not in {r["relname"] for r in rows}
