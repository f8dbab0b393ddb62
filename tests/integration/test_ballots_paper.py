"""Paper uploads: all or nothing with row errors, idempotent retries; anonymity of storage."""

from __future__ import annotations

import logging

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from evalsvc.domain.access import Role
from tests.conftest import make_key
from tests.integration.ballots_seed import round_body
from tests.integration.test_ballots_flow import bearer, open_round, seed_unit

Client = AsyncTestClient  # type: ignore[type-arg]


async def test_paper_upload_all_or_nothing_and_idempotent(
    client: Client, conn: asyncpg.Connection
) -> None:
    catalog_id, _ = await seed_unit(conn)
    headers = await make_key(conn, Role.PERSONNEL, "UB")
    round_id, _ = await open_round(client, headers, round_body(catalog_id, "UB"))
    url = f"/ballot-rounds/{round_id}/paper-ballots"
    good = 'target,marks,level,confidence,comment\nH,1x0,HT,low,"ý kiến, có dấu phẩy"\nS1,100,,,\n'
    csv_headers = headers | {"content-type": "text/csv", "idempotency-key": "batch-1"}
    bad = "target,marks,level,confidence\nH,1x0,HT,low\nNOPE,100,,\nS1,10,,\nS2,1y0,ZZ,\n"
    response = await client.post(
        url, content=bad.encode(), headers=csv_headers | {"idempotency-key": "b0"}
    )
    assert response.status_code == 422
    problems = [(p["row"], p["field"]) for p in response.json()["extra"]]
    assert problems == [(2, "target"), (3, "marks"), (4, "level"), (4, "marks")]
    assert await conn.fetchval("select count(*) from ballots") == 0
    assert await conn.fetchval("select count(*) from ballot_uploads") == 0

    first = await client.post(url, content=good.encode(), headers=csv_headers)
    assert first.status_code == 200, first.text
    assert first.json() == {"round_id": round_id, "ballots": 2, "replayed": False}
    again = await client.post(url, content=good.encode(), headers=csv_headers)
    assert again.json() == {"round_id": round_id, "ballots": 2, "replayed": True}
    assert await conn.fetchval("select sum(n_ballots) from ballots") == 2
    other = await client.post(url, content=good.encode() + b"S2,000,,,\n", headers=csv_headers)
    assert other.status_code == 409

    json_headers = headers | {"content-type": "application/json", "idempotency-key": "j1"}
    for body, status in (
        (b'[{"target": "S3", "marks": "000", "extra": 1}]', 400),
        (b"[{", 400),
        (b'[{"target": "S3", "marks": 5}]', 400),
        (b'[{"target": "S3", "marks": "0000"}]', 422),
    ):
        response = await client.post(url, content=body, headers=json_headers)
        assert response.status_code == status, (body, response.text)
    assert (
        await client.post(url, content=b"\xff\xfe", headers=csv_headers | {"idempotency-key": "x"})
    ).status_code == 400
    assert (
        await client.post(
            url, content=good.encode(), headers=headers | {"content-type": "text/csv"}
        )
    ).status_code == 400
    ok = await client.post(
        url, content=b'[{"target": "S3", "marks": "1x1", "level": "HTXS"}]', headers=json_headers
    )
    assert ok.status_code == 200, ok.text
    # Capacity: H has 7 eligible voters and already 1 ballot.
    many = "target,marks\n" + "H,000\n" * 7
    response = await client.post(
        url, content=many.encode(), headers=csv_headers | {"idempotency-key": "m"}
    )
    assert response.status_code == 422
    assert response.json()["extra"][0]["field"] == "target"
    assert await conn.fetchval("select sum(n_ballots) from ballots") == 3


async def test_no_ballot_can_be_linked_to_its_voter(
    client: Client, conn: asyncpg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    catalog_id, _ = await seed_unit(conn)
    headers = await make_key(conn, Role.ADMIN)
    round_id, tokens = await open_round(client, headers, round_body(catalog_id, "UB"))
    for voter in ("S1", "S2", "S3", "S4", "S5"):
        response = await client.post(
            "/ballot/ballots",
            json={"target": "H", "comment": f"ý kiến {voter}"},
            headers=bearer(tokens[voter]),
        )
        assert response.status_code == 201
    # Schema: the ballot and comment tables hold no voter, token, hash, time or row id, and
    # no foreign key leads from them to voters or the ledger.
    for table in ("ballots", "ballot_comments"):
        columns = dict(
            await conn.fetch(
                "select column_name, data_type from information_schema.columns"
                " where table_name = $1",
                table,
            )
        )
        assert set(columns) <= {"round_id", "target_id", "n_ballots", "marks", "comment"}
        assert not any("time" in t or "date" in t for t in columns.values())
        refs = await conn.fetch(
            "select confrelid::regclass::text as ref from pg_constraint"
            " where conrelid = $1::regclass and contype = 'f'",
            table,
        )
        assert refs == []
    ledger = set(
        await conn.fetch(
            "select column_name from information_schema.columns where table_name = 'ballot_ledger'"
        )
    )
    # "sheet" marks a voter's whole-sheet row (its tag is just as opaque): no voter, no time.
    assert {r["column_name"] for r in ledger} == {"tag", "round_id", "sheet"}
    # Before close each online ballot is its own block; after close they are one shuffled block.
    assert await conn.fetchval("select count(*) from ballots") == 5
    await client.post(f"/ballot-rounds/{round_id}/close", headers=headers)
    assert await conn.fetch("select n_ballots from ballots") == [(5,)]
    # Logs: never a token.
    text = caplog.text
    for token in tokens.values():
        assert token not in text
        assert token[3:] not in text
