"""How much a ~1 GiB bulk upload adds to the server's memory. Prints figures; not a test.

Run: ``.venv/bin/python benchmarks/bench_upload_memory.py [--mib 1024] [--kind remediation]
[--runs 1]``

What it does, all under a temporary folder:
1. starts its own embedded PostgreSQL, migrates, creates 1 city, 100 units and 10,000 cadres;
2. starts a real ``evalsvc serve`` (uvicorn, no worker processes) in a subprocess;
3. posts a generated CSV of ``--mib`` MiB, produced piece by piece while it is sent (chunked,
   httpx), so the client never holds it either:
   - ``remediation`` (the default): remediation items with 3,900-character descriptions,
     through the generic streamed path (batches of rows through the store function, one
     transaction), about 270 rows per MiB;
   - ``tasks``: task records through the task ingestion (binary COPY staging), about 14,000
     rows per MiB;
4. samples the server process's RSS every 50 ms (psutil) from just before the request to its
   answer, and prints the RSS before, the peak, the peak increase, the time, the answer and
   the load average before and after. The target (issue 16): the increase is at most 200 MB.
The upload is refused whole if anything is wrong, so the answer's counts show it all went in.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import httpx
import psutil

from evalsvc.domain.access import Role, generate_key
from evalsvc.store.database import ensure_database, start_embedded, with_database
from evalsvc.store.keys import create_key
from evalsvc.store.migrations import migrate

EVALSVC = str(Path(sys.executable).parent / "evalsvc")
CADRES = 10_000
UNITS = 100
PIECE = 1 << 20


class PeakRss:
    """Samples a process's RSS every 50 ms and keeps the peak."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.before = self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.proc.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.05)

    def __enter__(self) -> PeakRss:
        self.before = self.peak = self.proc.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def setup(dsn: str, token_key: object) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
        await conn.execute(
            "insert into units (code, name, name_key, search_text, kind) "
            "values ('CITY', 'City', 'city', 'city', 'city')"
        )
        city = await conn.fetchval("select id from units where code = 'CITY'")
        await conn.copy_records_to_table(
            "units",
            records=[(f"U{i:03d}",) * 4 + (city, "division") for i in range(UNITS)],
            columns=["code", "name", "name_key", "search_text", "parent_id", "kind"],
        )
        first = await conn.fetchval("select min(id) from units where code <> 'CITY'")
        await conn.copy_records_to_table(
            "cadres",
            records=[
                (f"C{i:05d}",) * 4 + ("cong_chuc", "staff", first + i % UNITS)
                for i in range(CADRES)
            ],
            columns=[
                "code",
                "full_name",
                "name_key",
                "search_text",
                "personnel_type",
                "position",
                "unit_id",
            ],
        )
        await create_key(conn, token_key, Role.ADMIN, None, "bench")  # type: ignore[arg-type]
        await conn.execute("analyze")
    finally:
        await conn.close()


WORDS = "kiểm tra việc chấp hành kỷ luật kỷ cương hành chính tại đơn vị và khắc phục ".split()


def _lines_up_to(total: int, header: str, line_of: Callable[[int], str]) -> Iterator[bytes]:
    """The header and then lines, in pieces of about PIECE bytes, ``total`` bytes at most."""
    sent, row = 0, 0
    pending = [header]
    size = len(header.encode())
    while True:
        line = line_of(row)
        n = len(line.encode())
        if sent + size + n > total:
            break
        pending.append(line)
        size += n
        row += 1
        if size >= PIECE:
            yield "".join(pending).encode()
            sent += size
            pending, size = [], 0
    if pending:
        yield "".join(pending).encode()


def _remediation_line(row: int) -> str:
    words = " ".join(WORDS[(row + k) % len(WORDS)] for k in range(600))
    return (
        f'C{row % CADRES:05d},inspection,"Mục {row}: {words[:3900]}",'
        f"2026-0{1 + row % 9}-01,2026-12-31\n"
    )


def _task_line(row: int) -> str:
    return (
        f"hrm,T{row:09d},C{row % CADRES:05d},2026-{1 + row % 12:02d},VB{row % 20},"
        f"1,{10 + row % 7},{row % 9}\n"
    )


def remediation_pieces(total: int) -> Iterator[bytes]:
    return _lines_up_to(
        total, "cadre_code,origin,description,identified_on,due_on\n", _remediation_line
    )


def task_pieces(total: int) -> Iterator[bytes]:
    header = "source_system,external_id,cadre_code,month,product_code,k,assigned,done\n"
    return _lines_up_to(total, header, _task_line)


KINDS = {
    "remediation": ("/remediation/bulk", remediation_pieces, 200),
    "tasks": ("/tasks/batches", task_pieces, 201),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mib", type=int, default=1024, help="size of the upload (MiB)")
    parser.add_argument("--kind", choices=sorted(KINDS), default="remediation")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / (1 << 30):.0f} GiB, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory(prefix="evalsvc-upload-mem-") as tmp:
        tmpdir = Path(tmp)
        server_dsn = start_embedded(tmpdir / "pgdata")
        asyncio.run(ensure_database(server_dsn, "evalsvc"))
        dsn = with_database(server_dsn, "evalsvc")
        key = generate_key()
        asyncio.run(setup(dsn, key))
        port = free_port()
        env = {
            **os.environ,
            "EVALSVC_DATABASE_URL": dsn,
            "EVALSVC_PORT": str(port),
            "EVALSVC_DATA_DIR": str(tmpdir),
            "EVALSVC_WORKERS": "0",
            "EVALSVC_KEY_REQUESTS_PER_MINUTE": "0",
        }
        # A SIGTERM (e.g. from ``timeout``) must still stop the server below (and so the
        # embedded PostgreSQL, at this process's exit).
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
        server = subprocess.Popen(
            [EVALSVC, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        url = f"http://127.0.0.1:{port}"
        path, pieces, expected = KINDS[args.kind]
        headers = {"Authorization": f"Bearer {key.token}", "Content-Type": "text/csv"}
        try:
            for _ in range(600):
                try:
                    if httpx.get(f"{url}/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            # A small upload first, so the increase measured is the big upload's own and not
            # the first request's imports and caches.
            with httpx.Client(timeout=600) as client:
                client.post(f"{url}{path}", content=pieces(1 << 20), headers=headers)
            increases = []
            print(f"POST {path}: {args.mib} MiB of CSV, generated while sent (chunked)")
            for run in range(args.runs):
                before = load()
                with PeakRss(server.pid) as rss, httpx.Client(timeout=7200) as client:
                    t0 = time.perf_counter()
                    response = client.post(
                        f"{url}{path}", content=pieces(args.mib << 20), headers=headers
                    )
                    seconds = time.perf_counter() - t0
                if response.status_code != expected:
                    raise SystemExit(f"upload failed: {response.status_code} {response.text[:800]}")
                increase = (rss.peak - rss.before) / 1e6
                increases.append(increase)
                print(
                    f"  run {run + 1}: RSS before {rss.before / 1e6:6.0f} MB, peak "
                    f"{rss.peak / 1e6:6.0f} MB, increase {increase:6.0f} MB; {seconds:6.1f} s "
                    f"({args.mib / seconds:5.1f} MiB/s); load {before}->{load()}; "
                    f"{response.text[:120]}"
                )
            print(
                f"peak RSS increase, median of {len(increases)}: "
                f"{statistics.median(increases):.0f} MB (target: at most 200 MB)"
            )
        finally:
            server.terminate()
            server.wait(timeout=60)


if __name__ == "__main__":
    main()
