"""``POST /scoring/periods``: an HR system's inputs scored like a recomputation."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import asyncpg
import numpy as np

from evalsvc.democity.city import load_demo
from evalsvc.domain.access import Role
from evalsvc.domain.recompute import parse_period
from evalsvc.jobs import inputs
from evalsvc.scoring import get_profile
from evalsvc.scoring.inputs import TaskSums
from tests.conftest import make_key
from tests.integration.test_law_rules_api import _add_task_data, _run


def _num(x: Any) -> float | None:
    v = float(x)
    return None if math.isnan(v) else v


async def test_a_published_month_scored_through_the_endpoint_gives_the_published_rows(
    client: Any, conn: asyncpg.Connection, admin_headers: dict[str, str]
) -> None:
    await load_demo(conn)
    await _add_task_data(conn)
    await conn.execute(
        "insert into remediation_items (cadre_id, origin, description, identified_on, due_on,"
        " status) select id, 'inspection', 'chậm báo cáo', '2026-04-01', '2026-05-20', 'open'"
        " from cadres order by id limit 5"
    )
    await _run(client, admin_headers, {"period": "2026-05"})
    profile = get_profile("nd335")
    city = await inputs.read_city(conn, parse_period("2026-05"), profile)
    month, rem = city.year.periods[0], city.year.remediation
    codes = {
        r["id"]: (r["code"], r["position"], r["unit_id"])
        for r in await conn.fetch("select id, code, position, unit_id from cadres")
    }
    tasks = month.tasks
    assert isinstance(tasks, TaskSums)
    by_row = {int(c): i for i, c in enumerate(tasks.cadre)}
    full = profile.sub_criterion_max
    items, expected = [], {}
    for row, cid in enumerate(city.cadre_ids.tolist()):
        code, position, unit_id = codes[cid]
        published = (
            await client.get(f"/results/cadres/{code}?period=2026-05", headers=admin_headers)
        ).json()["months"][0]
        expected[code] = published
        item: dict[str, Any] = {
            "code": code,
            "position": position,
            "unit": str(unit_id),
            "active": bool(month.active[row]),
            "discipline": int(month.discipline[row]),
            "low_confidence": bool(month.low_confidence[row]),
        }
        if row in by_row:
            j = by_row[row]
            item["totals"] = {
                k: float(getattr(tasks, k)[j])
                for k in ("assigned", "done", "quality", "timely", "exceeded", "late")
            }
        if month.has_assessment[row]:
            s = (month.sub_criteria[row] / (full / 10.0)).tolist()
            item["assessment"] = dict(zip(("politics", "capacity", "innovation"), s, strict=True))
        if position != "staff":
            item["d"] = published["task"]["d"]
            item["dd"] = _num(month.capacity[row])
            item["e"] = _num(month.cohesion[row])
        mf = month.manifestations
        item["manifestations"] = [
            {"item": int(mf.item[k]), "group": int(mf.group[k])}
            for k in np.flatnonzero(mf.cadre == row)
        ]
        item["remediation"] = [
            {
                "due": str(rem.due[k]),
                "verified": None if np.isnat(rem.verified[k]) else str(rem.verified[k]),
            }
            for k in np.flatnonzero((rem.subject == row) & ~rem.cancelled)
        ]
        items.append(item)
    hr = await make_key(conn, Role.HR_SYSTEM, "HN")
    r = await client.post(
        "/scoring/periods", json={"period": "2026-05", "cadres": items}, headers=hr
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["stored"] is False
    assert body["profile"]["variant"] is None
    assert len(body["items"]) == len(items) > 100
    for got in body["items"]:
        want = expected[got["code"]]
        assert got["score"] == want["score"], got["code"]
        assert got["level"] == want["level"], got["code"]
        assert got["reasons"] == want["reasons"], got["code"]
    assert sum(1 for g in body["items"] if g["score"] is not None) > 100
    # nothing was stored
    assert await conn.fetchval("select count(*) from result_runs") >= 1
    runs_before = await conn.fetchval("select count(*) from result_runs")
    await asyncio.sleep(0)
    assert await conn.fetchval("select count(*) from result_runs") == runs_before


async def test_scoring_endpoint_validates_and_names_fields(
    client: Any, conn: asyncpg.Connection, admin_headers: dict[str, str]
) -> None:
    one = {"code": "X1", "tasks": [{"k": 2, "assigned": 10, "done": 9, "errors": 1}]}
    r = await client.post(
        "/scoring/periods", json={"period": "2026-05", "cadres": [one]}, headers=admin_headers
    )
    assert r.status_code == 200, r.text
    got = r.json()["items"][0]
    # a = 18/20, b = (18 - 2 * 0.25 * 9)... one record: k·done·(1 - 0.25) = 13.5
    kq = (0.9 + 13.5 / 20 + 0.9) / 3
    assert got["score"] == math.floor((30 + 70 * kq) * 100 + 0.5 + 1e-9) / 100
    r = await client.post(
        "/scoring/periods",
        json={"period": "2026-05", "changes": {"quota_ratio": 0.5}, "cadres": [one]},
        headers=admin_headers,
    )
    assert r.json()["profile"]["variant"] == {"quota_ratio": 0.5}
    zero_k = {"code": "X", "tasks": [{"k": 0, "assigned": 1, "done": 1}]}
    both = {**one, "totals": {"assigned": 1, "done": 1, "quality": 1, "timely": 1}}
    bad = [
        {"period": "2026-13", "cadres": [one]},
        {"period": "2026-05", "cadres": []},
        {"period": "2026-05", "cadres": [zero_k]},
        {"period": "2026-05", "cadres": [both]},
    ]
    for body in bad:
        r = await client.post("/scoring/periods", json=body, headers=admin_headers)
        assert 400 <= r.status_code < 500, (body, r.text)
    r = await client.post(
        "/scoring/periods", json={"period": "2026-Q2", "cadres": [one]}, headers=admin_headers
    )
    assert r.status_code == 422
    assert "quarterly" in r.text
