"""Browser tests: Debian's chromium driven by Playwright, a live server, a real SMTP server.

One browser per session (starting chromium costs a second or two); each test gets fresh
contexts. The browser is the system's (``/usr/bin/chromium``, installed by scripts/test.sh
when missing): Playwright never downloads one here.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from aiosmtpd.controller import Controller
from playwright.async_api import Browser, async_playwright

from evalsvc.api.app import create_app
from evalsvc.settings import Settings

CHROMIUM = os.environ.get("EVALSVC_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(os.environ.get("EVALSVC_ARTIFACTS", Path(__file__).parents[1] / "artifacts"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 (once per session)
        pytest.fail(f"{CHROMIUM} is missing: run scripts/test.sh, which installs chromium")
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield chromium
        await chromium.close()


class Mailbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@pytest.fixture
def live_server(
    db_dsn: str, tmp_path: Path, smtp: tuple[Mailbox, int]
) -> Iterator[tuple[str, Mailbox]]:
    """The app served by uvicorn in a thread (its own event loop), mailing to ``smtp``."""
    mailbox, smtp_port = smtp
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(
        database_url=db_dsn,
        data_dir=str(tmp_path),
        pool_max_size=4,
        public_url=base,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_security="none",
        smtp_from="Ban Tổ chức <tccb@donvi.test>",
    )
    config = uvicorn.Config(
        create_app(settings, db_dsn), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    try:
        yield base, mailbox
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Path:
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder
