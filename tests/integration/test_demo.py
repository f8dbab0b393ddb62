"""`serve --demo`: the demo city comes with a year of activity and published 2026 ratings."""

from __future__ import annotations

import collections

import asyncpg

from evalsvc.democity.city import load_demo
from evalsvc.keyring import derive
from evalsvc.store import results as result_store
from evalsvc.store import roles
from evalsvc.store.database import connect


async def test_demo_city_has_ratings_and_loading_again_adds_no_activity(
    conn: asyncpg.Connection, db_dsn: str
) -> None:
    # As the embedded default serves: the least-privilege role (store/roles.py) loads the
    # demo, its ballot rounds (committee, sealed close) and recomputes the ratings.
    await roles.setup(conn)
    app = await connect(roles.app_dsn(db_dsn))
    try:
        await _check_demo(app)
    finally:
        await app.close()


async def _check_demo(conn: asyncpg.Connection) -> None:
    keys = derive(b"demo test key")
    token = await load_demo(conn, keys)
    assert token.startswith("evs_")
    counts = await conn.fetchrow(
        "select (select count(*) from cadres) as cadres,"
        " (select count(*) from task_month_totals) as totals,"
        " (select count(*) from ballot_tallies) as tallies,"
        " (select count(*) from result_published) as published"
    )
    assert counts["cadres"] > 200
    assert counts["totals"] > 0
    assert counts["tallies"] > 0
    assert counts["published"] == 1
    # Plausible as of today (issue 15): rounds closed only after their window, no activity
    # for a month not yet over.
    now = await conn.fetchval("select now()")
    assert not await conn.fetchval(
        "select count(*) from ballot_rounds where status = 'closed' and closes_at > $1", now
    )
    last = await conn.fetchval("select max(month) from task_month_totals")
    assert last < now.year * 100 + now.month
    # No rating for a month not yet over: the year is rated over the months that are.
    run = await conn.fetchval("select run_id from result_published where period = '2026'")
    over = sum(1 for m in range(1, 13) if (2026 + m // 12, m % 12 + 1) <= (now.year, now.month))
    year_run = await conn.fetchrow("select months, month_runs from result_runs where id = $1", run)
    assert year_run["months"] == len(year_run["month_runs"]) == max(1, min(12, over))
    assert not await conn.fetchval(
        "select count(*) from result_runs where kind = 'month'"
        " and first_month >= make_date($1, $2, 1)",
        now.year,
        now.month,
    )
    # A spread of annual levels a personnel officer recognises.
    levels = collections.Counter()
    for cid in [r[0] for r in await conn.fetch("select id from cadres")]:
        _, year = await result_store.cadre_rows(conn, run, cid)
        assert year is not None
        levels[year["level"]] += 1
    total = sum(levels.values())
    assert levels[2] > total / 2  # most HTT
    assert 0 < levels[3] <= 0.25 * (levels[2] + levels[3])  # a few HTXS, within the quota
    assert levels[1] > 0  # some HT
    assert 0 < levels[0] <= 0.05 * total  # rare KHT
    await load_demo(conn, keys)
    assert await conn.fetchval("select count(*) from task_month_totals") == counts["totals"]
    assert await conn.fetchval("select count(*) from api_keys") == 2
