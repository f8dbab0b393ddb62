"""`evalsvc import ballots` as a user runs it: the paper upload rules, from a file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import msgspec
from click.testing import CliRunner

from evalsvc.cli import main
from evalsvc.domain.access import SYSTEM
from evalsvc.domain.ballots import RoundCreate
from evalsvc.store import ballot_rounds
from tests.integration.ballots_seed import round_body
from tests.integration.test_ballots_flow import seed_unit


async def _open_round(dsn: str) -> int:
    """Unit UB (H, D, S1..S6) and an open round over it, set up on its own connection."""
    conn = await asyncpg.connect(dsn)
    try:
        catalog_id, _ = await seed_unit(conn)
        everyone = ["H", "D", "S1", "S2", "S3", "S4", "S5", "S6"]
        data = msgspec.convert(round_body(catalog_id, "UB", paper_voters=everyone), RoundCreate)
        created = await ballot_rounds.create_round(conn, SYSTEM, data)
        await conn.execute("update ballot_rounds set status = 'open' where id = $1", created["id"])
        return int(created["id"])
    finally:
        await conn.close()


async def _stored(dsn: str, round_id: int) -> tuple[int, int]:
    conn = await asyncpg.connect(dsn)
    try:
        ballots = await conn.fetchval(
            "select coalesce(sum(n_ballots), 0) from ballots where round_id = $1", round_id
        )
        uploads = await conn.fetchval(
            "select count(*) from ballot_uploads where round_id = $1", round_id
        )
        return int(ballots), int(uploads)
    finally:
        await conn.close()


def test_import_ballots_all_or_nothing_and_idempotent(db_dsn: str, tmp_path: Path) -> None:
    round_id = asyncio.run(_open_round(db_dsn))
    runner = CliRunner()
    env = {"EVALSVC_DATABASE_URL": db_dsn, "EVALSVC_DATA_DIR": str(tmp_path)}

    bad = tmp_path / "bad.csv"
    bad.write_text("target,marks,level,confidence\nH,1x0,HT,low\nNOPE,100,,\n", encoding="utf-8")
    refused = runner.invoke(
        main, ["import", "ballots", str(round_id), str(bad), "--as", "kiemphieu1"], env=env
    )
    assert refused.exit_code != 0
    assert "row 2: target" in refused.output
    assert asyncio.run(_stored(db_dsn, round_id)) == (0, 0)

    good = tmp_path / "good.csv"
    good.write_text("target,marks,level,confidence\nH,1x0,HT,low\nS1,100,,\n", encoding="utf-8")
    args = ["import", "ballots", str(round_id), str(good), "--as", "kiemphieu1"]
    first = runner.invoke(main, args, env=env)
    assert first.exit_code == 0, first.output
    assert f"uploaded 2 ballots into round {round_id} as upload" in first.output
    assert "pending" in first.output
    again = runner.invoke(main, args, env=env)  # default key: the file's hash
    assert again.exit_code == 0, again.output
    assert "already uploaded: 2 ballots" in again.output
    assert asyncio.run(_stored(db_dsn, round_id)) == (0, 1)  # pending: not counted yet
    upload_id = first.output.split("as upload ")[1].split(":")[0]
    confirm = ["ballots", "confirm", str(round_id), upload_id]
    same = runner.invoke(main, [*confirm, "--as", "kiemphieu1"], env=env)
    assert same.exit_code != 0
    assert "second committee member" in same.output
    second = runner.invoke(main, [*confirm, "--as", "kiemphieu2"], env=env)
    assert second.exit_code == 0, second.output
    assert "2 ballots counted" in second.output
    assert asyncio.run(_stored(db_dsn, round_id)) == (2, 1)

    as_json = tmp_path / "more.json"
    as_json.write_text('[{"target": "S2", "marks": "1x1", "level": "HTXS"}]', encoding="utf-8")
    keyed = [*args[:2], str(round_id), str(as_json), "--idempotency-key", "batch-2"]
    third = runner.invoke(main, [*keyed, "--as", "kiemphieu2"], env=env)
    assert third.exit_code == 0, third.output
    reused = runner.invoke(main, [*args, "--idempotency-key", "batch-2"], env=env)
    assert reused.exit_code != 0  # same key, another file
    assert "different upload" in reused.output
    assert asyncio.run(_stored(db_dsn, round_id)) == (2, 2)
    nobody = runner.invoke(main, [*args[:4], "--as", "nobody"], env=env)
    assert "no enabled account 'nobody'" in nobody.output
    missing = runner.invoke(
        main, ["import", "ballots", "999999", str(good), "--as", "kiemphieu1"], env=env
    )
    assert missing.exit_code != 0
    assert "no ballot round 999999" in missing.output
