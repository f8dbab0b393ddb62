"""Subtree runs: merge new unit rows into the base run's and re-rank every block.

A subtree recomputation publishes a set where only the subtree's rows are new; the
ranks of a block are a function of all its units' scores, so they are recomputed from
the merged rows (other units keep their scores, their rank may move by the change).
"""

from __future__ import annotations

from typing import Any

import asyncpg
import numpy as np
import numpy.typing as npt

from evalsvc.jobs.compute import Columns
from evalsvc.jobs.inputs import City
from evalsvc.scoring import rank_units
from evalsvc.store import results as result_store


def _col(columns: Columns, name: str, n: int) -> npt.NDArray[Any]:
    return np.broadcast_to(np.asarray(columns[name][1]), (n,))


async def merge_units(
    conn: asyncpg.Connection,
    city: City,
    base_run_id: int,
    new: Columns,
    sub_units: npt.NDArray[np.int64],
) -> Columns:
    """Base rows outside ``sub_units`` + new rows inside, re-ranked per (period, block)."""
    old = await result_store.read_unit_rows(conn, base_run_id)
    n_new = len(np.asarray(new["unit_id"][1]))
    keep_new = np.isin(_col(new, "unit_id", n_new), sub_units)
    keep_old = ~np.isin(old["unit_id"][1], sub_units)
    merged: dict[str, npt.NDArray[Any]] = {}
    types: dict[str, str] = {}
    for name, t in result_store.UNIT_COLUMNS:
        types[name] = t
        a = _col(new, name, n_new)
        if t == "date":
            a = a.astype("datetime64[D]")
        merged[name] = np.concatenate([a[keep_new], old[name][1][keep_old]])
    # Re-rank each (annual, month) group within blocks of the current unit tree.
    unit_rows = np.searchsorted(city.unit_ids, merged["unit_id"])
    unit_rows = np.minimum(unit_rows, len(city.unit_ids) - 1)
    known = city.unit_ids[unit_rows] == merged["unit_id"]
    block = np.where(known, np.asarray(city.org.unit_block)[unit_rows], -1)
    key = merged["month"].astype(np.int64) * 2 + merged["annual"].astype(np.int64)
    for k in np.unique(key):
        rows = np.flatnonzero(key == k)
        members = merged["members"][rows].astype(np.float64)
        per100 = np.where(members > 0, merged["pairs"][rows] * 100.0 / np.maximum(members, 1), 0.0)
        ranking = rank_units(
            merged["u"][rows],
            block[rows],
            merged["kht"][rows].astype(np.int64),
            merged["u2"][rows],
            per100,
            merged["u5"][rows],
            merged["prev_rank"][rows].astype(np.int64),
        )
        merged["rank"][rows] = ranking.rank
        merged["movement"][rows] = ranking.movement
    return {name: (types[name], merged[name]) for name in types}
