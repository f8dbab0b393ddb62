from __future__ import annotations

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from evalsvc.api.app import create_app
from evalsvc.api.guards import ROLES_KEY
from evalsvc.domain.access import Role, generate_key
from evalsvc.settings import Settings
from evalsvc.store.keys import create_key, revoke_key
from tests.conftest import make_key
from tests.integration.city import build_city

Client = AsyncTestClient  # type: ignore[type-arg]

# Voters authenticate with their ballot token, not an API key.
OPEN_PATHS = {
    "/health",
    "/ballot/targets",
    "/ballot/ballots",
    "/ballot/sheets",
    "/ballot/sealed-sheets",  # the voter's code is checked by the store
    "/ballot-rounds/{round_id:int}/receipts/{receipt:str}",  # a proof reveals no content
}


def test_every_route_declares_who_may_call_it(settings: Settings) -> None:
    app: Litestar = create_app(settings, settings.database_url)
    undeclared = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            path = route.path
            if path.startswith("/schema") or handler.http_methods == {"OPTIONS"}:
                continue  # API docs are open; OPTIONS handlers are Litestar's own
            if handler.opt.get("public") and "page" in handler.opt:
                continue  # a page: the page guard checks its session (tests/web)
            if handler.opt.get("public") and path.startswith("/static"):
                continue  # the shipped assets
            if handler.opt.get("public"):
                assert path in OPEN_PATHS, f"{path} is public"
            elif not handler.opt.get(ROLES_KEY):
                undeclared.append(f"{sorted(handler.http_methods)} {path}")
    assert undeclared == []


async def test_missing_malformed_unknown_and_revoked_keys_get_401(
    client: Client, conn: asyncpg.Connection
) -> None:
    assert (await client.get("/units")).status_code == 401
    bad = {"Authorization": "Bearer not-a-key"}
    assert (await client.get("/units", headers=bad)).status_code == 401
    forged = {"Authorization": "Bearer evs_000000000000_" + "x" * 43}
    assert (await client.get("/units", headers=forged)).status_code == 401
    key = generate_key()
    await create_key(conn, key, Role.AUDITOR, None, "soon revoked")
    headers = {"Authorization": f"Bearer {key.token}"}
    assert (await client.get("/units", headers=headers)).status_code == 200
    await revoke_key(conn, key.prefix)
    response = await client.get("/units", headers=headers)
    assert response.status_code == 401
    assert response.json()["detail"] == "unknown or revoked API key"
    assert (await client.get("/health")).status_code == 200


async def test_the_secret_must_match_not_just_the_prefix(
    client: Client, conn: asyncpg.Connection
) -> None:
    key = generate_key()
    await create_key(conn, key, Role.ADMIN, None, "")
    tampered = key.token[:-1] + ("A" if key.token[-1] != "A" else "B")
    assert (await client.get("/units", headers={"X-API-Key": key.token})).status_code == 200
    assert (await client.get("/units", headers={"X-API-Key": tampered})).status_code == 401


@pytest.mark.parametrize(
    ("role", "read", "write_units", "load_catalog"),
    [
        (Role.ADMIN, 200, 200, 201),
        (Role.AUDITOR, 200, 403, 403),
        (Role.HR_SYSTEM, 200, 403, 403),
        (Role.PERSONNEL, 200, 200, 403),
    ],
)
async def test_roles_gate_reads_and_writes(
    client: Client,
    conn: asyncpg.Connection,
    admin_headers: dict[str, str],
    role: Role,
    read: int,
    write_units: int,
    load_catalog: int,
) -> None:
    await build_city(client, admin_headers)
    headers = await make_key(conn, role, "SNV" if role.scoped else None)
    assert (await client.get("/units", headers=headers)).status_code == read
    new_unit = [{"code": "SNV-X", "name": "Phòng X", "kind": "division", "parent_code": "SNV"}]
    assert (await client.post("/units/bulk", json=new_unit, headers=headers)).status_code == (
        write_units
    )
    catalog = {
        "name": "c",
        "title": "t",
        "items": [{"code": "1", "text": "x", "group": 1, "forms": ["staff"]}],
    }
    assert (await client.post("/catalogs", json=catalog, headers=headers)).status_code == (
        load_catalog
    )


async def test_scoped_roles_need_a_unit_and_others_refuse_one(conn: asyncpg.Connection) -> None:
    from evalsvc.domain.errors import RuleViolation

    with pytest.raises(RuleViolation, match="unit"):
        await create_key(conn, generate_key(), Role.PERSONNEL, None, "")
    with pytest.raises(RuleViolation, match="city-wide"):
        await create_key(conn, generate_key(), Role.AUDITOR, "HN", "")


async def test_only_a_hash_of_the_key_is_stored(conn: asyncpg.Connection) -> None:
    key = generate_key()
    await create_key(conn, key, Role.ADMIN, None, "")
    row = await conn.fetchrow("select * from api_keys")
    secret = key.token.split("_", 2)[2]
    assert secret.encode() not in b"".join(
        str(v).encode() if not isinstance(v, bytes) else v for v in row.values()
    )
