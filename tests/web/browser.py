"""Browser fixtures: the app served by uvicorn on a free port (its own thread and event loop)
and headless Chromium from the system's package, driven by Playwright's async API.

The browser is Debian's ``chromium`` (``/usr/bin/chromium``, or ``EVALSVC_CHROMIUM``); a
machine without it skips nothing silently: the fixture fails saying what to install.
Screenshots go to ``artifacts/screens/`` (``EVALSVC_ARTIFACTS`` moves it).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from evalsvc.api.app import create_app
from evalsvc.settings import Settings

ARTIFACTS = Path(os.environ.get("EVALSVC_ARTIFACTS", Path(__file__).parents[2] / "artifacts"))


def chromium_path() -> str:
    """The system's chromium; on a fresh Debian machine run as root, apt installs it once."""
    path = os.environ.get("EVALSVC_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists() and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=False, env=env)
        subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], check=False, env=env)
    if not Path(path).exists():
        pytest.fail("browser tests need Debian's chromium: apt-get install -y chromium")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def live_server(tmp_path: Path, demo_dsn: str) -> Iterator[str]:
    """The demo city's app at ``http://127.0.0.1:<port>``."""
    settings = Settings(database_url=demo_dsn, data_dir=str(tmp_path), pool_max_size=6)
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings, demo_dsn), host="127.0.0.1", port=port, log_level="warning",
        lifespan="on",
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        instance = await pw.chromium.launch(
            executable_path=chromium_path(), headless=True, args=["--no-sandbox"]
        )
        try:
            yield instance
        finally:
            await instance.close()


async def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as a test artifact; returns its path."""
    folder = ARTIFACTS / "screens"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def log_in(page: Any, base: str, username: str, password: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#f-username", username)
    await page.fill("#f-password", password)
    await page.click("button[type=submit]")
    await page.wait_for_load_state()
