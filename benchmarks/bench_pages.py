"""Server time of the results pages and the XLSX report (issue 14).

Usage (seeds a synthetic city into EVALSVC_DATA_DIR's embedded server the first time; at
scale 1 that takes many minutes, so a smaller scale is the default)::

    EVALSVC_DATA_DIR=/tmp/evalsvc-pages python benchmarks/bench_pages.py --scale 0.1 --runs 7

Prints the median (and min/max) server time of: the rankings page of the largest block,
the unit page of the largest ranked unit (by members of its subtree), a cadre page, the
XLSX of that unit's members through the API, and the XLSX rendering of a 5,000-member
report (the largest unit at scale 1 is about that size, so that figure stands for scale 1
whatever the seeded scale). Times are measured in-process through the ASGI app (no network).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import time
from datetime import datetime

from litestar.testing import AsyncTestClient

from evalsvc.api.app import create_app
from evalsvc.democity.synthetic import seed_city
from evalsvc.domain.access import SYSTEM, Role
from evalsvc.domain.recompute import RecomputeRequest
from evalsvc.jobs.recompute import recompute
from evalsvc.keyring import ballot_keys
from evalsvc.reports.tables import members_report
from evalsvc.reports.xlsx import to_xlsx
from evalsvc.settings import load_settings
from evalsvc.store import users
from evalsvc.store.database import connect, resolve_dsn
from evalsvc.store.migrations import migrate

USER, PASSWORD = "bench.admin", "mat-khau-do-toc-do"


def figures(name: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    print(f"{name:<48} median {statistics.median(ms):8.1f} ms  (min {ms[0]:.1f}, max {ms[-1]:.1f})")


async def prepare(dsn: str, scale: float) -> tuple[str, str, str]:
    conn = await connect(dsn)
    try:
        await migrate(conn)
        if not await conn.fetchval("select count(*) from result_published"):
            t = time.perf_counter()
            await seed_city(conn, scale, keys=ballot_keys(load_settings()))
            await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
            print(f"seeded scale {scale} and computed 2026 in {time.perf_counter() - t:.0f} s")
        if not await conn.fetchval("select 1 from users where username = $1", USER):
            await users.create_user(conn, USER, "Bench", Role.ADMIN, None, PASSWORD, "bench")
            await conn.execute("update users set must_change_password = false")
        block = await conn.fetchval(
            "select ranking_block from units where ranking_block is not null"
            " group by 1 order by count(*) desc limit 1"
        )
        unit = await conn.fetchval(
            "with recursive t(root, id) as (select id, id from units where ranking_block"
            " is not null union all select t.root, u.id from units u join t on u.parent_id ="
            " t.id) select (select code from units where id = root) from t join cadres c on"
            " c.unit_id = t.id group by root order by count(*) desc limit 1"
        )
        cadre = await conn.fetchval("select code from cadres order by id limit 1")
        size = await conn.fetchval("select count(*) from units u where ranking_block = $1", block)
        members = await conn.fetchval(
            "with recursive t(id) as (select id from units where code = $1 union all"
            " select u.id from units u join t on u.parent_id = t.id)"
            " select count(*) from cadres where unit_id in (select id from t)",
            unit,
        )
        print(f"largest block {block!r}: {size} units; largest unit {unit}: {members} members")
        return block, unit, cadre
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = load_settings()
    dsn = await resolve_dsn(settings.database_url, settings.pgdata)
    block, unit, cadre = await prepare(dsn, args.scale)
    print(f"load average before: {os.getloadavg()}")
    async with AsyncTestClient(app=create_app(settings, dsn)) as client:
        form = await client.get("/login")
        token = form.text.split('name="_csrf" value="')[1].split('"')[0]
        await client.post("/login", data={"_csrf": token, "username": USER, "password": PASSWORD})
        pages = {
            f"rankings page, block {block}": f"/rankings?period=2026&block={block}",
            f"unit page {unit}": f"/unit/{unit}?period=2026",
            f"cadre page {cadre}": f"/cadre/{cadre}?period=2026",
            f"XLSX of {unit}'s members (page download)": (
                f"/unit/{unit}/download?format=xlsx&period=2026"
            ),
        }
        for name, path in pages.items():
            times = []
            for _ in range(args.runs + 1):
                t = time.perf_counter()
                response = await client.get(path)
                times.append(time.perf_counter() - t)
                assert response.status_code == 200, (path, response.status_code)
            figures(name, times[1:])  # the first request warms caches and templates
    items = [
        {"code": f"C{i:06d}", "full_name": "Nguyễn Thị Ánh Tuyết", "position": "staff",
         "unit_code": "SNV-VP", "score": 84.005 + i % 13, "level": "HTT",
         "level_label": "Hoàn thành tốt nhiệm vụ", "reasons": "quota" if i % 5 == 0 else ""}
        for i in range(5000)
    ]  # fmt: skip
    times, cpu = [], []
    for _ in range(args.runs):
        t, c = time.perf_counter(), time.process_time()
        to_xlsx(members_report(items, period="2026", unit_code="U", unit_name="Đơn vị",
                               run_id=1, generated=datetime.now()))  # fmt: skip
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    figures("XLSX rendering, 5,000 members", times)
    figures("  the same, CPU time of this process", cpu)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    asyncio.run(main())
