"""Task ingestion through the store path shared by the HTTP endpoint and the CLI."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from evalsvc.domain.errors import InvalidInput, RuleViolation
from evalsvc.store.tasks import ingest_stream
from tests.integration.tasks_helpers import HEADER, make_city, pieces, recount, row, stored_totals


async def ingest(conn: asyncpg.Connection, body: str | bytes, fmt: str = "csv", **kw: object):  # type: ignore[no-untyped-def]
    data = body.encode() if isinstance(body, str) else body
    return await ingest_stream(
        conn,
        pieces(data),
        fmt=fmt,
        principal=None,
        origin="cli",
        **kw,  # type: ignore[arg-type]
    )


async def count(conn: asyncpg.Connection, table: str = "task_records") -> int:
    return int(await conn.fetchval(f"select count(*) from {table}"))


async def test_insert_then_resend_changes_nothing(conn: asyncpg.Connection) -> None:
    await make_city(conn)
    body = HEADER + row("e1") + row("e2", "A2", ec="1") + row("e3", "B1", month="2026-06")
    first = await ingest(conn, body)
    assert (first.rows, first.inserted, first.updated, first.unchanged) == (3, 3, 0, 0)
    before = await stored_totals(conn)
    records = await conn.fetch("select * from task_records order by external_id")
    again = await ingest(conn, body)
    assert (again.rows, again.inserted, again.updated, again.unchanged) == (3, 0, 0, 3)
    assert await stored_totals(conn) == before == await recount(conn)
    assert await conn.fetch("select * from task_records order by external_id") == records


async def test_a_session_that_used_temporary_tables_still_ingests(
    conn: asyncpg.Connection,
) -> None:
    """A pooled connection that served another upload's temporary table first cannot change
    temp_buffers any more (this was a 500 for every task upload on such a connection)."""
    await make_city(conn)
    async with conn.transaction():
        await conn.execute("create temp table earlier_upload (k text) on commit drop")
        await conn.execute("insert into earlier_upload values ('x')")  # local buffers now set
    done = await ingest(conn, HEADER + row("e1") + row("e2", "A2"))
    assert (done.rows, done.inserted) == (2, 2)
    again = await ingest(conn, HEADER + row("e1") + row("e2", "A2"))
    assert (again.rows, again.unchanged) == (2, 2)


async def test_correction_replaces_and_moves_totals(conn: asyncpg.Connection) -> None:
    await make_city(conn)
    await ingest(conn, HEADER + row("e1", done="8") + row("e2", dc="2"))
    a1 = await conn.fetchval("select id from cadres where code = 'A1'")
    assert (await stored_totals(conn))[(a1, 202605)][:3] == (2, 20_000_000, 16_000_000)
    # e1 corrected and moved to another cadre and month; e2 unchanged.
    result = await ingest(
        conn, HEADER + row("e1", "B1", month="2026-06", done="10") + row("e2", dc="2")
    )
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 1)
    stored = await stored_totals(conn)
    b1 = await conn.fetchval("select id from cadres where code = 'B1'")
    assert stored[(a1, 202605)][:3] == (1, 10_000_000, 8_000_000)
    assert stored[(b1, 202606)][:3] == (1, 10_000_000, 10_000_000)
    assert stored == await recount(conn)
    assert await count(conn) == 2


async def test_aggregates_match_recount_over_random_batches(conn: asyncpg.Connection) -> None:
    import random

    await make_city(conn)
    rnd = random.Random(7)
    for _ in range(6):
        lines = []
        for i in rnd.sample(range(60), 40):
            assigned = rnd.choice([0, 1, 3, 10, 12.5])
            exceeded = rnd.random() < 0.2
            done = assigned * rnd.choice([0, 0.5, 1]) + (2 if exceeded else 0)
            eo = rnd.choice([0, 0, 1])
            lines.append(
                row(
                    f"x{i}",
                    rnd.choice(["A1", "A2", "B1"]),
                    month=rnd.choice(["2026-05", "2026-06"]),
                    k=str(rnd.choice([0.5, 1, 1.5, 2, 0.3])),
                    assigned=str(assigned),
                    done=str(done),
                    exceeded="true" if exceeded else "false",
                    ec=str(rnd.choice([0, 1, 2, 5])),
                    eo=str(eo),
                    ecb="Trưởng phòng" if eo else "",
                    dc=str(rnd.choice([0, 1, 3])),
                )
            )
        await ingest(conn, HEADER + "".join(lines))
        assert await stored_totals(conn) == await recount(conn)
    # and the unchanged re-send of the last batch
    await ingest(conn, HEADER + "".join(lines))
    assert await stored_totals(conn) == await recount(conn)


async def test_worked_example_of_domain_part_6(conn: asyncpg.Connection) -> None:
    await make_city(conn)
    body = (
        HEADER
        + row("a", k="2", assigned="1", done="1", ec="1")
        + row("b", k="1", assigned="1", done="1", dc="2")
        + row("c", k="1", assigned="17", done="15")
    )
    await ingest(conn, body)
    t = await conn.fetchrow("select * from task_month_totals")
    assert t["k_assigned"] == 20_000_000
    assert t["k_done"] == 18_000_000
    assert t["k_done_quality"] / t["k_assigned"] == pytest.approx(0.875)
    assert t["k_done_timely"] / t["k_assigned"] == pytest.approx(0.875)
    assert t["late_records"] == 1


@pytest.mark.parametrize(
    ("line", "field", "reason"),
    [
        (row("e", "NOPE"), "cadre_code", "no cadre"),
        (row("e", k="0"), "k", "greater than 0"),
        (row("e", k="-1.5"), "k", "greater than 0"),
        (row("e", assigned="-1"), "assigned", "0 or more"),
        (row("e", done="11"), "done", "not marked exceeded"),
        (row("e", month="2026-13"), "month", "YYYY-MM"),
        (row("e", month="05/2026"), "month", "YYYY-MM"),
        (row("e", eo="1"), "errors_confirmed_by", "who confirmed"),
        (row("e", do="2"), "delays_confirmed_by", "who confirmed"),
        (row("e", dc="-1"), "delays_counted", "0 or more"),
        (row("e", k="abc"), "k", "not a number"),
        (row("e", k="nan"), "k", "finite"),
        (row(""), "external_id", "required"),
    ],
)
async def test_bad_row_rejects_whole_batch(
    conn: asyncpg.Connection, line: str, field: str, reason: str
) -> None:
    await make_city(conn)
    with pytest.raises((RuleViolation, InvalidInput)) as info:
        await ingest(conn, HEADER + row("ok1") + line + row("ok2"))
    problems = info.value.problems
    assert any(p.field == field and reason in p.reason and p.row == 2 for p in problems), problems
    assert await count(conn) == 0
    assert await count(conn, "task_month_totals") == 0
    assert await count(conn, "task_batches") == 0


async def test_done_above_assigned_is_fine_when_exceeded(conn: asyncpg.Connection) -> None:
    await make_city(conn)
    result = await ingest(conn, HEADER + row("e", done="12", exceeded="true"))
    assert result.inserted == 1
    assert await conn.fetchval("select exceeded_records from task_month_totals") == 1


async def test_errors_are_capped_and_name_rows(conn: asyncpg.Connection) -> None:
    from evalsvc.domain.errors import MAX_REPORTED_PROBLEMS

    await make_city(conn)
    body = HEADER + "".join(row(f"e{i}", k="0") for i in range(MAX_REPORTED_PROBLEMS + 50))
    with pytest.raises(RuleViolation) as info:
        await ingest(conn, body)
    assert len(info.value.problems) == MAX_REPORTED_PROBLEMS
    assert [p.row for p in info.value.problems[:3]] == [1, 2, 3]
    assert "150 problem(s)" in info.value.detail


async def test_non_utf8_stores_nothing(conn: asyncpg.Connection) -> None:
    await make_city(conn)
    body = (
        HEADER + row("e1") + row("e2")
    ).encode() + b"hr,e3,A1,2026-05,P\xff,1,1,1,false,0,0,,0,0,\n"
    with pytest.raises(InvalidInput) as info:
        await ingest(conn, body)
    assert info.value.problems[0].row == 3
    assert "UTF-8" in info.value.problems[0].reason
    assert await count(conn) == 0


async def test_truncated_last_line_stores_nothing(conn: asyncpg.Connection) -> None:
    await make_city(conn)
    body = HEADER + row("e1") + row("e2")
    with pytest.raises(InvalidInput, match="truncated"):
        await ingest(conn, body[:-4])
    with pytest.raises(InvalidInput, match="truncated"):
        await ingest(conn, body[:-1])  # even a complete-looking last row needs its line break
    assert await count(conn) == 0


async def test_repeated_key_in_one_batch_is_rejected(conn: asyncpg.Connection) -> None:
    await make_city(conn)
    with pytest.raises(RuleViolation) as info:
        await ingest(conn, HEADER + row("e1") + row("e2") + row("e1", done="3"))
    assert {p.row for p in info.value.problems} == {1, 3}
    assert await count(conn) == 0


async def test_unknown_and_missing_columns_are_400(conn: asyncpg.Connection) -> None:
    await make_city(conn)
    with pytest.raises(InvalidInput) as info:
        await ingest(conn, "external_id,cadre_code,month,colour\n")
    fields = {p.field for p in info.value.problems}
    assert {"colour", "k", "assigned", "done", "product_code", "source_system"} <= fields


async def test_default_source_and_optional_columns(conn: asyncpg.Connection) -> None:
    await make_city(conn)
    body = "external_id,cadre_code,month,product_code,k,assigned,done\ne1,A1,2026-05,P,1,2,2\n"
    result = await ingest(conn, body, default_source="dms")
    assert result.inserted == 1
    assert await conn.fetchval("select source_system from task_records") == "dms"


async def test_quoted_fields_and_crlf(conn: asyncpg.Connection) -> None:
    await make_city(conn)
    body = (
        HEADER.replace("\n", "\r\n")
        + 'hr,"e,1",A1,2026-05,"P ""x""",1,2,2,false,0,1,"Nguyễn Văn A",0,0,\r\n'
    )
    await ingest(conn, body)
    r = await conn.fetchrow("select * from task_records")
    assert (r["external_id"], r["product_code"], r["errors_confirmed_by"]) == (
        "e,1",
        'P "x"',
        "Nguyễn Văn A",
    )


