"""Small builders for scoring tests."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from evalsvc.scoring.inputs import Manifestations, MonthInputs, Org, TaskRecords
from evalsvc.scoring.monthly import empty_month
from evalsvc.scoring.profiles import ND335, Profile


def org(
    position: list[int],
    unit: list[int],
    unit_parent: list[int],
    peer_group: list[int] | None = None,
    unit_block: list[int] | None = None,
    outstanding: list[bool] | None = None,
) -> Org:
    n, u = len(position), len(unit_parent)
    return Org(
        position=np.asarray(position, dtype=np.int8),
        unit=np.asarray(unit, dtype=np.int64),
        peer_group=np.asarray(peer_group if peer_group is not None else [0] * n, dtype=np.int64),
        code=np.asarray([f"C{i:05d}" for i in range(n)]),
        unit_parent=np.asarray(unit_parent, dtype=np.int64),
        unit_block=np.asarray(unit_block if unit_block is not None else [0] * u, dtype=np.int64),
        unit_outstanding=np.asarray(outstanding if outstanding is not None else [False] * u),
    )


def tasks(rows: list[tuple[int, float, float, float, int, int]]) -> TaskRecords:
    """Rows of (cadre, k, assigned, done, errors, delays)."""
    a = np.asarray(rows, dtype=np.float64).reshape(-1, 6)
    return TaskRecords(
        cadre=a[:, 0].astype(np.int64),
        k=a[:, 1],
        assigned=a[:, 2],
        done=a[:, 3],
        errors=a[:, 4].astype(np.int64),
        delays=a[:, 5].astype(np.int64),
        exceeded=np.zeros(len(a), dtype=bool),
    )


def month(o: Org, period: str = "2026-03", profile: Profile = ND335, **kw: Any) -> MonthInputs:
    return dataclasses.replace(empty_month(o, period, profile), **kw)


def manifestations(pairs: list[tuple[int, int, int]]) -> Manifestations:
    """Triples of (cadre, item, group)."""
    a = np.asarray(pairs, dtype=np.int64).reshape(-1, 3)
    return Manifestations(a[:, 0], a[:, 1], a[:, 2])
