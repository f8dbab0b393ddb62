"""Paper uploads: all or nothing with row errors, idempotent retries, the two-person rule;
anonymity of storage."""

from __future__ import annotations

import logging

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from evalsvc.domain.access import Role
from tests.conftest import make_key
from tests.integration.ballots_seed import close_round, committee_headers, round_body
from tests.integration.test_ballots_flow import bearer, open_round, seed_unit

Client = AsyncTestClient  # type: ignore[type-arg]


async def test_paper_upload_all_or_nothing_and_idempotent(
    client: Client, conn: asyncpg.Connection
) -> None:
    catalog_id, _ = await seed_unit(conn)
    operator = await make_key(conn, Role.PERSONNEL, "UB")
    everyone = ["H", "D", "S1", "S2", "S3", "S4", "S5", "S6"]
    round_id, tokens = await open_round(
        client, operator, round_body(catalog_id, "UB", paper_voters=everyone)
    )
    assert tokens == {}  # paper voters get no token
    first_member, second_member, _ = await committee_headers(conn)
    headers = first_member
    url = f"/ballot-rounds/{round_id}/paper-ballots"
    good = 'target,marks,level,confidence,comment\nH,1x0,HT,low,"ý kiến, có dấu phẩy"\nS1,100,,,\n'
    csv_headers = headers | {"content-type": "text/csv", "idempotency-key": "batch-1"}
    # The operator's key enters no paper ballots: only the committee does.
    response = await client.post(
        url,
        content=good.encode(),
        headers=operator | {"content-type": "text/csv", "idempotency-key": "op"},
    )
    assert response.status_code == 403
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
    upload = first.json()
    assert (upload["ballots"], upload["status"], upload["replayed"]) == (2, "pending", False)
    again = await client.post(url, content=good.encode(), headers=csv_headers)
    assert (again.json()["upload_id"], again.json()["replayed"]) == (upload["upload_id"], True)
    # Two-person rule: nothing counts until a second member confirms; the uploader cannot.
    assert await conn.fetchval("select count(*) from ballots") == 0
    confirm = f"{url}/{upload['upload_id']}/confirm"
    assert (await client.post(confirm, headers=first_member)).status_code == 403
    assert (await client.post(confirm, headers=operator)).status_code == 403
    assert await conn.fetchval("select count(*) from ballots") == 0
    confirmed = await client.post(confirm, headers=second_member)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "counted"
    assert (await client.post(confirm, headers=second_member)).status_code == 409
    assert await conn.fetchval("select sum(n_ballots) from ballots") == 2
    listed = (await client.get(url, headers=second_member)).json()
    assert [(u["uploaded_by"], u["confirmed_by"]) for u in listed] == [
        (upload["uploaded_by"], confirmed.json()["confirmed_by"])
    ]
    assert listed[0]["uploaded_by"] != listed[0]["confirmed_by"]
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
    await client.post(f"{url}/{ok.json()['upload_id']}/confirm", headers=second_member)
    # Capacity: H has 7 paper voters and already 1 ballot.
    many = "target,marks\n" + "H,000\n" * 7
    response = await client.post(
        url, content=many.encode(), headers=csv_headers | {"idempotency-key": "m"}
    )
    assert response.status_code == 422
    assert response.json()["extra"][0]["field"] == "target"
    assert await conn.fetchval("select sum(n_ballots) from ballots") == 3
    closed = await close_round(client, conn, round_id)
    assert closed.json()["ballots_by_channel"] == {"online": 0, "paper": 3}


async def test_the_tally_counts_each_targets_ballots_per_channel(
    client: Client, conn: asyncpg.Connection
) -> None:
    """H gets 3 online and 2 paper ballots: its tally says so; D only online ones."""
    catalog_id, _ = await seed_unit(conn)
    operator = await make_key(conn, Role.PERSONNEL, "UB")
    body = round_body(catalog_id, "UB", paper_voters=["S5", "S6"], k_min=3)
    round_id, tokens = await open_round(client, operator, body)
    for voter in ("S1", "S2", "S3"):
        for target in ("H", "D"):
            response = await client.post(
                "/ballot/ballots", json={"target": target}, headers=bearer(tokens[voter])
            )
            assert response.status_code == 201, response.text
    first, second, _ = await committee_headers(conn)
    url = f"/ballot-rounds/{round_id}/paper-ballots"
    up = await client.post(
        url,
        content=b"target,marks\nH,000\nH,100\n",
        headers=first | {"content-type": "text/csv", "idempotency-key": "p"},
    )
    assert up.status_code == 200, up.text
    confirmed = await client.post(f"{url}/{up.json()['upload_id']}/confirm", headers=second)
    assert confirmed.status_code == 200, confirmed.text
    closed = await close_round(client, conn, round_id)
    assert closed.json()["ballots_by_channel"] == {"online": 6, "paper": 2}
    tallies = (await client.get(f"/ballot-rounds/{round_id}/tallies", headers=operator)).json()
    by_target = {i["target"]: i for i in tallies["items"]}
    assert by_target["H"]["by_channel"] == {"online": 3, "paper": 2}
    assert by_target["D"]["by_channel"] == {"online": 3, "paper": 0}
    one = (await client.get(f"/ballot-rounds/{round_id}/tallies/H", headers=operator)).json()
    assert (one["valid"], one["by_channel"]) == (5, {"online": 3, "paper": 2})


async def test_online_voters_have_no_paper_capacity(
    client: Client, conn: asyncpg.Connection
) -> None:
    """Each voter has one channel: a round of online voters takes no paper ballots."""
    catalog_id, _ = await seed_unit(conn)
    operator = await make_key(conn, Role.PERSONNEL, "UB")
    round_id, tokens = await open_round(
        client, operator, round_body(catalog_id, "UB", paper_voters=["S1"])
    )
    assert "S1" not in tokens
    assert len(tokens) == 7
    member = (await committee_headers(conn))[0]
    response = await client.post(
        f"/ballot-rounds/{round_id}/paper-ballots",
        content=b"target,marks\nH,000\nH,000\n",
        headers=member | {"content-type": "text/csv", "idempotency-key": "k"},
    )
    assert response.status_code == 422  # H has one paper voter (S1)
    assert "1 paper voters" in response.json()["extra"][0]["reason"]


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
    # Schema: the ballot, sheet and comment tables hold no voter, token, hash, time or row id,
    # and no foreign key leads from them to voters or the ledger.
    for table in ("ballots", "ballot_comments", "ballot_sheets", "ballot_receipts"):
        columns = dict(
            await conn.fetch(
                "select column_name, data_type from information_schema.columns"
                " where table_name = $1",
                table,
            )
        )
        assert set(columns) <= {
            "round_id",
            "target_id",
            "n_ballots",
            "marks",
            "comment",
            "sealed",
            "targets_tag",
            "receipt",
        }
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
    # Before close only sealed sheets; after close one shuffled block, no ciphertext left.
    assert await conn.fetchval("select count(*) from ballots") == 0
    assert await conn.fetchval("select count(*) from ballot_sheets") == 5
    assert await conn.fetchval("select count(*) from ballot_comments") == 0
    assert (await close_round(client, conn, round_id)).status_code == 200
    assert await conn.fetch("select n_ballots from ballots") == [(5,)]
    assert await conn.fetchval("select count(*) from ballot_sheets") == 0
    assert await conn.fetchval("select count(*) from ballot_receipts") == 5
    # Logs: never a token.
    text = caplog.text
    for token in tokens.values():
        assert token not in text
        assert token[3:] not in text