async def test_ndjson_and_json_array(conn: asyncpg.Connection) -> None:
    await make_city(conn)
    line = (
        '{"source_system":"dms","external_id":"j%d","cadre_code":"A2","month":"2026-05",'
        '"product_code":"P","k":1.5,"assigned":4,"done":4,"delays_counted":1}\n'
    )
    body = "".join(line % i for i in range(5))
    assert (await ingest(conn, body, "ndjson")).inserted == 5
    array = "[" + ",".join(line.strip() % i for i in range(5, 8)) + "]"
    assert (await ingest(conn, array, "json")).inserted == 3
    assert await stored_totals(conn) == await recount(conn)


async def test_ndjson_unknown_field_and_wrong_type_are_400(conn: asyncpg.Connection) -> None:
    await make_city(conn)
    good = (
        '{"source_system":"d","external_id":"j","cadre_code":"A2","month":"2026-05",'
        '"product_code":"P","k":1,"assigned":4,"done":4}\n'
    )
    bad = good.replace('"k":1', '"k":"one"')
    extra = good.replace('"k":1', '"k":1,"colour":"red"')
    with pytest.raises(InvalidInput) as info:
        await ingest(conn, good + bad + extra, "ndjson")
    assert {(p.row, p.field) for p in info.value.problems} == {(2, "k"), (3, "colour")}
    assert await count(conn) == 0


