"""A ``serve`` restarted after a SIGKILL takes over the embedded PostgreSQL and stops it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def start_serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALSVC_")}
    env |= {"EVALSVC_DATA_DIR": str(data_dir), "EVALSVC_PORT": str(port)}
    server = subprocess.Popen(
        [sys.executable, "-m", "evalsvc.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                assert r.status == 200
                return server
        except OSError:
            assert server.poll() is None, "serve exited"
            assert time.monotonic() < deadline, "serve did not answer /health"
            time.sleep(0.3)


def test_serve_after_a_sigkill_takes_over_and_stops_the_server(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pid_file = tmp_path / "pgdata" / "postmaster.pid"
    first = start_serve(tmp_path, port)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    postmaster = int(pid_file.read_text().split()[0])
    os.kill(postmaster, 0)  # still running: nobody stopped it
    second = start_serve(tmp_path, port)
    try:
        assert int(pid_file.read_text().split()[0]) == postmaster  # taken over, not restarted
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=60) == 0
    finally:
        if second.poll() is None:
            second.kill()
    assert not pid_file.exists()
