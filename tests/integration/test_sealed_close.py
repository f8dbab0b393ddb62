"""The close of a sealed round, as the big rounds run it: worker processes, many batches,
one transaction (a failure leaves the round open and intact; closing again works)."""

from __future__ import annotations

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from evalsvc.store import ballot_opening, ballot_rounds
from tests.integration.ballots_seed import collect_shares
from tests.integration.test_ballot_secrecy import SECRET, _opened, _vote
from tests.integration.test_ballots_flow import bearer

Client = AsyncTestClient  # type: ignore[type-arg]


async def _six_sheets_one_swapped(client: Client, conn: asyncpg.Connection) -> int:
    """S1..S5 ballot for H; S6's sheet then gets S1's ciphertext under its own receipt (what
    a DBA could do without the key): five valid sheets, one invalid."""
    round_id, tokens = await _opened(client, conn)
    await _vote(client, tokens)
    sent = await client.post(
        "/ballot/ballots",
        json={"target": "H", "marks": {"C1": "observed"}},
        headers=bearer(tokens["S6"]),
    )
    assert sent.status_code == 201, sent.text
    swapped = await conn.execute(
        "update ballot_sheets set sealed = (select sealed from ballot_sheets"
        " where round_id = $1 and receipt <> $2 limit 1) where round_id = $1 and receipt = $2",
        round_id,
        bytes.fromhex(sent.json()["receipt"]),
    )
    assert swapped == "UPDATE 1"
    return round_id


async def _stored(conn: asyncpg.Connection, round_id: int) -> dict[str, int]:
    counts = {}
    for table in ("ballot_sheets", "ballot_receipts", "ballot_comments"):
        counts[table] = await conn.fetchval(
            f"select count(*)::int from {table} where round_id = $1", round_id
        )
    counts["ballots"] = await conn.fetchval(
        "select coalesce(sum(n_ballots), 0)::int from ballots where round_id = $1", round_id
    )
    return counts


@pytest.mark.parametrize("processes", [False, True], ids=["thread", "worker-processes"])
async def test_the_close_counts_the_same_in_a_thread_or_in_worker_processes(
    client: Client, conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch, processes: bool
) -> None:
    monkeypatch.setattr(ballot_opening, "POOL_MIN_SHEETS", 0 if processes else 10**9)
    monkeypatch.setattr(ballot_opening, "BATCH_BYTES", 1)  # a batch per sheet, several in flight
    round_id = await _six_sheets_one_swapped(client, conn)
    shares, members = await collect_shares(client, conn, round_id)
    closed = await client.post(
        f"/ballot-rounds/{round_id}/close", json={"shares": shares[:2]}, headers=members[0]
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["sheets"] == {"counted": 5, "invalid": 1}
    assert closed.json()["ballots_by_channel"] == {"online": 5, "paper": 0}
    assert await _stored(conn, round_id) == {
        "ballot_sheets": 0,  # the ciphertexts are gone, their receipts stay
        "ballot_receipts": 5,
        "ballot_comments": 5,
        "ballots": 5,
    }
    tally = await conn.fetchrow(
        "select t.valid, t.level_kht from ballot_tallies t join cadres c on c.id = t.target_id"
        " where t.round_id = $1 and c.code = 'H'",
        round_id,
    )
    assert tally is not None
    assert (tally["valid"], tally["level_kht"]) == (5, 5)
    comments = await conn.fetch("select comment from ballot_comments where round_id = $1", round_id)
    assert sorted(r["comment"] for r in comments) == [f"{SECRET} S{i}" for i in range(1, 6)]


async def test_a_close_that_fails_midway_leaves_the_round_open_and_intact(
    client: Client, conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ballot_opening, "POOL_MIN_SHEETS", 0)
    round_id = await _six_sheets_one_swapped(client, conn)
    before = await _stored(conn, round_id)
    assert before == {"ballot_sheets": 6, "ballot_receipts": 0, "ballot_comments": 0, "ballots": 0}

    async def tally_fails(*args: object) -> None:
        raise RuntimeError("the disk filled up during the tally")

    # After the sheets were opened, the ballots written and the ciphertexts deleted.
    monkeypatch.setattr(ballot_rounds, "tally_round", tally_fails)
    shares, members = await collect_shares(client, conn, round_id)
    failed = await client.post(
        f"/ballot-rounds/{round_id}/close", json={"shares": shares[:2]}, headers=members[0]
    )
    assert failed.status_code == 500
    assert await conn.fetchval("select status from ballot_rounds where id = $1", round_id) == "open"
    assert await _stored(conn, round_id) == before
    monkeypatch.undo()  # the disk has room again: the same shares close the round
    closed = await client.post(
        f"/ballot-rounds/{round_id}/close", json={"shares": shares[:2]}, headers=members[0]
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["sheets"] == {"counted": 5, "invalid": 1}


async def test_a_sheet_copied_in_the_database_is_refused_clearly(
    client: Client, conn: asyncpg.Connection
) -> None:
    """A byte-identical copy of a stored sheet (only a DBA can make one) stops the close with
    a 422 that says so, not a 500 from the receipts' key; the round stays open and intact."""
    round_id, tokens = await _opened(client, conn)
    await _vote(client, tokens)
    copied = await conn.execute(
        "insert into ballot_sheets (round_id, sealed, targets_tag, receipt)"
        " select round_id, sealed, targets_tag, receipt from ballot_sheets"
        " where round_id = $1 limit 1",
        round_id,
    )
    assert copied == "INSERT 0 1"
    before = await _stored(conn, round_id)
    shares, members = await collect_shares(client, conn, round_id)
    refused = await client.post(
        f"/ballot-rounds/{round_id}/close", json={"shares": shares[:2]}, headers=members[0]
    )
    assert refused.status_code == 422, refused.text
    assert "same receipt" in refused.json()["detail"]
    assert await conn.fetchval("select status from ballot_rounds where id = $1", round_id) == "open"
    assert await _stored(conn, round_id) == before
