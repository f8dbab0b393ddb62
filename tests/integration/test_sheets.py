"""Whole sheets over the API, and invitations delivered to voters (never to the operator)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from evalsvc.api.app import create_app
from evalsvc.domain.access import Role
from evalsvc.domain.sheets import normalize_voter_code
from evalsvc.settings import Settings
from evalsvc.store.database import create_pool, session_untouched
from evalsvc.voting_client import seal_sheet
from tests.conftest import make_key
from tests.integration.ballots_seed import (
    add_cadre,
    add_catalog,
    add_unit,
    close_round,
    outbox_codes,
    round_body,
)

Client = AsyncTestClient  # type: ignore[type-arg]


def bearer(code: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {code}"}


async def seed(conn: asyncpg.Connection) -> int:
    """Unit UB: head H, staff S1..S4 with email, P1 without (a paper slip)."""
    unit = await add_unit(conn, "UB")
    await add_cadre(conn, "H", unit, "head")
    for i in range(1, 5):
        await add_cadre(conn, f"S{i}", unit, "staff")
    await add_cadre(conn, "P1", unit, "staff", email=False)
    return await add_catalog(conn)


async def open_round(client: Client, headers: dict[str, str], catalog_id: int) -> dict[str, Any]:
    created = await client.post(
        "/ballot-rounds", json=round_body(catalog_id, "UB"), headers=headers
    )
    assert created.status_code == 201, created.text
    opened = await client.post(f"/ballot-rounds/{created.json()['id']}/open", headers=headers)
    assert opened.status_code == 200, opened.text
    body: dict[str, Any] = opened.json()
    return body


def sheet(targets: list[str], **marks: str) -> dict[str, Any]:
    return {"ballots": [{"target": t, "marks": dict(marks)} for t in targets]}


async def test_sheet_all_or_nothing(client: Client, conn: asyncpg.Connection) -> None:
    catalog_id = await seed(conn)
    headers = await make_key(conn, Role.PERSONNEL, "UB")
    opened = await open_round(client, headers, catalog_id)
    assert "tokens" not in opened
    assert opened["invitations"] == {"email": 5, "paper": 1}
    round_id = opened["id"]
    codes = await outbox_codes(client.app.state.settings.outbox, round_id, 5)
    assert sorted(codes) == ["H", "S1", "S2", "S3", "S4"]

    invitations = (
        await client.get(f"/ballot-rounds/{round_id}/invitations", headers=headers)
    ).json()
    by_code = {i["code"]: i for i in invitations}
    assert by_code["S1"]["status"] == "sent"
    assert by_code["S1"]["address"] == "s1@donvi.test"
    assert by_code["P1"] == by_code["P1"] | {
        "channel": "paper",
        "status": "pending",
        "address": None,
    }
    text = str(invitations)
    assert not any(code in text for code in codes.values())  # never a link or code

    s1 = codes["S1"]
    pending = (await client.get("/ballot/targets", headers=bearer(s1))).json()
    colleagues = [t["code"] for t in pending["targets"]]
    assert colleagues == ["H", "P1", "S2", "S3", "S4"]
    refusals = [
        (sheet(colleagues[:-1]), "ballots.S4", "missing"),
        (sheet([*colleagues, "S1"]), "ballots.S1", "not one of your colleagues"),
        (sheet([*colleagues, "H"]), "ballots.H", "listed twice"),
        (sheet(colleagues, Z9="observed"), "ballots.H.marks.Z9", "unknown item"),
        (sheet(colleagues, L1="observed"), "ballots.P1.marks.L1", "other form"),
    ]
    for body, field, reason in refusals:
        response = await client.post("/ballot/sheets", json=body, headers=bearer(s1))
        assert response.status_code == 422, response.text
        problems = {p["field"]: p["reason"] for p in response.json()["extra"]}
        assert reason in problems[field], problems
    bad_mark = {"ballots": [{"target": "H", "marks": {"C1": "maybe"}}]}
    assert (
        await client.post("/ballot/sheets", json=bad_mark, headers=bearer(s1))
    ).status_code == 400
    assert await conn.fetchval("select count(*) from ballots") == 0
    assert await conn.fetchval("select count(*) from ballot_ledger") == 0

    good = sheet(colleagues, C1="observed", C2="no_basis")
    good["ballots"][0] |= {"level": "HTT", "confidence": "high", "comment": "  Tốt  "}
    # Typed as a person would type it: lower case, spaces instead of dashes.
    typed = s1.lower().replace("-", " ")
    accepted = await client.post("/ballot/sheets", json=good, headers=bearer(typed))
    assert accepted.status_code == 201, accepted.text
    receipt = accepted.json().pop("receipt")
    assert accepted.json() | {"receipt": receipt} == {
        "round_id": round_id,
        "ballots": 5,
        "submitted": True,
        "receipt": receipt,
        "sealed_by": "server",
    }
    again = await client.post("/ballot/sheets", json=good, headers=bearer(s1))
    assert again.status_code == 409
    # Sealed until the committee closes the round: one sheet, no plaintext ballot or comment.
    assert await conn.fetchval("select count(*) from ballot_sheets") == 1
    assert await conn.fetchval("select count(*) from ballots") == 0
    assert await conn.fetchval("select count(*) from ballot_comments") == 0
    assert (await client.get("/ballot/targets", headers=bearer(s1))).json()["targets"] == []
    participation = await client.get(f"/ballot-rounds/{round_id}/participation", headers=headers)
    assert participation.json() == {"round_id": round_id, "voters": 6, "finished": 1}

    # Re-send: a new link; the old one stops working; the ledger still knows the voter.
    resent = await client.post(
        f"/ballot-rounds/{round_id}/invitations/send", json={"voters": ["S1"]}, headers=headers
    )
    assert resent.status_code == 202, resent.text
    new_code = s1
    for _ in range(100):
        new_code = (await outbox_codes(client.app.state.settings.outbox, round_id, 5))["S1"]
        if new_code != s1:
            break
        await asyncio.sleep(0.05)
    assert new_code != s1
    assert (await client.get("/ballot/targets", headers=bearer(s1))).status_code == 403
    assert (
        await client.post("/ballot/sheets", json=good, headers=bearer(new_code))
    ).status_code == 409
    unknown = await client.post(
        f"/ballot-rounds/{round_id}/invitations/send", json={"voters": ["P1"]}, headers=headers
    )
    assert unknown.status_code == 422

    closed = await close_round(client, conn, round_id)
    assert closed.status_code == 200, closed.text
    assert await conn.fetchval("select count(*) from ballots") == 5
    assert await conn.fetchval("select comment from ballot_comments") == "Tốt"
    after = await client.get("/ballot/targets", headers=bearer(codes["S2"]))
    assert after.status_code == 409
    assert after.json()["detail"] == "the round is closed"
    late = await client.post("/ballot/sheets", json=sheet(["H"]), headers=bearer(codes["S2"]))
    assert late.status_code == 409


async def test_a_failed_email_is_reported(
    conn: asyncpg.Connection, db_dsn: str, tmp_path: Path
) -> None:
    catalog_id = await seed(conn)
    headers = await make_key(conn, Role.ADMIN)
    # Nothing listens on port 9 here: every message fails, and says why.
    settings = Settings(
        database_url=db_dsn, data_dir=str(tmp_path), smtp_host="127.0.0.1", smtp_port=9
    )
    async with AsyncTestClient(app=create_app(settings, db_dsn)) as client:
        opened = await open_round(client, headers, catalog_id)
        rows: list[dict[str, Any]] = []
        for _ in range(200):
            rows = (
                await client.get(f"/ballot-rounds/{opened['id']}/invitations", headers=headers)
            ).json()
            if all(r["status"] != "pending" for r in rows if r["channel"] == "email"):
                break
            await asyncio.sleep(0.05)
    emails = [r for r in rows if r["channel"] == "email"]
    assert len(emails) == 5
    assert {r["status"] for r in emails} == {"failed"}
    assert all("cannot reach the mail server" in r["last_error"] for r in emails)
    assert not (tmp_path / "outbox").exists()


def test_typed_codes() -> None:
    assert normalize_voter_code("abcde fghjk mnpqr stvwx yz01o") == "ABCDE-FGHJK-MNPQR-STVWX-YZ010"
    assert normalize_voter_code("ABCDE-FGHJK-MNPQR-STVWX-YZ01U") is None  # U is not a digit
    assert normalize_voter_code("short") is None


async def test_a_sheet_after_single_ballots_and_repeated_sheets_at_once(
    client: Client, conn: asyncpg.Connection
) -> None:
    """The hand-in reads the ledger only when the sheet does not fit or the write is refused:
    a voter who balloted a colleague alone hands in the rest, and sheets sent many times at
    once (plain and sealed by the client) land exactly once."""
    catalog_id = await seed(conn)
    headers = await make_key(conn, Role.PERSONNEL, "UB")
    round_id = (await open_round(client, headers, catalog_id))["id"]
    codes = await outbox_codes(client.app.state.settings.outbox, round_id, 5)
    everyone = ["H", "P1", "S1", "S2", "S3", "S4"]

    s2 = bearer(codes["S2"])
    alone = {"target": "H", "marks": {"C1": "observed"}}
    assert (await client.post("/ballot/ballots", json=alone, headers=s2)).status_code == 201
    rest = [c for c in everyone if c not in ("S2", "H")]
    refused = await client.post("/ballot/sheets", json=sheet(["H", *rest]), headers=s2)
    assert refused.status_code == 422, refused.text
    problems = {p["field"]: p["reason"] for p in refused.json()["extra"]}
    assert "not one of your colleagues" in problems["ballots.H"], problems
    handed = await client.post("/ballot/sheets", json=sheet(rest), headers=s2)
    assert handed.status_code == 201, handed.text
    assert handed.json()["ballots"] == 4
    again = await client.post("/ballot/sheets", json=sheet(rest), headers=s2)
    assert (again.status_code, again.json()["detail"]) == (
        409,
        "this sheet has already been handed in",
    )

    s3 = bearer(codes["S3"])
    colleagues = [c for c in everyone if c != "S3"]
    statuses = await asyncio.gather(
        *(client.post("/ballot/sheets", json=sheet(colleagues), headers=s3) for _ in range(6))
    )
    assert sorted(r.status_code for r in statuses) == [201] + [409] * 5

    pending = (await client.get("/ballot/targets", headers=bearer(codes["S4"]))).json()
    body, receipt = seal_sheet(pending, {t["code"]: {} for t in pending["targets"]})
    sealed = await asyncio.gather(
        *(
            client.post("/ballot/sealed-sheets", json=body, headers=bearer(codes["S4"]))
            for _ in range(6)
        )
    )
    assert sorted(r.status_code for r in sealed) == [201] + [409] * 5
    assert [r.json()["receipt"] for r in sealed if r.status_code == 201] == [receipt.hex()]

    # Three sheets and S2's single ballot; the ledger holds one tag per colleague balloted.
    assert await conn.fetchval("select count(*) from ballot_sheets") == 4
    assert await conn.fetchval("select count(*) from ballot_ledger where sheet") == 3
    assert (
        await conn.fetchval("select count(*) from ballot_ledger where not sheet") == 1 + 4 + 5 + 5
    )
    participation = await client.get(f"/ballot-rounds/{round_id}/participation", headers=headers)
    assert participation.json()["finished"] == 3


async def test_only_a_request_that_says_so_skips_the_pool_reset(db_dsn: str) -> None:
    """Session state set on a pooled connection is gone at the next acquire, unless the
    request marked the connection untouched (the sheet hand-in's promise)."""
    pool = await create_pool(db_dsn, min_size=1, max_size=1)
    try:
        set_it = "select set_config('evalsvc.actor', 'x', false)"
        read_it = "select current_setting('evalsvc.actor', true)"
        async with pool.acquire() as first:
            await first.execute(set_it)
        async with pool.acquire() as second:
            assert await second.fetchval(read_it) in ("", None)  # reset as usual
            await second.execute(set_it)
            session_untouched(second)
        async with pool.acquire() as third:
            assert await third.fetchval(read_it) == "x"  # the reset was skipped, once
        async with pool.acquire() as fourth:
            assert await fourth.fetchval(read_it) in ("", None)
    finally:
        await pool.close()


async def test_a_voter_with_no_colleague_hands_in_an_empty_sheet(
    client: Client, conn: asyncpg.Connection
) -> None:
    """The only cadre of a unit has no one to evaluate: its empty sheet is an answer, not a 500."""
    unit = await add_unit(conn, "UA")
    await add_cadre(conn, "A1", unit, "staff")
    catalog_id = await add_catalog(conn)
    headers = await make_key(conn, Role.PERSONNEL, "UA")
    created = await client.post(
        "/ballot-rounds", json=round_body(catalog_id, "UA"), headers=headers
    )
    assert created.status_code == 201, created.text
    round_id = created.json()["id"]
    opened = await client.post(f"/ballot-rounds/{round_id}/open", headers=headers)
    assert opened.status_code == 200, opened.text
    code = (await outbox_codes(client.app.state.settings.outbox, round_id, 1))["A1"]
    assert (await client.get("/ballot/targets", headers=bearer(code))).json()["targets"] == []
    empty = await client.post("/ballot/sheets", json={"ballots": []}, headers=bearer(code))
    assert empty.status_code == 201, empty.text
    assert empty.json() | {"receipt": ""} == {
        "round_id": round_id,
        "ballots": 0,
        "submitted": True,
        "receipt": "",
        "sealed_by": "server",
    }
    again = await client.post("/ballot/sheets", json={"ballots": []}, headers=bearer(code))
    assert again.status_code == 409
    participation = await client.get(f"/ballot-rounds/{round_id}/participation", headers=headers)
    assert participation.json() == {"round_id": round_id, "voters": 1, "finished": 1}
