"""`evalsvc seed` and `evalsvc recompute` as a user runs them (docs/recompute.md)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import asyncpg
from click.testing import CliRunner

from evalsvc.cli import main


def test_seed_then_recompute_month_year_and_unit(db_dsn: str, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"EVALSVC_DATABASE_URL": db_dsn, "EVALSVC_DATA_DIR": str(tmp_path)}
    seeded = runner.invoke(main, ["seed", "--scale", "0.01"], env=env)
    assert seeded.exit_code == 0, seeded.output
    assert "seeded 30 units and 2,000 cadres with a year of activity" in seeded.output
    assert "packed 2026-01, 2026-02" in seeded.output  # every month, for the first run
    again = runner.invoke(main, ["seed", "--scale", "0.01"], env=env)
    assert again.exit_code == 0, again.output  # idempotent, and says what it left out
    assert "no activity loaded: this database already holds task data" in again.output
    outputs = []
    for args in (["2026-05"], ["2026"], ["2026", "--unit", "P001"]):
        done = runner.invoke(main, ["recompute", *args], env=env)
        assert done.exit_code == 0, done.output
        assert "succeeded" in done.output
        outputs.append(done.output)
    # the first run read the registry and the year-wide inputs, May's rows were packed
    assert "1 input part(s) unpacked, as an earlier run or import packed them" in outputs[0]
    assert "unpacked" in outputs[1]  # the registry, read by the month
    assert "patched" not in outputs[0]

    async def correct_one_may_total() -> None:
        conn = await asyncpg.connect(db_dsn)
        try:
            await conn.execute(
                "update task_month_totals set k_done = k_done + 1 where month = 202605 and "
                "cadre_id = (select min(cadre_id) from task_month_totals where month = 202605)"
            )
        finally:
            await conn.close()

    asyncio.run(correct_one_may_total())
    patched = runner.invoke(main, ["recompute", "2026-05"], env=env)
    assert patched.exit_code == 0, patched.output
    assert "1 month(s) patched" in patched.output
    bad = runner.invoke(main, ["recompute", "2026-13"], env=env)
    assert bad.exit_code != 0
    assert "'2026-13' must be a month 'YYYY-MM', a quarter 'YYYY-Qn' or a year 'YYYY'" in (
        bad.output
    )
    slow = runner.invoke(main, ["recompute", "2026-05"], env=env | {"EVALSVC_PORT": "soon"})
    assert slow.exit_code != 0
    assert "EVALSVC_PORT='soon': Expected `int`" in slow.output
    assert "%" not in slow.output  # refused before any progress bar
    unknown = runner.invoke(main, ["recompute", "2026", "--unit", "NOPE"], env=env)
    assert unknown.exit_code != 0
    assert "NOPE" in unknown.output
    assert os.environ.get("EVALSVC_DATABASE_URL") != db_dsn
