"""Committee keys: each member registers the public half of their own key; a round opens
only when every member has one, and each share is sealed to its member's key."""

from __future__ import annotations

import base64

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from evalsvc.domain.access import Role
from evalsvc.sealing import member_keys
from tests.conftest import make_key
from tests.integration.ballots_seed import committee_headers, round_body
from tests.integration.test_ballots_flow import seed_unit

Client = AsyncTestClient  # type: ignore[type-arg]


async def test_members_register_keys_and_a_round_opens_only_when_all_have_one(
    client: Client, conn: asyncpg.Connection
) -> None:
    catalog_id, _ = await seed_unit(conn)
    operator = await make_key(conn, Role.PERSONNEL, "UB")
    members = await committee_headers(conn)
    # An operator's key has no committee key of its own.
    assert (await client.get("/committee-key", headers=operator)).status_code == 403
    for bad in ("not base64!", base64.b64encode(b"short").decode(), "A" * 43 + "="):
        answer = await client.put("/committee-key", json={"public_key": bad}, headers=members[0])
        assert answer.status_code == 422, (bad, answer.text)
        assert answer.json()["extra"][0]["field"] == "public_key"
    # Member 3 forgets their key: the round does not open, naming them; nothing changes.
    await conn.execute("update users set committee_public_key = null where username = 'kiemphieu3'")
    created = await client.post(
        "/ballot-rounds", json=round_body(catalog_id, "UB"), headers=operator
    )
    round_id = created.json()["id"]
    refused = await client.post(f"/ballot-rounds/{round_id}/open", headers=operator)
    assert refused.status_code == 422, refused.text
    assert "kiemphieu3" in refused.json()["extra"][0]["reason"]
    status = await conn.fetchval("select status from ballot_rounds where id = $1", round_id)
    assert status == "draft"
    assert await conn.fetchval("select count(share_hash) from ballot_committee") == 0
    # They make a key on their machine and register its public half.
    key_file, public = member_keys.new_key()
    text = base64.b64encode(public).decode()
    put = await client.put("/committee-key", json={"public_key": text}, headers=members[2])
    assert put.status_code == 200, put.text
    got = await client.get("/committee-key", headers=members[2])
    assert got.json()["public_key"] == text
    opened = await client.post(f"/ballot-rounds/{round_id}/open", headers=operator)
    assert opened.status_code == 200, opened.text
    # Their share is sealed to that key: it opens with the file, and only with it.
    share = await client.post(f"/ballot-rounds/{round_id}/committee/share", headers=members[2])
    sealed = base64.b64decode(share.json()["sealed_share"])
    assert share.json()["member_public_key"] == text
    assert member_keys.open_share(key_file, sealed).startswith(f"{round_id}-")
    # A key registered later does not reach a round already open.
    later, later_public = member_keys.new_key()
    await client.put(
        "/committee-key",
        json={"public_key": base64.b64encode(later_public).decode()},
        headers=members[2],
    )
    again = await client.post(f"/ballot-rounds/{round_id}/committee/share", headers=members[2])
    assert base64.b64decode(again.json()["sealed_share"]) == sealed
    with pytest.raises(member_keys.MemberKeyError):
        member_keys.open_share(later, sealed)