async def test_scoped_caller_cannot_write_other_subtree(conn: asyncpg.Connection) -> None:
    from evalsvc.domain.access import Principal, Role

    await make_city(conn)
    dep_a = await conn.fetchval("select id from units where code = 'DEP-A'")
    hr = Principal(key_id=0, role=Role.HR_SYSTEM, scope_unit_id=dep_a)
    data = (HEADER + row("e1", "A1")).encode()
    await ingest_stream(conn, pieces(data), fmt="csv", principal=hr, origin="cli")
    data = (HEADER + row("e2", "A2") + row("e3", "B1")).encode()
    with pytest.raises(RuleViolation) as outside:  # as for a code that does not exist
        await ingest_stream(conn, pieces(data), fmt="csv", principal=hr, origin="cli")
    assert [(p.row, p.field, p.reason) for p in outside.value.problems] == [
        (2, "cadre_code", "no cadre with code 'B1'")
    ]
    # nor move one of its records to a cadre outside the subtree
    data = (HEADER + row("e1", "B1")).encode()
    with pytest.raises(RuleViolation):
        await ingest_stream(conn, pieces(data), fmt="csv", principal=hr, origin="cli")
    # nor replace another subtree's record by its key
    await ingest_stream(
        conn, pieces((HEADER + row("e9", "B1")).encode()), fmt="csv", principal=None, origin="cli"
    )
    with pytest.raises(RuleViolation) as taken:
        await ingest_stream(
            conn, pieces((HEADER + row("e9", "A1")).encode()), fmt="csv", principal=hr, origin="cli"
        )
    assert "B1" not in str(taken.value.problems)
    assert await count(conn) == 2


