"""Reading the stored tallies of a closed round (never the raw ballots).

A target's counts, items and comments are shown only when it has at least k_min valid
ballots; below that only the fact that its result is withheld. No function here takes a
filter over ballots: results are whole-round, per target, as tallied at close.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import numpy as np

from evalsvc.domain.access import Principal
from evalsvc.domain.ballots import CONFIDENCE_NAMES, LEVEL_NAMES, item_flag
from evalsvc.domain.errors import Conflict, NotFound
from evalsvc.store.ballot_rounds import get_round
from evalsvc.store.sqlfiles import queries

Q = queries("ballots")


async def _closed_round(
    conn: asyncpg.Connection, principal: Principal, round_id: int
) -> dict[str, Any]:
    rnd = await get_round(conn, principal, round_id)
    if rnd["status"] != "closed":
        raise Conflict(f"round {round_id} is {rnd['status']}; results exist once it is closed")
    return rnd


def by_channel(valid: int, paper: int | None) -> dict[str, int | None]:
    """A target's valid ballots per channel: paper ones are counted when their upload is
    confirmed, online ones are the rest (every stored ballot is valid). None: a round
    closed before the per-target count existed (0057)."""
    if paper is None:
        return {"online": None, "paper": None}
    return {"online": valid - paper, "paper": paper}


async def list_tallies(
    conn: asyncpg.Connection, principal: Principal, round_id: int, limit: int, offset: int
) -> dict[str, Any]:
    rnd = await _closed_round(conn, principal, round_id)
    summary = await conn.fetchrow(Q["tally_summary"], round_id, rnd["k_min"])
    rows = await conn.fetch(Q["tallies_list"], round_id, rnd["k_min"], limit, offset)
    items = []
    for r in rows:
        item: dict[str, Any] = {"target": r["code"], "full_name": r["full_name"], "form": r["form"]}
        if r["reported"]:
            item |= {
                "withheld": False,
                "eligible": r["eligible"],
                "valid": r["valid"],
                "by_channel": by_channel(r["valid"], r["paper"]),
                "quorum": r["quorum"],
                "confirmed": list(r["confirmed"]),
                "watch": list(r["watch"]),
                "low_confidence": r["low_confidence"],
                "escalated": r["escalated"],
            }
        else:
            item["withheld"] = True
        items.append(item)
    counted = await conn.fetchrow(
        "select sheets_counted, sheets_invalid, ballots_online, ballots_paper"
        " from ballot_rounds where id = $1",
        round_id,
    )
    assert counted is not None
    return {
        "round_id": round_id,
        "k_min": rnd["k_min"],
        "summary": dict(summary) if summary else {},
        # Sealed sheets that failed validation at close are counted here, never dropped.
        "sheets": {"counted": counted["sheets_counted"], "invalid": counted["sheets_invalid"]},
        "ballots_by_channel": {
            "online": counted["ballots_online"],
            "paper": counted["ballots_paper"],
        },
        "items": items,
    }


async def target_tally(
    conn: asyncpg.Connection, principal: Principal, round_id: int, target_code: str
) -> dict[str, Any]:
    rnd = await _closed_round(conn, principal, round_id)
    row = await conn.fetchrow(Q["tally_one"], round_id, target_code)
    if row is None:
        raise NotFound(f"{target_code!r} is not a target of round {round_id}")
    out: dict[str, Any] = {
        "target": row["code"],
        "full_name": row["full_name"],
        "form": row["form"],
    }
    if row["valid"] < rnd["k_min"]:
        out |= {"withheld": True, "reason": f"fewer than k_min = {rnd['k_min']} valid ballots"}
        return out
    catalog_items = await conn.fetch(Q["form_items"], rnd["catalog_id"])
    form_key = "for_leader" if row["form"] == "leader" else "for_staff"
    form = [r for r in catalog_items if r[form_key]]
    valid = row["valid"]
    observed_counts = np.frombuffer(row["observed"], "<u2").tolist()
    no_basis_counts = np.frombuffer(row["no_basis"], "<u2").tolist()
    items = []
    for m, item in enumerate(form):
        observed, no_basis = observed_counts[m], no_basis_counts[m]
        rated = valid - no_basis
        flag = item_flag(observed, no_basis, valid) if row["quorum"] else None
        items.append(
            {
                "code": item["code"],
                "text": item["text"],
                "group": item["group_no"],
                "observed": observed,
                "no_basis": no_basis,
                "share": round(observed / rated, 4) if rated > 0 else None,
                "flag": flag,
            }
        )
    comments = [
        r["comment"] for r in await conn.fetch(Q["tally_comments"], round_id, row["target_id"])
    ]
    return out | {
        "withheld": False,
        "eligible": row["eligible"],
        "valid": valid,
        "by_channel": by_channel(valid, row["paper"]),
        "quorum": row["quorum"],
        "items": items,
        "levels": {name: row[f"level_{name.lower()}"] for name in LEVEL_NAMES}
        | {"blank": row["level_blank"]},
        "confidence": {name: row[f"confidence_{name}"] for name in CONFIDENCE_NAMES}
        | {"blank": row["confidence_blank"]},
        "low_confidence": row["low_confidence"],
        "escalated": row["escalated"],
        "comments": comments,
    }
