"""End to end over HTTP: create, open (tokens), vote, refuse bad ballots, close, read."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from evalsvc.domain.access import Role
from evalsvc.store import ballot_rounds
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


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def seed_unit(conn: asyncpg.Connection) -> tuple[int, dict[str, int]]:
    """Unit UB: head H, deputy D, staff S1..S6 (8 cadres); one other unit UX with X1."""
    unit = await add_unit(conn, "UB")
    other = await add_unit(conn, "UX")
    ids = {"H": await add_cadre(conn, "H", unit, "head")}
    ids["D"] = await add_cadre(conn, "D", unit, "deputy")
    for i in range(1, 7):
        ids[f"S{i}"] = await add_cadre(conn, f"S{i}", unit, "staff")
    ids["X1"] = await add_cadre(conn, "X1", other, "staff")
    return await add_catalog(conn), ids


async def open_round(
    client: Client, headers: dict[str, str], body: dict[str, Any]
) -> tuple[int, dict[str, str]]:
    created = await client.post("/ballot-rounds", json=body, headers=headers)
    assert created.status_code == 201, created.text
    round_id = created.json()["id"]
    opened = await client.post(f"/ballot-rounds/{round_id}/open", headers=headers)
    assert opened.status_code == 200, opened.text
    assert "tokens" not in opened.json()  # the operator never sees a voter's code
    outbox = client.app.state.settings.outbox
    return round_id, await outbox_codes(outbox, round_id, opened.json()["invitations"]["email"])


@pytest.mark.parametrize("analyze_from", [5_000, 1], ids=["small", "analyzed"])
async def test_round_lifecycle_with_hand_checked_tally(
    client: Client, conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch, analyze_from: int
) -> None:
    # "analyzed": the statistics refresh of large rounds runs too (inside the transaction).
    monkeypatch.setattr(ballot_rounds, "ANALYZE_FROM", analyze_from)
    catalog_id, ids = await seed_unit(conn)
    headers = await make_key(conn, Role.PERSONNEL, "UB")
    round_id, tokens = await open_round(client, headers, round_body(catalog_id, "UB"))
    assert sorted(tokens) == ["D", "H", "S1", "S2", "S3", "S4", "S5", "S6"]
    rnd = (await client.get(f"/ballot-rounds/{round_id}", headers=headers)).json()
    assert rnd["status"] == "open"
    assert rnd["targets"] == 8
    assert rnd["voters"] == 8
    assert rnd["period"] == "2026-Q1"
    assert rnd["period_start"] == "2026-01-01"

    pending = (await client.get("/ballot/targets", headers=bearer(tokens["S1"]))).json()
    assert [t["code"] for t in pending["targets"]] == ["D", "H", "S2", "S3", "S4", "S5", "S6"]
    assert [i["code"] for i in pending["forms"]["leader"]] == ["C1", "C2", "L1"]
    assert [i["code"] for i in pending["forms"]["staff"]] == ["C1", "C2", "S1"]

    # Six ballots for the head H (eligible 7): quorum needs ⌈14/3⌉ = 5 and k_min 5.
    # C1: observed 4, no basis 1 -> 4/5 confirmed. C2: 2/6 = 1/3 exactly -> not watch.
    # L1: observed 2, no basis 1 -> 2/5 watch. Confidence low 4 of 6 -> low and escalated.
    ballots_for_h = [
        ("S1", {"C1": "observed", "C2": "observed", "L1": "observed"}, "HT", "low", "b nhận xét"),
        ("S2", {"C1": "observed", "C2": "observed", "L1": "observed"}, "HT", "low", None),
        ("S3", {"C1": "observed", "L1": "no_basis"}, "HT", "low", "A nhận xét"),
        ("S4", {"C1": "observed", "C2": "not_observed"}, "KHT", "low", None),
        ("S5", {"C1": "no_basis"}, None, "normal", None),
        ("D", {}, None, None, None),
    ]
    for voter, marks, level, confidence, comment in ballots_for_h:
        body: dict[str, Any] = {"target": "H", "marks": marks}
        if level:
            body["level"] = level
        if confidence:
            body["confidence"] = confidence
        if comment:
            body["comment"] = comment
        response = await client.post("/ballot/ballots", json=body, headers=bearer(tokens[voter]))
        assert response.status_code == 201, response.text
    # Four ballots for S2: below k_min, withheld.
    for voter in ("S1", "S3", "S4", "H"):
        response = await client.post(
            "/ballot/ballots",
            json={"target": "S2", "marks": {"S1": "observed"}},
            headers=bearer(tokens[voter]),
        )
        assert response.status_code == 201, response.text

    pending = (await client.get("/ballot/targets", headers=bearer(tokens["S1"]))).json()
    assert [t["code"] for t in pending["targets"]] == ["D", "S3", "S4", "S5", "S6"]

    # Refusals, each storing nothing.
    before = await conn.fetchval("select count(*) from ballot_sheets")
    refusals = [
        (tokens["S6"], {"target": "H", "marks": {"S1": "observed"}}, 422, "marks.S1"),
        (tokens["S6"], {"target": "H", "marks": {"Z9": "observed"}}, 422, "marks.Z9"),
        (tokens["S6"], {"target": "S6"}, 422, "target"),
        (tokens["S6"], {"target": "X1"}, 422, "target"),
        (tokens["S6"], {"target": "H", "extra": 1}, 400, None),
        (tokens["S6"], {"target": "H", "marks": {"C1": "maybe"}}, 400, None),
        (tokens["S1"], {"target": "H"}, 409, None),
        ("bv_not-a-token", {"target": "H"}, 403, None),
    ]
    for token, body, status, field in refusals:
        response = await client.post("/ballot/ballots", json=body, headers=bearer(token))
        assert response.status_code == status, (body, response.text)
        if field:
            assert response.json()["extra"][0]["field"] == field
    assert (await client.post("/ballot/ballots", json={"target": "H"})).status_code == 401
    assert await conn.fetchval("select count(*) from ballot_sheets") == before == 10
    assert await conn.fetchval("select count(*) from ballots") == 0  # sealed until close

    # Results do not exist before closing; a voter's token does not read them.
    assert (
        await client.get(f"/ballot-rounds/{round_id}/tallies", headers=headers)
    ).status_code == 409
    closed = await close_round(client, conn, round_id)
    assert closed.status_code == 200, closed.text
    assert closed.json()["sheets"] == {"counted": 10, "invalid": 0}
    assert closed.json()["ballots_by_channel"] == {"online": 10, "paper": 0}
    assert closed.json()["tally"] == {
        "targets": 8,
        "targets_reported": 1,
        "targets_with_quorum": 1,
        "valid_ballots": 10,
    }
    # H's confirmed C1 and watched L1 open remediation items (settings default "watch"),
    # due 90 days after closing.
    assert closed.json()["remediation_opened"] == 2
    opened = await conn.fetch(
        "select cadre_id, origin, origin_ref, item_code, due_on - identified_on as days "
        "from remediation_items order by item_code"
    )
    assert [tuple(r) for r in opened] == [
        (ids["H"], "ballot_round", f"round:{round_id}", "C1", 90),
        (ids["H"], "ballot_round", f"round:{round_id}", "L1", 90),
    ]
    from evalsvc.store.remediation import open_from_ballot_round

    assert await open_from_ballot_round(conn, round_id, "watch", 90) == 0  # idempotent
    late = await client.post("/ballot/ballots", json={"target": "D"}, headers=bearer(tokens["S6"]))
    assert late.status_code == 409

    auditor = await make_key(conn, Role.AUDITOR)
    listing = (await client.get(f"/ballot-rounds/{round_id}/tallies", headers=auditor)).json()
    by_code = {t["target"]: t for t in listing["items"]}
    assert by_code["S2"] == {
        "target": "S2",
        "full_name": "Nguyễn Văn S2",
        "form": "staff",
        "withheld": True,
    }
    h = by_code["H"]
    assert (h["eligible"], h["valid"], h["quorum"]) == (7, 6, True)
    assert (h["confirmed"], h["watch"]) == (["C1"], ["L1"])
    assert (h["low_confidence"], h["escalated"]) == (True, True)

    detail = (await client.get(f"/ballot-rounds/{round_id}/tallies/H", headers=auditor)).json()
    items = {i["code"]: i for i in detail["items"]}
    assert (items["C1"]["observed"], items["C1"]["no_basis"], items["C1"]["share"]) == (4, 1, 0.8)
    assert items["C1"]["flag"] == "confirmed"
    assert items["C1"]["group"] == 1
    assert (items["C2"]["observed"], items["C2"]["share"], items["C2"]["flag"]) == (2, 0.3333, None)
    assert (items["L1"]["observed"], items["L1"]["no_basis"], items["L1"]["flag"]) == (
        2,
        1,
        "watch",
    )
    assert detail["levels"] == {"KHT": 1, "HT": 3, "HTT": 0, "HTXS": 0, "blank": 2}
    assert detail["confidence"] == {"low": 4, "normal": 1, "high": 0, "blank": 1}
    assert detail["comments"] == ["A nhận xét", "b nhận xét"]
    withheld = (await client.get(f"/ballot-rounds/{round_id}/tallies/S2", headers=auditor)).json()
    assert withheld["withheld"] is True
    assert "items" not in withheld
    assert "comments" not in withheld

    # What scoring reads: one query, per cadre and covered month.
    from evalsvc.store.sqlfiles import queries

    rows = await conn.fetch(
        queries("ballots")["confirmed_for_months"],
        None,
        __import__("datetime").date(2026, 1, 1),
        __import__("datetime").date(2026, 12, 1),
    )
    assert [
        (
            r["cadre_id"],
            r["month"].month,
            list(r["confirmed_items"]),
            list(r["confirmed_groups"]),
            r["low_confidence"],
        )
        for r in rows
    ] == [(ids["H"], m, ["C1"], [1], True) for m in (1, 2, 3)]
    # A closed round is immutable.
    for method, path in (("patch", ""), ("delete", ""), ("post", "/open"), ("post", "/close")):
        kwargs: dict[str, Any] = {"headers": headers}
        if method == "patch":
            kwargs["json"] = {"title": "x"}
        if path == "/close":
            kwargs["json"] = {"shares": []}
        response = await getattr(client, method)(f"/ballot-rounds/{round_id}{path}", **kwargs)
        assert response.status_code == 409, (method, path, response.text)


async def test_concurrent_double_submissions_land_once(
    client: Client, conn: asyncpg.Connection
) -> None:
    unit = await add_unit(conn, "UC")
    await add_cadre(conn, "T", unit, "staff")
    for i in range(50):
        await add_cadre(conn, f"V{i:02d}", unit, "staff")
    catalog_id = await add_catalog(conn)
    headers = await make_key(conn, Role.ADMIN)
    round_id, tokens = await open_round(
        client,
        headers,
        round_body(catalog_id, "UC", targets=["T"], voters=[f"V{i:02d}" for i in range(50)]),
    )
    assert len(tokens) == 50

    async def submit(token: str) -> int:
        response = await client.post(
            "/ballot/ballots",
            json={"target": "T", "marks": {"C1": "observed"}},
            headers=bearer(token),
        )
        return response.status_code

    statuses = await asyncio.gather(*(submit(t) for t in tokens.values() for _ in range(2)))
    assert sorted(statuses) == [201] * 50 + [409] * 50
    assert await conn.fetchval("select count(*) from ballot_sheets") == 50
    assert await conn.fetchval("select count(*) from ballot_ledger where not sheet") == 50
    # Each voter had one colleague: balloting it finished their sheet.
    participation = await client.get(f"/ballot-rounds/{round_id}/participation", headers=headers)
    assert participation.json() == {"round_id": round_id, "voters": 50, "finished": 50}
    assert (await close_round(client, conn, round_id)).status_code == 200
    detail = (await client.get(f"/ballot-rounds/{round_id}/tallies/T", headers=headers)).json()
    assert (detail["valid"], detail["eligible"], detail["quorum"]) == (50, 50, True)
    assert detail["items"][0] == {
        "code": "C1",
        "text": "Đi muộn, về sớm",
        "group": 1,
        "observed": 50,
        "no_basis": 0,
        "share": 1.0,
        "flag": "confirmed",
    }


async def test_draft_rules_and_scope(client: Client, conn: asyncpg.Connection) -> None:
    catalog_id, _ = await seed_unit(conn)
    draft_catalog = await conn.fetchval(
        "insert into catalogs (name, version, title) values ('nhap', 1, 'Nháp') returning id"
    )
    personnel = await make_key(conn, Role.PERSONNEL, "UB")
    auditor = await make_key(conn, Role.AUDITOR)
    # Outside the personnel key's subtree: the same answer as an unknown unit.
    response = await client.post(
        "/ballot-rounds", json=round_body(catalog_id, "UX"), headers=personnel
    )
    assert response.status_code == 422
    assert response.json()["extra"] == [{"field": "unit", "reason": "no unit with code 'UX'"}]
    # Auditors do not manage rounds.
    response = await client.post(
        "/ballot-rounds", json=round_body(catalog_id, "UB"), headers=auditor
    )
    assert response.status_code == 403
    bad = [
        (round_body(draft_catalog, "UB"), 422, "catalog_id"),
        (round_body(catalog_id, "UB", targets=["X1"]), 422, "targets"),
        (round_body(catalog_id, "NOPE"), 422, "unit"),
        (round_body(catalog_id, "UB", period="2026-13"), 400, None),
        (round_body(catalog_id, "UB", k_min=1), 400, None),
        (round_body(catalog_id, "UB", surprise=True), 400, None),
    ]
    for body, status, field in bad:
        response = await client.post("/ballot-rounds", json=body, headers=personnel)
        assert response.status_code == status, (body, response.text)
        if field:
            assert response.json()["extra"][0]["field"] == field
    assert await conn.fetchval("select count(*) from ballot_rounds") == 0

    created = await client.post(
        "/ballot-rounds", json=round_body(catalog_id, "UB", voting_scope="round"), headers=personnel
    )
    round_id = created.json()["id"]
    patched = await client.patch(
        f"/ballot-rounds/{round_id}",
        json={"targets": ["H", "D"], "leader_positions": ["head"]},
        headers=personnel,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["targets"] == 2
    assert patched.json()["voters"] == 8
    forms = dict(
        await conn.fetch(
            "select c.code, t.form from ballot_round_targets t join cadres c on c.id = t.cadre_id"
        )
    )
    assert forms == {"H": "leader", "D": "staff"}
    eligible = await conn.fetchval("select min(eligible) from ballot_round_targets")
    assert eligible == 7
    listed = (await client.get("/ballot-rounds", headers=auditor)).json()
    assert [r["id"] for r in listed["items"]] == [round_id]
    assert listed["total"] == 1
    past = await client.get("/ballot-rounds", params={"offset": 5}, headers=auditor)
    assert past.json() == {"items": [], "total": 1, "limit": listed["limit"], "offset": 5}
    assert (await client.delete(f"/ballot-rounds/{round_id}", headers=personnel)).status_code == 204
    assert (await client.get(f"/ballot-rounds/{round_id}", headers=auditor)).status_code == 404
