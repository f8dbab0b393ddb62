"""The demo city's app served by uvicorn for the browser (the session's ``browser`` fixture
is in conftest); logging in through the form."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from evalsvc.api.app import create_app
from evalsvc.settings import Settings
from tests.browser.conftest import free_port


@pytest.fixture
def demo_server(tmp_path: Path, demo_dsn: str) -> Iterator[str]:
    """The demo city (2026 published) at ``http://127.0.0.1:<port>``."""
    port = free_port()
    # A worker inside the app's process runs the recomputations the admin starts.
    settings = Settings(
        database_url=demo_dsn, data_dir=str(tmp_path), pool_max_size=6, in_process_worker=True
    )
    config = uvicorn.Config(
        create_app(settings, demo_dsn), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


async def log_in(page: Any, base: str, username: str, password: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#f-username", username)
    await page.fill("#f-password", password)
    await page.click("button[type=submit]")
    await page.wait_for_load_state()
