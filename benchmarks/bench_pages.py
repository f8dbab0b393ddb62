"""Server time of the results pages and the XLSX report (issue 14).

Usage::

    EVALSVC_DATA_DIR=/tmp/evalsvc-pages python benchmarks/bench_pages.py --scale 0.1 --runs 7

An empty data folder is seeded with a synthetic city of ``--scale`` and its year 2026 is
computed first (at scale 1 that takes long: seed with ``evalsvc seed --scale 1`` and
``evalsvc recompute 2026`` instead, then run this). Prints the median (and min/max) time
of: the rankings page of the largest block, the unit page of the largest ranked unit (by
members of its subtree), the unit page of the city's root unit, a cadre page, the XLSX of
the unit whose subtree is nearest 5,000 members (through the page's download) and the XLSX
rendering of a synthetic 5,000-member list through the same writer. Times are measured
in-process through the ASGI app (no network), so they are the server's time plus the test
client's small overhead. Each figure carries the 1-minute load average after its runs.
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
SUBTREE_MEMBERS = """
with recursive t(root, id) as (
    select id, id from units {where}
    union all select t.root, u.id from units u join t on u.parent_id = t.id)
select (select code from units where id = root) as code, count(c.id) as n
from t join cadres c on c.unit_id = t.id group by root
"""


def figures(name: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    load = os.getloadavg()[0]
    print(
        f"{name:<58} median {statistics.median(ms):8.1f} ms  (min {ms[0]:.1f}, "
        f"max {ms[-1]:.1f}; n={len(ms)}; load {load:.2f})",
        flush=True,
    )


async def prepare(dsn: str, scale: float) -> dict[str, str]:
    conn = await connect(dsn)
    try:
        await migrate(conn)
        if not await conn.fetchval("select count(*) from result_published where period = '2026'"):
            t = time.perf_counter()
            if not await conn.fetchval("select count(*) from cadres"):
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
        size = await conn.fetchval("select count(*) from units u where ranking_block = $1", block)
        ranked = await conn.fetch(
            SUBTREE_MEMBERS.format(where="where ranking_block is not null") + " order by n desc"
        )
        root = await conn.fetchrow(SUBTREE_MEMBERS.format(where="where parent_id is null"))
        near = min(ranked, key=lambda r: (r["n"] < 5000, abs(r["n"] - 5000)))
        cadre = await conn.fetchval(
            "select c.code from cadres c join units u on u.id = c.unit_id where u.code = $1"
            " order by c.id limit 1",
            ranked[0]["code"],
        )
        cadres = await conn.fetchval("select count(*) from cadres")
        print(
            f"{cadres:,} cadres; largest block {block!r}: {size} units; largest ranked unit "
            f"{ranked[0]['code']}: {ranked[0]['n']:,} members; root {root['code']}: "
            f"{root['n']:,} members; unit nearest 5,000: {near['code']} ({near['n']:,})"
        )
        return {
            "block": block,
            "unit": ranked[0]["code"],
            "root": root["code"],
            "cadre": cadre,
            "near": near["code"],
            "near_n": str(near["n"]),
        }
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
    c = await prepare(dsn, args.scale)
    print(f"load average before: {os.getloadavg()}; {os.cpu_count()} cores", flush=True)
    async with AsyncTestClient(app=create_app(settings, dsn)) as client:
        form = await client.get("/login")
        token = form.text.split('name="_csrf" value="')[1].split('"')[0]
        await client.post("/login", data={"_csrf": token, "username": USER, "password": PASSWORD})
        pages = {
            f"rankings page, block {c['block']}": f"/rankings?period=2026&block={c['block']}",
            f"unit page {c['unit']} (largest ranked)": f"/unit/{c['unit']}?period=2026",
            f"unit page {c['root']} (the city, root)": f"/unit/{c['root']}?period=2026",
            f"unit page {c['root']}, members 1,501-1,800": (
                f"/unit/{c['root']}?period=2026&offset=1500"
            ),
            f"cadre page {c['cadre']}": f"/cadre/{c['cadre']}?period=2026",
            f"XLSX of {c['near']} ({c['near_n']} members, page download)": (
                f"/unit/{c['near']}/download?format=xlsx&period=2026"
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
        t, p = time.perf_counter(), time.process_time()
        to_xlsx(members_report(items, period="2026", unit_code="U", unit_name="Đơn vị",
                               run_id=1, generated=datetime.now()))  # fmt: skip
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - p)
    figures("XLSX rendering, synthetic 5,000 members", times)
    figures("  the same, CPU time of this process", cpu)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    asyncio.run(main())
