"""The audit trail: who changed what, appended in the change's transaction, never altered."""

from __future__ import annotations

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from evalsvc.domain.access import Role
from evalsvc.domain.audit import Actor
from evalsvc.store.audit import set_actor
from tests.conftest import make_key
from tests.integration.tasks_helpers import make_city

Client = AsyncTestClient  # type: ignore[type-arg]


def assessment(politics: float, **extra: object) -> dict[str, object]:
    return {
        "cadre_code": "A1",
        "month": "2026-06",
        "politics": politics,
        "capacity": 8,
        "innovation": 7,
        **extra,
    }


async def test_who_changed_the_june_assessment_and_from_what(
    client: Client, conn: asyncpg.Connection, admin_headers: dict[str, str]
) -> None:
    await make_city(conn)
    hr = await make_key(conn, Role.HR_SYSTEM, "DEP-A")
    first = await client.post(
        "/assessments", json=assessment(9), headers=admin_headers | {"X-Request-ID": "req-1"}
    )
    assert first.status_code == 201, first.text
    assert first.headers["x-request-id"] == "req-1"
    second = await client.post("/assessments/bulk", json=[assessment(6)], headers=hr)
    assert second.status_code == 200, second.text
    unchanged = await client.post("/assessments/bulk", json=[assessment(6)], headers=hr)
    assert unchanged.json()["unchanged"] == 1

    history = await client.get("/history/assessment/A1/2026-06", headers=admin_headers)
    assert history.status_code == 200, history.text
    items = history.json()["items"]
    assert [i["action"] for i in items] == ["assessment.insert", "assessment.update"]
    created, changed = items
    assert created["actor"] == {
        "kind": "key",
        "id": created["actor"]["id"],
        "label": "test admin",
        "role": "admin",
    }
    assert created["request_id"] == "req-1"
    assert created["before"] is None
    assert created["after"]["politics"] == 9
    assert changed["actor"]["role"] == "hr_system"
    assert changed["actor"]["label"] == "test hr_system"
    assert changed["before"]["politics"] == 9
    assert changed["after"]["politics"] == 6
    assert "updated_at" not in changed["after"]
    assert changed["request_id"]
    assert changed["request_id"] != "req-1"

    # A scoped key of another subtree reads no history of A1 (as if it had none).
    other = await make_key(conn, Role.PERSONNEL, "DEP-B")
    hidden = await client.get("/history/assessment/A1/2026-06", headers=other)
    assert hidden.json()["items"] == []
    mine = await client.get("/history/assessment/A1/2026-06", headers=hr)
    assert len(mine.json()["items"]) == 2


async def test_a_refused_write_leaves_no_entry_and_filters_find_entries(
    client: Client, conn: asyncpg.Connection, admin_headers: dict[str, str]
) -> None:
    await make_city(conn)
    before = await conn.fetchval("select count(*) from audit_log")
    bad = [assessment(6), assessment(6, cadre_code="NOPE")]
    refused = await client.post("/assessments/bulk", json=bad, headers=admin_headers)
    assert refused.status_code == 422
    assert await conn.fetchval("select count(*) from audit_log") == before

    assert (await client.post("/assessments", json=assessment(5), headers=admin_headers)).is_success
    by_action = await client.get(
        "/audit", params={"action": "assessment.insert"}, headers=admin_headers
    )
    assert by_action.json()["total"] == 1
    by_actor = await client.get("/audit", params={"actor_kind": "key"}, headers=admin_headers)
    assert {i["object_type"] for i in by_actor.json()["items"]} == {"assessment"}
    by_object = await client.get(
        "/audit", params={"object_type": "cadre", "object_key": "A1"}, headers=admin_headers
    )
    assert [i["actor"]["kind"] for i in by_object.json()["items"]] == ["db"]  # plain SQL
    future = await client.get(
        "/audit", params={"since": "2999-01-01T00:00:00Z"}, headers=admin_headers
    )
    assert future.json()["total"] == 0

    auditor = await make_key(conn, Role.AUDITOR)
    assert (await client.get("/audit", headers=auditor)).status_code == 200
    personnel = await make_key(conn, Role.PERSONNEL, "DEP-A")
    assert (await client.get("/audit", headers=personnel)).status_code == 403


@pytest.mark.parametrize(
    "statement",
    ["update audit_log set action = 'x'", "delete from audit_log", "truncate audit_log"],
)
async def test_the_database_refuses_to_change_the_trail(
    conn: asyncpg.Connection, statement: str
) -> None:
    await make_city(conn)
    assert await conn.fetchval("select count(*) from audit_log") > 0
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await conn.execute(statement)
    privileges = await conn.fetchval(
        "select has_table_privilege('public', 'audit_log', 'update, delete, truncate')"
    )
    assert privileges is False


async def test_keys_rounds_and_cli_changes_are_recorded_without_secrets(
    conn: asyncpg.Connection,
) -> None:
    await make_city(conn)
    await set_actor(conn, Actor(kind="cli", label="operator"))
    await make_key(conn, Role.AUDITOR)
    await conn.execute("update api_keys set revoked_at = now()")
    rows = await conn.fetch(
        "select action, actor_kind, actor_label, after from audit_log "
        "where object_type = 'api_key' order by id"
    )
    assert [r["action"] for r in rows] == ["api_key.insert", "api_key.update"]
    assert {(r["actor_kind"], r["actor_label"]) for r in rows} == {("cli", "operator")}
    for r in rows:
        assert "secret_hash" not in r["after"]


async def test_no_ballot_table_is_tracked(conn: asyncpg.Connection) -> None:
    tracked = await conn.fetch(
        "select distinct c.relname from pg_trigger t join pg_class c on c.oid = t.tgrelid "
        "where t.tgname like 'audit_%' and not t.tgisinternal"
    )
    names = {r["relname"] for r in tracked}
    assert {"supervisor_assessments", "cadres", "units", "ballot_rounds", "api_keys"} <= names
    assert names.isdisjoint(
        {"ballots", "ballot_ledger", "ballot_comments", "ballot_round_voters", "ballot_tallies"}
    )