async def test_many_blocks_in_one_batch(
    conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    import evalsvc.store.tasks as store

    monkeypatch.setattr(store, "BLOCK_BYTES", 200)
    await make_city(conn)
    body = HEADER + "".join(
        row(f"e{i}", ["A1", "A2", "B1"][i % 3], done=str(i % 9)) for i in range(300)
    )
    result = await ingest(conn, body)
    assert result.inserted == 300
    assert await stored_totals(conn) == await recount(conn)
    # a repeat across blocks is caught
    body2 = HEADER + "".join(row(f"n{i}") for i in range(50)) + row("n3", done="1")
    with pytest.raises(RuleViolation) as info:
        await ingest(conn, body2)
    assert 51 in {p.row for p in info.value.problems}
    assert await count(conn) == 300


async def test_statements_run_once_per_group_of_blocks(
    conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks are parsed and COPYed one by one, the diff statements run per WRITE_BLOCKS of
    them and the totals upsert per TOTALS_BLOCKS: a total met in several blocks is summed
    once, a batch turning from new rows to corrections mid-way moves the totals right, and a
    key repeated across the blocks of one group is still reported with its row, nothing
    stored."""
    import evalsvc.store.tasks as store

    monkeypatch.setattr(store, "BLOCK_BYTES", 300)
    monkeypatch.setattr(store, "WRITE_BLOCKS", 3)
    monkeypatch.setattr(store, "TOTALS_BLOCKS", 5)
    await make_city(conn)
    cadres = ["A1", "A2", "B1"]
    body = HEADER + "".join(row(f"e{i}", cadres[i % 3], done=str(i % 9)) for i in range(100))
    first = await ingest(conn, body)
    assert (first.inserted, first.updated) == (100, 0)
    assert await stored_totals(conn) == await recount(conn)
    # new rows first (fresh COPY), then stored keys: 60 new, then 30 changed and 10 as stored
    mixed = HEADER + "".join(
        [row(f"n{i}", cadres[i % 3]) for i in range(60)]
        + [row(f"e{i}", cadres[(i + 1) % 3], month="2026-06") for i in range(30)]
        + [row(f"e{i}", cadres[i % 3], done=str(i % 9)) for i in range(30, 40)]
    )
    second = await ingest(conn, mixed)
    assert (second.rows, second.inserted, second.updated, second.unchanged) == (100, 60, 30, 10)
    assert await stored_totals(conn) == await recount(conn)
    assert await count(conn) == 160
    # through staging (the first row is stored already): a key repeated in the next parse
    # block (about 7 rows a block), in the same group
    before = await stored_totals(conn)
    repeat = HEADER + "".join(
        [row("e0", "A1", done="1")] + [row(f"r{i}") for i in range(10)] + [row("r2", done="2")]
    )
    with pytest.raises(RuleViolation) as info:
        await ingest(conn, repeat)
    assert {4, 12} <= {p.row for p in info.value.problems}
    assert await count(conn) == 160
    assert await stored_totals(conn) == before


async def test_cadre_with_task_records_cannot_be_deleted(conn: asyncpg.Connection) -> None:
    await make_city(conn)
    await ingest(conn, HEADER + row("e1", "A1"))
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await conn.execute("delete from cadres where code = 'A1'")
    await conn.execute("delete from cadres where code = 'A2'")  # no records: fine


async def test_body_that_breaks_off_stores_nothing(
    conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that goes away mid-upload: the blocks already written are rolled back."""
    import evalsvc.store.tasks as store

    monkeypatch.setattr(store, "BLOCK_BYTES", 300)
    await make_city(conn)
    data = (HEADER + "".join(row(f"e{i}") for i in range(200))).encode()

    async def breaks_off() -> AsyncIterator[bytes]:
        yield data[: len(data) // 2]
        raise InvalidInput("the upload was cut off before its end; nothing was stored")

    with pytest.raises(InvalidInput, match="cut off"):
        await ingest_stream(conn, breaks_off(), fmt="csv", principal=None, origin="cli")
    assert await count(conn) == 0
    assert await count(conn, "task_month_totals") == 0


async def test_controller_turns_a_disconnect_into_invalid_input() -> None:
    from litestar.exceptions import InternalServerException

    from evalsvc.api.uploads import body_pieces

    class Disconnecting:
        headers: dict[str, str] = {}

        async def stream(self) -> AsyncIterator[bytes]:
            yield b"source_system,"
            raise InternalServerException("client disconnected prematurely")

    pieces_seen: list[bytes] = []

    async def drain() -> None:
        async for piece in body_pieces(Disconnecting(), 1 << 20):  # type: ignore[arg-type]
            pieces_seen.append(piece)

    with pytest.raises(InvalidInput, match="cut off"):
        await drain()
    assert pieces_seen == [b"source_system,"]
