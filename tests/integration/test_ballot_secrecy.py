"""The attacks of issue 18 as tests: what the DBA, the operator and a committee member
can and cannot do while a round is open and after it closes."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import subprocess
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from nacl.exceptions import CryptoError

from evalsvc.delivery.runner import keys_of
from evalsvc.domain.access import Role
from evalsvc.jobs.committee import demo_committee
from evalsvc.sealing import boxes, member_keys
from evalsvc.sealing import shares as sharing
from evalsvc.store import backup, ballot_committee
from evalsvc.store.database import with_database
from evalsvc.voting_client import proof_checks, seal_sheet
from tests.conftest import make_key
from tests.integration.ballots_seed import collect_shares, round_body
from tests.integration.test_ballots_flow import bearer, open_round, seed_unit

Client = AsyncTestClient  # type: ignore[type-arg]
SECRET = "Bí mật XYZZY-4417"  # a comment no log, page or WAL record may show before close


async def _opened(client: Client, conn: asyncpg.Connection) -> tuple[int, dict[str, str]]:
    catalog_id, _ = await seed_unit(conn)
    operator = await make_key(conn, Role.PERSONNEL, "UB")
    return await open_round(client, operator, round_body(catalog_id, "UB"))


async def _vote(client: Client, tokens: dict[str, str]) -> None:
    for voter in ("S1", "S2", "S3", "S4", "S5"):
        response = await client.post(
            "/ballot/ballots",
            json={
                "target": "H",
                "marks": {"C1": "observed", "L1": "no_basis"},
                "level": "KHT",
                "comment": f"{SECRET} {voter}",
            },
            headers=bearer(tokens[voter]),
        )
        assert response.status_code == 201, response.text
        assert response.json()["sealed_by"] == "server"


def _needles() -> list[bytes]:
    """The secret as text, as PostgreSQL's hex bytea output, and as escaped JSON."""
    raw = SECRET.encode()
    return [raw, raw.hex().encode(), b"XYZZY-4417", b"XYZZY-4417".hex().encode()]


async def test_statement_log_of_an_open_round_holds_no_ballot_plaintext(
    client: Client, conn: asyncpg.Connection, pg_server_dsn: str
) -> None:
    """The DBA turns on ``log_statement = 'all'`` (no restart needed) during an open round."""
    round_id, tokens = await _opened(client, conn)
    admin = await asyncpg.connect(with_database(pg_server_dsn, "postgres"))
    try:
        logfile = await admin.fetchval("select coalesce(pg_current_logfile(), 'log')")
        before = len(await admin.fetchval("select pg_read_binary_file($1)", logfile))
        await admin.execute("alter system set log_statement = 'all'")
        await admin.execute("alter system set log_parameter_max_length = -1")
        await admin.execute("select pg_reload_conf()")
        try:
            await _vote(client, tokens)
        finally:
            await admin.execute("alter system reset log_statement")
            await admin.execute("alter system reset log_parameter_max_length")
            await admin.execute("select pg_reload_conf()")
        log = bytes(await admin.fetchval("select pg_read_binary_file($1)", logfile))[before:]
    finally:
        await admin.close()
    # The log did record the submissions (with their parameters) ...
    assert b"insert into ballot_sheets" in log
    assert b"Parameters:" in log
    # ... and none of their content.
    for needle in _needles():
        assert needle not in log, needle
    assert round_id


