"""Load and faults: 100 voters submit ballots (with duplicates) while ``serve`` is SIGKILLed.

Loopback only, bounded in count and time. A fresh data folder gets a unit of VOTERS cadres
and an open round; each voter submits BALLOTS ballots concurrently with the others, and one
of them twice on purpose. ``serve`` is killed with SIGKILL KILLS times mid-run and started
again on the same data folder. A voter whose request got no answer (connection dropped)
retries; 201 means stored, 409 "already submitted" means an earlier attempt was stored.

Afterwards the round's stored ballots are counted (closing the round tallies them):
lost = acknowledged ballots not stored, duplicated = stored beyond one per (voter,
target). Both must be 0. Prints the counts and the latencies of acknowledged submissions.

    .venv/bin/python benchmarks/bench_voters_sigkill.py [--voters 100] [--ballots 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "src" / "evalsvc" / "data" / "sample_catalog.json"


RETRIES = [0]
"""Submissions that got no answer (serve was killed or restarting) and were sent again."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALSVC_")}
    env |= {
        "EVALSVC_DATA_DIR": str(data_dir),
        "EVALSVC_PORT": str(port),
        "EVALSVC_KEY_REQUESTS_PER_MINUTE": "0",
    }
    return env


def start_serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "evalsvc.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("serve did not start")


def setup(base: str, admin: dict[str, str], voters: int) -> tuple[int, dict[str, str]]:
    with httpx.Client(base_url=base, headers=admin, timeout=120) as c:
        c.post("/units/bulk", json=[{"code": "U", "name": "Phường", "kind": "ward"}])
        cadres = [
            {
                "code": f"C{i:03d}",
                "full_name": f"Cán bộ {i}",
                "personnel_type": "cong_chuc",
                "position": "staff",
                "unit_code": "U",
            }
            for i in range(voters)
        ]
        r = c.post("/cadres/bulk", json=cadres)
        r.raise_for_status()
        r = c.post(
            "/catalogs", content=CATALOG.read_bytes(), headers={"content-type": "application/json"}
        )
        r.raise_for_status()
        catalog_id = r.json()["id"]
        now = datetime.now(UTC)
        body = {
            "title": "bench",
            "unit": "U",
            "period": "2026-Q1",
            "catalog_id": catalog_id,
            "opens_at": (now - timedelta(hours=1)).isoformat(),
            "closes_at": (now + timedelta(days=1)).isoformat(),
        }
        r = c.post("/ballot-rounds", json=body)
        r.raise_for_status()
        round_id = r.json()["id"]
        r = c.post(f"/ballot-rounds/{round_id}/open")
        r.raise_for_status()
        return round_id, {t["voter"]: t["token"] for t in r.json()["tokens"]}


async def voter(
    base: str,
    code: str,
    token: str,
    targets: list[str],
    outcome: dict[tuple[str, str], str],
    latencies: list[float],
    deadline: float,
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as c:
        for target in targets:
            body = {"target": target, "marks": {}, "level": "HT", "confidence": "normal"}
            while True:
                if time.monotonic() > deadline:
                    outcome.setdefault((code, target), "gave up")
                    break
                started = time.perf_counter()
                try:
                    r = await c.post("/ballot/ballots", json=body)
                except httpx.HTTPError:
                    RETRIES[0] += 1
                    await asyncio.sleep(0.2)  # serve is down: try again
                    continue
                if r.status_code == 201:
                    latencies.append(time.perf_counter() - started)
                    outcome[(code, target)] = "stored"
                    break
                if r.status_code == 409 and "already" in r.text:
                    outcome[(code, target)] = "stored"  # an earlier attempt (or the duplicate)
                    break
                if r.status_code >= 500 or r.status_code == 503:
                    await asyncio.sleep(0.2)
                    continue
                outcome[(code, target)] = f"refused {r.status_code}"
                break


async def killer(
    proc_box: list[subprocess.Popen[bytes]],
    env: dict[str, str],
    port: int,
    kills: int,
    every: float,
) -> None:
    for _ in range(kills):
        await asyncio.sleep(every)
        proc_box[0].send_signal(signal.SIGKILL)
        proc_box[0].wait()
        proc_box[0] = await asyncio.to_thread(start_serve, env, port)


async def submit_all(
    base: str,
    tokens: dict[str, str],
    plan: dict[str, list[str]],
    proc_box: list[subprocess.Popen[bytes]],
    env: dict[str, str],
    port: int,
    args: argparse.Namespace,
) -> tuple[dict[tuple[str, str], str], list[float], float]:
    outcome: dict[tuple[str, str], str] = {}
    latencies: list[float] = []
    deadline = time.monotonic() + 300
    started = time.perf_counter()
    await asyncio.gather(
        killer(proc_box, env, port, args.kills, args.every),
        *(voter(base, c, tokens[c], plan[c], outcome, latencies, deadline) for c in plan),
    )
    return outcome, latencies, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--voters", type=int, default=100)
    parser.add_argument("--ballots", type=int, default=5)
    parser.add_argument("--kills", type=int, default=2)
    parser.add_argument("--every", type=float, default=1.5, help="seconds between kills")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="evalsvc-bench-"))
    data_dir.chmod(0o755)  # as root the embedded server runs as its own user
    port = free_port()
    env = env_for(data_dir, port)
    made = subprocess.run(
        [sys.executable, "-m", "evalsvc.cli", "keys", "create", "--role", "admin"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    admin = {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}
    base = f"http://127.0.0.1:{port}"
    proc_box = [start_serve(env, port)]
    try:
        round_id, tokens = setup(base, admin, args.voters)
        rng = random.Random(24)
        plan = {}
        for code in sorted(tokens):
            targets = rng.sample([c for c in sorted(tokens) if c != code], args.ballots)
            plan[code] = [*targets, targets[0]]  # the first one again: a duplicate on purpose
        outcome, latencies, wall = asyncio.run(
            submit_all(base, tokens, plan, proc_box, env, port, args)
        )
        acknowledged = sum(1 for v in outcome.values() if v == "stored")
        other = {f"{k[0]}->{k[1]}": v for k, v in outcome.items() if v != "stored"}
        with httpx.Client(base_url=base, headers=admin, timeout=300) as c:
            c.post(f"/ballot-rounds/{round_id}/close").raise_for_status()
            tallies = c.get(f"/ballot-rounds/{round_id}/tallies").json()
        stored = int(tallies["summary"]["valid_ballots"])
        lat = sorted(latencies)
        report = {
            "voters": args.voters,
            "distinct_ballots_planned": args.voters * args.ballots,
            "duplicate_submissions": args.voters,
            "serve_sigkills": args.kills,
            "acknowledged": acknowledged,
            "stored": stored,
            "lost": max(0, acknowledged - stored),
            "duplicated": max(0, stored - acknowledged),
            "not_acknowledged": other,
            "retried_after_no_answer": RETRIES[0],
            "wall_s": round(wall, 2),
            "latency_ms": {
                "median": round(statistics.median(lat) * 1000, 1),
                "p95": round(lat[max(0, int(len(lat) * 0.95) - 1)] * 1000, 1),
                "max": round(lat[-1] * 1000, 1),
            }
            if lat
            else None,
            "load_average": [round(x, 2) for x in os.getloadavg()],
        }
        print(json.dumps(report, indent=2, ensure_ascii=False))
        if report["lost"] or report["duplicated"] or other:
            sys.exit(1)
    finally:
        proc_box[0].send_signal(signal.SIGTERM)
        proc_box[0].wait(timeout=60)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
