"""The CLI as a user runs it: separate processes, an embedded server that stops between them."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

UNITS_CSV = (
    "code,name,kind,parent_code,ranking_block,outstanding_years\n"
    "HN,Thành phố Hà Nội,city,,,\n"
    "SNV,Sở Nội vụ,department,HN,Khối Sở,\n"
)


def evalsvc(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALSVC_")}
    env["EVALSVC_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "evalsvc.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("evalsvc-home")


def test_import_survives_a_restart_of_the_embedded_server(data_dir: Path, tmp_path: Path) -> None:
    units = tmp_path / "units.csv"
    units.write_text(UNITS_CSV, encoding="utf-8")
    first = evalsvc(data_dir, "import", "units", str(units))
    assert first.returncode == 0, first.stderr
    assert "inserted 2, updated 0, unchanged 0" in first.stdout
    # A new process starts the server again from the same folder and finds the data.
    second = evalsvc(data_dir, "import", "units", str(units))
    assert second.returncode == 0, second.stderr
    assert "inserted 0, updated 0, unchanged 2" in second.stdout


def test_bad_rows_are_reported_and_nothing_is_stored(data_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "cadres.json"
    bad.write_text(
        json.dumps(
            [
                {
                    "code": "C1",
                    "full_name": "Lê Văn Tám",
                    "personnel_type": "cong_chuc",
                    "position": "staff",
                    "unit_code": "SNV",
                },
                {
                    "code": "C2",
                    "full_name": "Lê Thị Chín",
                    "personnel_type": "cong_chuc",
                    "position": "staff",
                    "unit_code": "NOPE",
                },
            ]
        ),
        encoding="utf-8",
    )
    result = evalsvc(data_dir, "import", "cadres", str(bad))
    assert result.returncode == 1
    assert "row 2: unit_code: no unit with code 'NOPE'" in result.stderr
    good = tmp_path / "one.json"
    good.write_text(json.dumps([json.loads(bad.read_text())[0]]), encoding="utf-8")
    result = evalsvc(data_dir, "import", "cadres", str(good))
    assert "inserted 1, updated 0, unchanged 0" in result.stdout, result.stderr


def test_keys_are_created_listed_and_revoked(data_dir: Path) -> None:
    created = evalsvc(
        data_dir, "keys", "create", "--role", "personnel", "--unit", "SNV", "--label", "Phòng TCCB"
    )
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    prefix = token.split("_")[1]
    listed = evalsvc(data_dir, "keys", "list")
    assert prefix in listed.stdout
    assert token not in listed.stdout
    assert "personnel\tSNV\tactive" in listed.stdout
    assert evalsvc(data_dir, "keys", "revoke", f"evs_{prefix}").returncode == 0
    assert "revoked" in evalsvc(data_dir, "keys", "list").stdout
    refused = evalsvc(data_dir, "keys", "create", "--role", "personnel")
    assert refused.returncode == 1
    assert "needs the unit subtree" in refused.stderr


def test_catalog_import_from_csv_needs_name_and_title(data_dir: Path, tmp_path: Path) -> None:
    items = tmp_path / "items.csv"
    items.write_text("code,text,group,forms\n1.1,Đi muộn,1,leader;staff\n", encoding="utf-8")
    assert evalsvc(data_dir, "import", "catalog", str(items)).returncode == 2
    loaded = evalsvc(
        data_dir, "import", "catalog", str(items), "--name", "x", "--title", "X", "--publish"
    )
    assert "catalog x version 1 (published): 1 leader items, 1 staff items" in loaded.stdout, (
        loaded.stderr
    )


def test_the_readme_import_examples_run_as_written(tmp_path: Path) -> None:
    """README.md's `evalsvc import` lines, run in order from the repository root."""
    root = Path(__file__).resolve().parents[2]
    lines = [
        shlex.split(line.removeprefix(".venv/bin/evalsvc "))
        for line in (root / "README.md").read_text(encoding="utf-8").splitlines()
        if line.startswith(".venv/bin/evalsvc import ")
    ]
    assert len(lines) >= 4
    for args in lines:
        ran = subprocess.run(
            [sys.executable, "-m", "evalsvc.cli", *args],
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith("EVALSVC_")},
                "EVALSVC_DATA_DIR": str(tmp_path),
            },
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert ran.returncode == 0, (args, ran.stderr)
        assert "inserted" in ran.stdout or "catalog" in ran.stdout


def test_serve_stops_the_embedded_server_on_sigterm(tmp_path: Path) -> None:
    import signal
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALSVC_")}
    env |= {"EVALSVC_DATA_DIR": str(tmp_path), "EVALSVC_PORT": str(port)}
    server = subprocess.Popen(
        [sys.executable, "-m", "evalsvc.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, "serve did not answer /health"
                time.sleep(0.3)
        assert (tmp_path / "pgdata" / "postmaster.pid").exists()
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
    finally:
        if server.poll() is None:
            server.kill()
    # PostgreSQL removes postmaster.pid when it shuts down cleanly.
    assert not (tmp_path / "pgdata" / "postmaster.pid").exists()