async def test_wal_of_an_open_round_holds_no_ballot_plaintext(
    client: Client, conn: asyncpg.Connection
) -> None:
    """A superuser reads the WAL with pg_walinspect: ciphertext only while the round is open."""
    round_id, tokens = await _opened(client, conn)
    await conn.execute("create extension if not exists pg_walinspect")
    start = await conn.fetchval("select pg_current_wal_lsn()")
    await _vote(client, tokens)
    await conn.execute("select pg_switch_wal()")  # nothing of the votes left unflushed
    blocks = await conn.fetch(
        "select block_data, block_fpi_data from pg_get_wal_block_info($1, pg_current_wal_lsn())",
        start,
    )
    records = await conn.fetch(
        "select record_type from pg_get_wal_records_info($1, pg_current_wal_lsn())", start
    )
    wal = b"".join(
        bytes(b["block_data"] or b"") + bytes(b["block_fpi_data"] or b"") for b in blocks
    )
    main = "\n".join(
        r["description"] or ""
        for r in await conn.fetch(
            "select description from pg_get_wal_records_info($1, pg_current_wal_lsn())", start
        )
    ).encode()
    # The WAL holds the sealed sheets (the inspection sees row data) ...
    sealed = [bytes(r["sealed"]) for r in await conn.fetch("select sealed from ballot_sheets")]
    assert len(sealed) == 5
    assert all(s[:32] in wal for s in sealed)
    assert any(r["record_type"] == "INSERT" for r in records)
    # ... and no plaintext mark or comment.
    for needle in _needles():
        assert needle not in wal, needle
        assert needle not in main, needle
    # Nothing in the tables either: no plaintext ballot rows while the round is open.
    assert await conn.fetchval("select count(*) from ballots where round_id = $1", round_id) == 0
    assert await conn.fetchval("select count(*) from ballot_comments") == 0


async def test_closing_needs_k_shares_and_a_wrong_share_changes_nothing(
    client: Client, conn: asyncpg.Connection
) -> None:
    round_id, tokens = await _opened(client, conn)
    await _vote(client, tokens)
    operator = await make_key(conn, Role.PERSONNEL, "UB")
    # The operator's key collects no share.
    response = await client.post(f"/ballot-rounds/{round_id}/committee/share", headers=operator)
    assert response.status_code == 403
    shares, members = await collect_shares(client, conn, round_id)
    assert len(set(shares)) == 3
    # The share is sealed to its member's own key: fetching it again gives the same box.
    again = await client.post(f"/ballot-rounds/{round_id}/committee/share", headers=members[0])
    assert again.status_code == 200
    assert await conn.fetchval("select count(wrapped_share) from ballot_committee") == 0
    url = f"/ballot-rounds/{round_id}/close"
    wrong = shares[1][:-1] + ("0" if shares[1][-1] != "0" else "1")
    other_round = f"{round_id + 1}" + shares[1][len(str(round_id)) :]
    attempts = [
        ([shares[0]], "shares"),  # k - 1
        ([shares[0], shares[0]], "shares[1]"),  # the same member twice
        ([shares[0], wrong], "shares[1]"),  # mistyped
        ([shares[0], other_round], "shares[1]"),
        ([shares[0], "hello"], "shares[1]"),
    ]
    for given, field in attempts:
        for headers in (members[0], operator):
            response = await client.post(url, json={"shares": given}, headers=headers)
            assert response.status_code == 422, (given, response.text)
            assert response.json()["extra"][0]["field"] == field
            assert "stays open" in response.json()["detail"]
    rnd = await conn.fetchrow("select status, receipts_root from ballot_rounds")
    assert (rnd["status"], rnd["receipts_root"]) == ("open", None)
    assert await conn.fetchval("select count(*) from ballot_sheets") == 5
    assert await conn.fetchval("select count(*) from ballots") == 0
    # Still open: more ballots are taken.
    late = await client.post("/ballot/ballots", json={"target": "H"}, headers=bearer(tokens["S6"]))
    assert late.status_code == 201
    # Any k members close it (here members 3 and 2).
    closed = await client.post(url, json={"shares": [shares[2], shares[1]]}, headers=members[2])
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body["status"] == "closed"
    assert body["sheets"] == {"counted": 6, "invalid": 0}
    assert len(body["closed_by"]) == 2  # the two members whose shares were used
    detail = (await client.get(f"/ballot-rounds/{round_id}/tallies/H", headers=operator)).json()
    assert detail["valid"] == 6
    assert detail["levels"]["KHT"] == 5
    assert sorted(detail["comments"]) == [f"{SECRET} S{i}" for i in range(1, 6)]
    assert await conn.fetchval("select count(*) from ballot_sheets") == 0


