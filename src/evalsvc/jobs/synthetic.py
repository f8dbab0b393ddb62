"""A seeded synthetic city (``evalsvc seed --scale N``) written through the user paths.

``--scale 1`` is Hà Nội size: 200,000 cadres in 3,000 units (the city, about 30
departments in "Khối Sở" and 126 communes and wards in "Khối xã, phường", divisions below
them). The registry goes through the same store functions as uploads (``upsert_units``,
``upsert_cadres``, ``upsert_peer_groups``). Task records, ballots, remediation, discipline,
assessments and indicators belong to the ingestion and ballot parts; they are seeded
through their bulk store functions once those parts are merged (docs/recompute.md).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import asyncpg

from evalsvc.domain.cadres import Absence, CadreCreate, EmploymentSpell, PeerGroupCreate
from evalsvc.domain.units import UnitCreate
from evalsvc.jobs.demo import PEER_GROUPS, SYSTEM, load_sample_catalog
from evalsvc.jobs.names import full_name
from evalsvc.store import cadres as cadre_store
from evalsvc.store import units as unit_store

BATCH = 20_000
Report = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class SeedSummary:
    units: int
    cadres: int
    seconds: dict[str, float]


def city_units(scale: float) -> list[UnitCreate]:
    """The unit tree: city → departments / communes-wards (ranked) → divisions."""
    total = max(10, round(3000 * scale))
    n_dept = max(2, round(30 * scale))
    n_ward = max(2, round(126 * scale))
    units = [UnitCreate(code="HN", name="Thành phố Hà Nội", kind="city")]
    tops = []
    for i in range(1, n_dept + 1):
        tops.append(
            UnitCreate(
                code=f"S{i:03d}",
                name=f"Sở số {i}",
                kind="department",
                parent_code="HN",
                ranking_block="Khối Sở",
            )
        )
    for i in range(1, n_ward + 1):
        kind = "ward" if i % 3 else "commune"
        label = "Phường" if kind == "ward" else "Xã"
        tops.append(
            UnitCreate(
                code=f"P{i:03d}",
                name=f"{label} số {i}",
                kind=kind,
                parent_code="HN",
                ranking_block="Khối xã, phường",
            )
        )
    units += tops
    for j in range(total - len(units)):
        parent = tops[j % len(tops)]
        units.append(
            UnitCreate(
                code=f"{parent.code}-D{j // len(tops) + 1:03d}",
                name=f"Phòng {j // len(tops) + 1} – {parent.name}",
                kind="division",
                parent_code=parent.code,
            )
        )
    return units


def city_cadres(units: list[UnitCreate], scale: float, rng: random.Random) -> list[CadreCreate]:
    """A head and a deputy in every unit but the city, staff spread over the rest."""
    n = max(len(units) * 3, round(200_000 * scale))
    leaders = [(u, p) for u in units[1:] for p in ("head", "deputy")]
    staff_units = units[1:]
    out: list[CadreCreate] = []
    for i in range(n):
        if i < len(leaders):
            unit, position = leaders[i]
        else:
            unit, position = staff_units[rng.randrange(len(staff_units))], "staff"
        group = "lanh-dao" if position != "staff" else rng.choice(["chuyen-vien", "mot-cua"])
        start = date(2010 + rng.randrange(16), 1, 1)
        if rng.random() < 0.02:
            start = date(2026, rng.randrange(1, 12), 1 + rng.randrange(28))
        absences: list[Absence] = []
        r = rng.random()
        if r < 0.01:
            m = rng.randrange(1, 7)
            absences.append(
                Absence(kind="maternity", start=date(2026, m, 1), end=date(2026, m + 5, 28))
            )
        elif r < 0.02:
            m = rng.randrange(1, 9)
            absences.append(Absence(kind="sick", start=date(2026, m, 1), end=date(2026, m + 3, 28)))
        out.append(
            CadreCreate(
                code=f"CB{i + 1:07d}",
                full_name=full_name(rng),
                personnel_type="cong_chuc" if rng.random() < 0.8 else "vien_chuc",
                position=position,  # type: ignore[arg-type]
                unit_code=unit.code,
                peer_group=group,
                party_member=rng.random() < 0.6,
                employment=[EmploymentSpell(start=start)],
                absences=absences,
            )
        )
    return out


async def seed_city(
    conn: asyncpg.Connection, scale: float, seed: int = 24, report: Report | None = None
) -> SeedSummary:
    """Load the synthetic city (idempotent for the same scale and seed)."""
    if not 0 < scale <= 5:
        raise ValueError("scale must be in (0, 5]")
    rng = random.Random(seed)
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    await cadre_store.upsert_peer_groups(
        conn, [PeerGroupCreate(code=c, name=n) for c, n in PEER_GROUPS]
    )
    units = city_units(scale)
    await unit_store.upsert_units(conn, units, SYSTEM)
    await load_sample_catalog(conn)
    seconds["units"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    cadres = city_cadres(units, scale, rng)
    for i in range(0, len(cadres), BATCH):
        await cadre_store.upsert_cadres(conn, cadres[i : i + BATCH], SYSTEM)
        if report is not None:
            report("cadres", min(i + BATCH, len(cadres)), len(cadres))
    seconds["cadres"] = round(time.perf_counter() - t, 3)
    return SeedSummary(units=len(units), cadres=len(cadres), seconds=seconds)
