"""People's accounts: create, log in, sessions, disable, reset, change; and the CLI."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from evalsvc.domain.access import Role
from evalsvc.domain.accounts import session_hash
from evalsvc.domain.errors import Conflict, RuleViolation
from evalsvc.store import users
from tests.integration.ballots_seed import add_unit
from tests.integration.test_cli import evalsvc


async def test_account_life(conn: asyncpg.Connection) -> None:
    await add_unit(conn, "UB")
    user_id = await users.create_user(
        conn, " Lan.TCCB ", "Trần Thị Lan", Role.PERSONNEL, "UB", "tam-thoi-123", "cli"
    )
    row = await conn.fetchrow("select * from users where id = $1", user_id)
    assert row["username"] == "lan.tccb"
    assert row["password_hash"].startswith("$argon2id$")
    assert row["must_change_password"] is True
    assert row["created_by"] == "cli"

    assert await users.check_login(conn, "lan.tccb", "wrong-password") is None
    assert await users.check_login(conn, "nobody", "tam-thoi-123") is None
    assert await users.check_login(conn, "LAN.TCCB", "tam-thoi-123") == user_id

    token = await users.start_session(conn, user_id)
    who = await users.session_user(conn, token)
    assert who is not None
    assert who.must_change_password
    assert who.principal.kind == "user"
    assert who.principal.actor == f"user:{user_id}"
    assert who.principal.scope_unit_id == row["unit_id"]
    assert await users.session_user(conn, token + "x") is None

    other = await users.start_session(conn, user_id)
    with pytest.raises(RuleViolation):
        await users.change_password(conn, user_id, "bad", "mat-khau-moi-456", None)
    with pytest.raises(RuleViolation):
        await users.change_password(conn, user_id, "tam-thoi-123", "short", None)
    await users.change_password(
        conn, user_id, "tam-thoi-123", "mat-khau-moi-456", session_hash(token)
    )
    kept = await users.session_user(conn, token)
    assert kept is not None
    assert not kept.must_change_password
    assert await users.session_user(conn, other) is None  # other sessions ended

    await users.disable_user(conn, "lan.tccb")
    assert await users.session_user(conn, token) is None
    assert await users.check_login(conn, "lan.tccb", "mat-khau-moi-456") is None
    with pytest.raises(Conflict):
        await users.disable_user(conn, "lan.tccb")


async def test_bad_accounts_are_refused(conn: asyncpg.Connection) -> None:
    await users.create_user(conn, "admin1", "", Role.ADMIN, None, "a-long-password", "cli")
    with pytest.raises(Conflict):
        await users.create_user(conn, "ADMIN1", "", Role.ADMIN, None, "a-long-password", "cli")
    with pytest.raises(RuleViolation, match="needs the unit"):
        await users.create_user(conn, "p1", "", Role.PERSONNEL, None, "a-long-password", "cli")
    with pytest.raises(RuleViolation, match="username"):
        await users.create_user(conn, "Nguyễn", "", Role.ADMIN, None, "a-long-password", "cli")
    with pytest.raises(RuleViolation, match="password"):
        await users.create_user(conn, "a2", "", Role.ADMIN, None, "a2", "cli")


def test_users_cli(tmp_path: Path) -> None:
    created = evalsvc(tmp_path, "users", "create", "ha.admin", "--role", "admin", "--name", "Hà")
    assert created.returncode == 0, created.stderr
    password = created.stdout.strip().splitlines()[-1]
    assert len(password) >= 10
    listed = evalsvc(tmp_path, "users", "list")
    assert "ha.admin\tadmin\t-\tmust-change-password\tHà" in listed.stdout
    again = evalsvc(tmp_path, "users", "create", "ha.admin", "--role", "admin")
    assert again.returncode != 0
    assert "taken" in again.stderr
    reset = evalsvc(tmp_path, "users", "reset-password", "ha.admin")
    assert reset.returncode == 0, reset.stderr
    assert reset.stdout.strip().splitlines()[-1] != password
    disabled = evalsvc(tmp_path, "users", "disable", "ha.admin")
    assert disabled.returncode == 0, disabled.stderr
    assert "ha.admin\tadmin\t-\tdisabled" in evalsvc(tmp_path, "users", "list").stdout
    missing = evalsvc(tmp_path, "users", "disable", "nobody")
    assert missing.returncode != 0
    assert "no user 'nobody'" in missing.stderr


async def test_demo_login_is_reset_at_each_start(conn: asyncpg.Connection) -> None:
    await users.demo_login(conn, "admin", "first-password-1")
    assert await users.check_login(conn, "admin", "first-password-1") is not None
    await users.disable_user(conn, "admin")
    await users.demo_login(conn, "admin", "second-password-2")
    assert await users.check_login(conn, "admin", "first-password-1") is None
    user_id = await users.check_login(conn, "admin", "second-password-2")
    assert user_id is not None
    token = await users.start_session(conn, user_id)
    who = await users.session_user(conn, token)
    assert who is not None
    assert not who.must_change_password
    assert who.role == Role.ADMIN