async def test_client_sealed_sheets_receipts_and_invalid_sheets(
    client: Client, conn: asyncpg.Connection
) -> None:
    round_id, tokens = await _opened(client, conn)
    pending = (await client.get("/ballot/targets", headers=bearer(tokens["S1"]))).json()
    assert len(base64.b64decode(pending["public_key"])) == 32
    everyone = [t["code"] for t in pending["targets"]]
    answers: dict[str, dict[str, object]] = {code: {} for code in everyone}
    answers["H"] = {"marks": {"C1": "observed", "L1": "no_basis"}, "level": "HT", "comment": SECRET}
    answers["S2"] = {"marks": {"S1": "observed"}, "confidence": "low"}
    body, receipt = seal_sheet(pending, answers)
    sent = await client.post("/ballot/sealed-sheets", json=body, headers=bearer(tokens["S1"]))
    assert sent.status_code == 201, sent.text
    assert sent.json() == {
        "round_id": round_id,
        "ballots": 7,
        "submitted": True,
        "receipt": receipt.hex(),
        "sealed_by": "client",
    }
    # A second sheet stores nothing (409); the voter has nobody left to ballot.
    again = await client.post("/ballot/sealed-sheets", json=body, headers=bearer(tokens["S1"]))
    assert again.status_code == 409
    # What the server checks: exactly the pending colleagues (not self, in the group), size.
    s4 = ["H", "D", "S1", "S2", "S3", "S5", "S6"]
    for bad, status in (
        ({"targets": ["S4", *s4[1:]], "sealed": body["sealed"]}, 422),
        ({"targets": ["X1", *s4[1:]], "sealed": body["sealed"]}, 422),
        ({"targets": s4[1:], "sealed": body["sealed"]}, 422),  # H missing
        ({"targets": s4, "sealed": "not base64!" * 10}, 422),
        ({"targets": s4, "sealed": base64.b64encode(b"x" * 100_000).decode()}, 422),
    ):
        response = await client.post(
            "/ballot/sealed-sheets", json=bad, headers=bearer(tokens["S4"])
        )
        assert response.status_code == status, (bad, response.text)
    # Sheets the server cannot read but that are wrong inside: counted as invalid at close.
    pending2 = (await client.get("/ballot/targets", headers=bearer(tokens["S2"]))).json()
    lying, _ = seal_sheet(pending2, {"H": {}})
    lying["targets"] = [t["code"] for t in pending2["targets"]]  # declares 7, holds 1
    assert (
        await client.post("/ballot/sealed-sheets", json=lying, headers=bearer(tokens["S2"]))
    ).status_code == 201
    garbage = boxes.seal(base64.b64decode(pending2["public_key"]), b'{"round": 1}')
    assert (
        await client.post(
            "/ballot/sealed-sheets",
            json={
                "targets": ["H", "D", "S1", "S2", "S4", "S5", "S6"],
                "sealed": base64.b64encode(garbage).decode(),
            },
            headers=bearer(tokens["S3"]),
        )
    ).status_code == 201
    assert (
        await client.get(f"/ballot-rounds/{round_id}/receipts/{receipt.hex()}")
    ).status_code == 409  # proofs come with the close

    shares, members = await collect_shares(client, conn, round_id)
    closed = await client.post(
        f"/ballot-rounds/{round_id}/close", json={"shares": shares[:2]}, headers=members[0]
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["sheets"] == {"counted": 1, "invalid": 2}
    assert closed.json()["ballots_by_channel"] == {"online": 7, "paper": 0}
    # The receipt verifies against the published root; a forged one does not.
    proof = await client.get(f"/ballot-rounds/{round_id}/receipts/{receipt.hex()}")
    assert proof.status_code == 200, proof.text
    assert proof.json()["root"] == closed.json()["receipts_root"]
    assert proof_checks(proof.json(), receipt)
    forged = hashlib.sha256(b"forged").digest()
    assert (
        await client.get(f"/ballot-rounds/{round_id}/receipts/{forged.hex()}")
    ).status_code == 404
    assert not proof_checks(proof.json() | {"receipt": forged.hex()}, forged)
    assert (await client.get(f"/ballot-rounds/{round_id}/receipts/zz")).status_code == 422
    operator = await make_key(conn, Role.AUDITOR)
    detail = (await client.get(f"/ballot-rounds/{round_id}/tallies/H", headers=operator)).json()
    assert detail.get("withheld") is True  # one valid ballot: below k_min, nothing shown
    listing = (await client.get(f"/ballot-rounds/{round_id}/tallies", headers=operator)).json()
    assert listing["sheets"] == {"counted": 1, "invalid": 2}  # reported with the tally
    assert listing["ballots_by_channel"] == {"online": 7, "paper": 0}


@pytest.mark.parametrize("as_operator", [True, False])
async def test_an_operator_key_cannot_act_as_a_committee_member(
    client: Client, conn: asyncpg.Connection, as_operator: bool
) -> None:
    round_id, _ = await _opened(client, conn)
    headers = await make_key(
        conn, Role.ADMIN if as_operator else Role.PERSONNEL, None if as_operator else "UB"
    )
    upload = await client.post(
        f"/ballot-rounds/{round_id}/paper-ballots",
        content=b"target,marks\nH,111\n",
        headers=headers | {"content-type": "text/csv", "idempotency-key": "x"},
    )
    assert upload.status_code == 403
    assert await conn.fetchval("select count(*) from ballot_uploads") == 0


async def test_the_database_with_the_services_secret_key_yields_no_share(
    client: Client, conn: asyncpg.Connection, db_dsn: str, tmp_path: Path
) -> None:
    """Everything the DBA and the service hold together (a dump of the database, the
    service's secret key) opens no committee share: each is sealed to its member's key."""
    round_id, tokens = await _opened(client, conn)
    await _vote(client, tokens)
    shares, _ = await collect_shares(client, conn, round_id)  # opened with the members' files
    dump = tmp_path / "db.dump"
    await asyncio.to_thread(backup.dump, db_dsn, dump)
    restored = await asyncio.to_thread(
        subprocess.run,
        [backup.client_program("pg_restore"), "--file=-", str(dump)],
        capture_output=True,
        check=True,
    )
    plain = restored.stdout
    keys = keys_of(client.app.state)
    for text in shares:
        share = sharing.parse(text)
        for needle in (text.encode(), share.value, share.value.hex().encode()):
            assert needle not in plain, text
    rows = await conn.fetch(
        "select user_id, sealed_share, wrapped_share from ballot_committee where round_id = $1",
        round_id,
    )
    assert len(rows) == 3
    assert all(r["wrapped_share"] is None for r in rows)
    committee = await demo_committee(conn)
    file_of = {p.user_id: f for p, f in zip(committee.principals, committee.key_files, strict=True)}
    for row in rows:
        sealed = bytes(row["sealed_share"])
        # The service's secret key, as the earlier wrapping used it, opens nothing ...
        with pytest.raises(CryptoError):
            ballot_committee._wrap_box(keys, round_id, row["user_id"]).decrypt(sealed)
        # ... only the member's own key file does, not another member's.
        assert member_keys.open_share(file_of[row["user_id"]], sealed) in shares
        other = next(f for uid, f in file_of.items() if uid != row["user_id"])
        with pytest.raises(member_keys.MemberKeyError):
            member_keys.open_share(other, sealed)
