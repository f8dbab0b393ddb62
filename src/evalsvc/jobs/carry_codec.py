"""Pack a month carry into bytes and back (stored by ``store/carries.py``).

Packed by ``jobs/packing.py`` (named raw arrays behind a JSON header; unpacking is a
zero-copy view per array, a year reads twelve carries). Small counts travel as int32 and
flags as int8/bool; scores and task sums stay float64, so a carried month rates the year
exactly as the month scored again would. 200,000 cadres: about 13 MB per month.
"""

from __future__ import annotations

import dataclasses
from typing import Any, cast

import numpy as np

from evalsvc.jobs.packing import pack, unpack
from evalsvc.scoring import Manifestations
from evalsvc.scoring.carry import MonthCarry
from evalsvc.scoring.tasks import TaskTotals
from evalsvc.scoring.units import UnitMonthResult

_TOTALS = tuple(f.name for f in dataclasses.fields(TaskTotals))
_UNITS = tuple(f.name for f in dataclasses.fields(UnitMonthResult) if f.name != "period")
_COMPACT = {"n_manifestations": np.int32, "discipline": np.int32}


def encode(carry: MonthCarry) -> bytes:
    """The carry as one payload (module docstring)."""
    arrays: dict[str, Any] = {
        "period": np.asarray(carry.period, dtype="datetime64[M]"),
        "m": carry.m,
        "scored": carry.scored,
        "active": carry.active,
        "employed": carry.employed,
        "level": carry.level,
        "satisfaction": carry.satisfaction,
        "man_cadre": np.asarray(carry.manifestations.cadre, dtype=np.int32),
        "man_item": np.asarray(carry.manifestations.item, dtype=np.int32),
        "man_group": np.asarray(carry.manifestations.group, dtype=np.int8),
    }
    for name, dtype in _COMPACT.items():
        arrays[name] = np.asarray(getattr(carry, name), dtype=dtype)
    for name in _TOTALS:
        arrays[f"totals_{name}"] = getattr(carry.totals, name)
    for name in _UNITS:
        arrays[f"units_{name}"] = getattr(carry.units, name)
    return pack(arrays)


def decode(payload: bytes) -> MonthCarry:
    """A carry packed by :func:`encode` (arrays in the dtypes the scoring core uses)."""
    a = unpack(payload)
    period = cast(np.datetime64, a["period"][()])
    return MonthCarry(
        period=period,
        m=a["m"],
        scored=a["scored"],
        active=a["active"],
        employed=a["employed"],
        level=a["level"],
        n_manifestations=a["n_manifestations"].astype(np.int64),
        discipline=a["discipline"].astype(np.int64),
        totals=TaskTotals(*(a[f"totals_{name}"] for name in _TOTALS)),
        manifestations=Manifestations(
            a["man_cadre"].astype(np.int64),
            a["man_item"].astype(np.int64),
            a["man_group"].astype(np.int64),
        ),
        satisfaction=a["satisfaction"],
        units=UnitMonthResult(period, *(a[f"units_{name}"] for name in _UNITS)),
    )
