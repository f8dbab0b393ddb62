"""A small demo city, loaded through the same store paths as user uploads.

A few departments and wards in two ranking blocks, some hundreds of cadres with Vietnamese
names, three peer groups and the sample catalog. Loading twice changes nothing but adds a key.
"""

from __future__ import annotations

import random
from datetime import date

import asyncpg
import numpy as np

from evalsvc.democity.common import PEER_GROUPS, sample_catalog
from evalsvc.democity.names import full_name
from evalsvc.domain.access import SYSTEM, Role, generate_key
from evalsvc.domain.ballots import BallotKeys
from evalsvc.domain.cadres import CadreCreate, EmploymentSpell, PeerGroupCreate
from evalsvc.domain.recompute import RecomputeRequest
from evalsvc.domain.units import UnitCreate
from evalsvc.store import cadres as cadre_store
from evalsvc.store import catalog as catalog_store
from evalsvc.store import keys as key_store
from evalsvc.store import units as unit_store
from evalsvc.store.tasks import has_task_data

DEPARTMENTS = [
    ("SNV", "Sở Nội vụ"),
    ("STC", "Sở Tài chính"),
    ("SXD", "Sở Xây dựng"),
    ("SGDDT", "Sở Giáo dục và Đào tạo"),
]
WARDS = [
    ("P-LONGBIEN", "Phường Long Biên"),
    ("P-BODE", "Phường Bồ Đề"),
    ("P-HOANKIEM", "Phường Hoàn Kiếm"),
    ("X-DONGANH", "Xã Đông Anh"),
    ("P-CAUGIAY", "Phường Cầu Giấy"),
]
DIVISIONS = [("VP", "Văn phòng"), ("TH", "Phòng Tổng hợp"), ("CM", "Phòng Chuyên môn")]


def demo_units() -> list[UnitCreate]:
    units = [UnitCreate(code="HN", name="Thành phố Hà Nội", kind="city")]
    for code, name, block, kind in [
        *[(c, n, "Khối Sở", "department") for c, n in DEPARTMENTS],
        *[(c, n, "Khối xã, phường", "commune_ward") for c, n in WARDS],
    ]:
        units.append(
            UnitCreate(code=code, name=name, kind=kind, parent_code="HN", ranking_block=block)
        )
        units += [
            UnitCreate(code=f"{code}-{d}", name=f"{dn} – {name}", kind="division", parent_code=code)
            for d, dn in DIVISIONS
        ]
    return units


def demo_cadres(units: list[UnitCreate], seed: int = 24) -> list[CadreCreate]:
    """A head and a deputy per unit, staff in the divisions (about 300 people)."""
    rng = random.Random(seed)
    cadres: list[CadreCreate] = []
    for unit in units:
        if unit.kind == "city":
            continue
        staff = rng.randint(6, 10) if unit.kind == "division" else 2
        roles = ["head", "deputy", *["staff"] * staff]
        for i, position in enumerate(roles, start=1):
            group = "lanh-dao" if position != "staff" else rng.choice(["chuyen-vien", "mot-cua"])
            cadres.append(
                CadreCreate(
                    code=f"{unit.code}-{i:03d}",
                    full_name=full_name(rng),
                    personnel_type="cong_chuc" if unit.kind != "division" or i < 6 else "vien_chuc",
                    position=position,  # type: ignore[arg-type]
                    unit_code=unit.code,
                    peer_group=group,
                    party_member=rng.random() < 0.6,
                    employment=[EmploymentSpell(start=date(2015 + rng.randint(0, 10), 1, 1))],
                    # Most have an address (invitations by mail); every seventh gets a slip.
                    email=None if i % 7 == 0 else f"{unit.code.lower()}-{i:03d}@demo.invalid",
                )
            )
    return cadres


async def load_demo(conn: asyncpg.Connection, keys: BallotKeys | None = None) -> str:
    """Load (or refresh) the demo city; return a new admin key, shown once.

    With ``keys``, a fresh database also gets a year of synthetic activity (tasks, ballots,
    remediation, discipline, assessments, indicators) through the users' bulk paths, and the
    year is recomputed, so ratings and rankings can be read at once.
    """
    units = demo_units()
    await cadre_store.upsert_peer_groups(
        conn, [PeerGroupCreate(code=c, name=n) for c, n in PEER_GROUPS]
    )
    await unit_store.upsert_units(conn, units, SYSTEM)
    cadres = demo_cadres(units)
    await cadre_store.upsert_cadres(conn, cadres, SYSTEM)
    catalog, _ = await catalog_store.create_catalog(conn, sample_catalog())
    if keys is not None and not await has_task_data(conn):
        # Imported here: the synthetic generator pulls in every bulk store.
        from evalsvc.democity.synthetic import YEAR, population, seed_activity
        from evalsvc.jobs.recompute import recompute

        gen = np.random.default_rng(24)
        await seed_activity(
            conn, population(cadres, units, gen), catalog.id, keys, gen, {}, None, 8, 12
        )
        # rated over the months over by the demo's today: no row for a month still running
        await recompute(conn, RecomputeRequest(period=str(YEAR)), SYSTEM, as_of=date.today())
    key = generate_key()
    await key_store.create_key(conn, key, Role.ADMIN, None, "demo admin")
    return key.token
