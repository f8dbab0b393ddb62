"""Login, logout, forced password change, CSRF, rate limit, language switch, offline docs."""

from __future__ import annotations

import asyncpg

from evalsvc.domain.access import Role
from tests.web.helpers import PASSWORD, Client, csrf_of, form_post, login, make_user


async def test_login_logout_and_session_cookie(client: Client, conn: asyncpg.Connection) -> None:
    await make_user(conn, "lan", Role.ADMIN)
    home = await client.get("/")
    assert home.status_code == 200
    assert "Đăng nhập" in home.text  # Vietnamese by default
    assert (await client.get("/admin/users", follow_redirects=False)).status_code in (303, 404)

    wrong = await login(client, "lan", "not-the-password")
    assert wrong.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in wrong.text

    ok = await login(client, "lan")
    assert ok.status_code == 303
    set_cookie = ok.headers["set-cookie"]
    assert "evalsvc_session=" in set_cookie
    assert "HttpOnly" in set_cookie
    assert "SameSite=lax" in set_cookie or "SameSite=Lax" in set_cookie
    assert "Secure" not in set_cookie  # plain HTTP here; Secure behind TLS
    home = await client.get("/")
    assert "Xin chào, Người lan" in home.text

    out = await form_post(client, "/logout", {}, page=home.text)
    assert out.status_code == 303
    assert await conn.fetchval("select count(*) from user_sessions") == 0
    assert "Xin chào" not in (await client.get("/")).text


async def test_post_without_csrf_is_refused(client: Client, conn: asyncpg.Connection) -> None:
    await make_user(conn, "lan", Role.ADMIN)
    await client.get("/login")
    response = await client.post("/login", data={"username": "lan", "password": PASSWORD})
    assert response.status_code == 403
    assert "Biểu mẫu đã hết hạn" in response.text
    forged = await client.post(
        "/login", data={"username": "lan", "password": PASSWORD, "_csrf": "0" * 64}
    )
    assert forged.status_code == 403
    assert await conn.fetchval("select count(*) from user_sessions") == 0


async def test_first_login_must_change_password(client: Client, conn: asyncpg.Connection) -> None:
    await make_user(conn, "moi", Role.AUDITOR, must_change=True)
    assert (await login(client, "moi")).status_code == 303
    forced = await client.get("/", follow_redirects=False)
    assert forced.status_code == 303
    assert forced.headers["location"] == "/account/password"
    form = await client.get("/account/password")
    assert "Vui lòng đặt mật khẩu của riêng bạn" in form.text
    short = await form_post(
        client,
        "/account/password",
        {"current_password": PASSWORD, "password": "ngan", "password_again": "ngan"},
        page=form.text,
    )
    assert short.status_code == 422
    assert "cần ít nhất 10 ký tự" in short.text
    done = await form_post(
        client,
        "/account/password",
        {
            "current_password": PASSWORD,
            "password": "mat-khau-rieng-1",
            "password_again": "mat-khau-rieng-1",
        },
    )
    assert done.status_code == 200, done.text
    assert "Đã đổi mật khẩu" in done.text
    assert (await client.get("/", follow_redirects=False)).status_code == 200


async def test_login_rate_limit(client: Client, conn: asyncpg.Connection) -> None:
    await make_user(conn, "lan", Role.ADMIN)
    for _ in range(5):
        assert (await login(client, "lan", "wrong-password")).status_code == 401
    limited = await login(client, "lan")  # even the right password waits now
    assert limited.status_code == 429
    assert "Đăng nhập sai quá nhiều lần" in limited.text
    assert await conn.fetchval("select count(*) from user_sessions") == 0


async def test_english_switch_and_expired_session(client: Client, conn: asyncpg.Connection) -> None:
    switched = await client.get("/lang/en?next=/login", follow_redirects=False)
    assert switched.status_code == 303
    page = await client.get("/login")
    assert "Username" in page.text
    assert 'lang="en"' in page.text
    await client.get("/lang/vi?next=/")
    await make_user(conn, "lan", Role.ADMIN)
    await login(client, "lan")
    home = await client.get("/")
    await conn.execute("delete from user_sessions")  # expired or ended elsewhere
    late = await form_post(client, "/account/password", {"current_password": "x"}, page=home.text)
    assert late.status_code == 303
    assert late.headers["location"] == "/login?expired=1"
    notice = await client.get("/login?expired=1")
    assert "Phiên làm việc đã kết thúc" in notice.text
    _ = csrf_of(notice.text)


async def test_api_docs_load_nothing_from_elsewhere(client: Client) -> None:
    docs = await client.get("/schema")
    assert docs.status_code == 200
    assert "http://" not in docs.text.replace("http://www.w3.org", "")
    assert "https://" not in docs.text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text
    js = await client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js")
    assert js.status_code == 200
    assert len(js.content) > 1_000_000
