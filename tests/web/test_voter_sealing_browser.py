"""The voter's page in a real browser (system Chromium via Playwright): the sheet is sealed
by the page's script before it leaves the browser, and the committee's close opens it."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
import uvicorn
from playwright.async_api import async_playwright

from evalsvc.api.app import create_app
from evalsvc.domain.access import Role
from evalsvc.settings import Settings
from tests.conftest import make_key
from tests.integration.ballots_seed import close_round, outbox_codes
from tests.integration.test_sheets import open_round, seed
from tests.web.helpers import Client

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def live_server(settings: Settings, db_dsn: str) -> Iterator[str]:
    """The app served by uvicorn on a free local port, in a thread."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, db_dsn), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        threading.Event().wait(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


async def test_the_page_seals_the_sheet_in_the_browser(
    client: Client, conn: asyncpg.Connection, live_server: str, settings: Settings
) -> None:
    catalog_id = await seed(conn)
    headers = await make_key(conn, Role.PERSONNEL, "UB")
    opened = await open_round(client, headers, catalog_id)
    codes = await outbox_codes(client.app.state.settings.outbox, opened["id"], 5)
    plaintext_seen: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM))
        page = await browser.new_page()
        page.on(
            "request",
            lambda r: plaintext_seen.append(r.post_data or "") if r.method == "POST" else None,
        )
        await page.goto(f"{live_server}/phieu/{codes['S1']}")
        await page.check('input[name="m.H.C1"][value="observed"]')
        await page.fill("#comment-H", "Bí mật trình duyệt")
        await page.click("button[type=submit]")
        await page.wait_for_url("**sealed=browser**")
        text = await page.inner_text("main")
        await browser.close()
    assert "niêm phong ngay trên trình duyệt" in text
    # What left the browser: the colleagues' codes and a sealed box, never the comment.
    assert len(plaintext_seen) == 1
    assert "sealed" in plaintext_seen[0]
    assert "Bí mật" not in plaintext_seen[0]
    assert "observed" not in plaintext_seen[0]
    assert await conn.fetchval("select count(*) from ballot_sheets") == 1
    closed = await close_round(client, conn, opened["id"])
    assert closed.json()["sheets"] == {"counted": 1, "invalid": 0}
    assert await conn.fetchval("select comment from ballot_comments") == "Bí mật trình duyệt"
