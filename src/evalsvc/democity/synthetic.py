"""A seeded synthetic city (``evalsvc seed --scale N``) written through the user paths.

``--scale 1`` is Hà Nội size: 200,000 cadres in 3,000 units (the city, about 30
departments in "Khối Sở" and 126 communes and wards in "Khối xã, phường", divisions below
them). The registry goes through the same store functions as uploads (``upsert_units``,
``upsert_cadres``, ``upsert_peer_groups``), and so does the year's activity: task records
as CSV through ``store.tasks.ingest_stream`` (the import path), supervisor assessments,
remediation items (verified on time, late or not at all), some discipline, leaders' formal
confidence votes, unit indicators through their bulk upserts, and four quarterly ballot
rounds (created, opened with voter tokens, paper ballots uploaded, closed and tallied)
through the ballot store.
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import asyncpg
import numpy as np
import numpy.typing as npt

from evalsvc.democity.common import PEER_GROUPS, sample_catalog
from evalsvc.democity.names import full_name
from evalsvc.domain.access import SYSTEM
from evalsvc.domain.assessments import AssessmentIn
from evalsvc.domain.ballots import BallotKeys, RoundCreate
from evalsvc.domain.cadres import Absence, CadreCreate, EmploymentSpell, PeerGroupCreate
from evalsvc.domain.confidence_votes import ConfidenceVoteIn
from evalsvc.domain.discipline import DisciplineIn
from evalsvc.domain.remediation import RemediationIn, RemediationVerify
from evalsvc.domain.unit_indicators import UnitIndicatorIn
from evalsvc.domain.units import UnitCreate
from evalsvc.jobs import committee as committee_jobs
from evalsvc.store import assessments as assessment_store
from evalsvc.store import ballot_rounds
from evalsvc.store import cadres as cadre_store
from evalsvc.store import catalog as catalog_store
from evalsvc.store import confidence_votes as vote_store
from evalsvc.store import discipline as discipline_store
from evalsvc.store import remediation as remediation_store
from evalsvc.store import tasks as task_store
from evalsvc.store import unit_indicators as indicator_store
from evalsvc.store import units as unit_store

BATCH = 20_000
PAPER_TARGETS = 20_000  # targets per paper upload (15 ballots each: 300,000 ballots)
VOTERS_PER_UNIT = 16
Report = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class SeedSummary:
    units: int
    cadres: int
    seconds: dict[str, float]
    activity: bool  # the year of activity was loaded (only into a database without any)


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


YEAR = 2026
TODAY = min(date.today(), date(YEAR, 12, 31))  # verifications cannot be in the future


def _over(month: int, today: date) -> bool:
    """The month of ``YEAR`` has ended before ``today`` (its last day is past)."""
    nxt = date(YEAR + month // 12, month % 12 + 1, 1)
    return nxt <= today


# The demo's "today" is the real one: activity (tasks, assessments, indicators) only for
# months that are over, so no month is rated before it ends (issue 15).
MONTHS = [f"{YEAR}-{m:02d}" for m in range(1, 13) if _over(m, date.today())] or [f"{YEAR}-01"]
TASK_HEADER = (
    b"external_id,cadre_code,month,product_code,k,assigned,done,exceeded,"
    b"errors_counted,delays_counted\n"
)
K_VALUES = np.array([0.5, 1.0, 1.0, 1.5, 2.0])
TASK_CHUNK_CADRES = 10_000


@dataclass(frozen=True, slots=True)
class Population:
    """What the activity generators need of the registry, row i = cadre i (code order)."""

    codes: list[str]
    leader: npt.NDArray[np.bool_]
    unit: npt.NDArray[np.int64]  # row in unit_codes
    unit_codes: list[str]
    diligence: npt.NDArray[np.float64]  # share of assigned work done, per cadre


def population(
    cadres: list[CadreCreate], units: list[UnitCreate], rng: np.random.Generator
) -> Population:
    unit_row = {u.code: i for i, u in enumerate(units)}
    n = len(cadres)
    return Population(
        codes=[c.code for c in cadres],
        leader=np.array([c.position != "staff" for c in cadres]),
        unit=np.array([unit_row[c.unit_code] for c in cadres], dtype=np.int64),
        unit_codes=[u.code for u in units],
        # most cadres deliver 85-100 %, a tail much less (KHT / HT material)
        diligence=np.clip(rng.beta(9, 1.3, n) * 1.05, 0.2, 1.05),
    )


def task_csv(
    pop: Population, month: str, per_cadre: int, rng: np.random.Generator
) -> Iterator[bytes]:
    """``per_cadre`` task records per cadre for ``month`` as CSV chunks (header first)."""
    yield TASK_HEADER
    n = len(pop.codes)
    tag = month.replace("-", "")
    for lo in range(0, n, TASK_CHUNK_CADRES):
        hi = min(n, lo + TASK_CHUNK_CADRES)
        m = (hi - lo) * per_cadre
        cadre = np.repeat(np.arange(lo, hi), per_cadre)
        k = K_VALUES[rng.integers(0, len(K_VALUES), m)]
        assigned = rng.integers(1, 6, m)
        done = np.minimum(
            assigned, np.rint(assigned * pop.diligence[cadre] + rng.normal(0, 0.3, m))
        ).clip(0)
        exceeded = rng.random(m) < 0.03
        done = np.where(exceeded, assigned + 1, done).astype(np.int64)
        errors = (rng.random(m) < 0.04 * (1.2 - pop.diligence[cadre])).astype(np.int64)
        delays = (rng.random(m) < 0.06 * (1.2 - pop.diligence[cadre])).astype(np.int64)
        j = np.tile(np.arange(per_cadre), hi - lo)
        lines = [
            f"T{tag}-{c}-{jj},{pop.codes[c]},{month},SP{jj % 7},{kk},{a},{d},"
            f"{'true' if e else 'false'},{er},{dl}"
            for c, jj, kk, a, d, e, er, dl in zip(
                cadre.tolist(),
                j.tolist(),
                k.tolist(),
                assigned.tolist(),
                done.tolist(),
                exceeded.tolist(),
                errors.tolist(),
                delays.tolist(),
                strict=True,
            )
        ]
        yield ("\n".join(lines) + "\n").encode()


def assessments(pop: Population, rng: np.random.Generator) -> Iterator[list[AssessmentIn]]:
    """A supervisor assessment per cadre and month (0-10 sub-criteria; đ, e for leaders)."""
    n = len(pop.codes)
    for month in MONTHS:
        mean = 7.5 + 2 * (pop.diligence[:, None] - 0.85)
        base = np.clip(rng.normal(mean, 1.0, (n, 3)), 0, 10).round(1)
        organising = np.where(rng.random(n) < 0.9, 1.0, 0.5)
        cohesion = np.where(rng.random(n) < 0.92, 1.0, 0.5)
        batch: list[AssessmentIn] = []
        for i in range(n):
            lead = bool(pop.leader[i])
            batch.append(
                AssessmentIn(
                    cadre_code=pop.codes[i],
                    month=month,
                    politics=float(base[i, 0]),
                    capacity=float(base[i, 1]),
                    innovation=float(base[i, 2]),
                    organising=float(organising[i]) if lead else None,
                    cohesion=float(cohesion[i]) if lead else None,
                )
            )
            if len(batch) == BATCH:
                yield batch
                batch = []
        if batch:
            yield batch


def remediation(
    pop: Population, rng: np.random.Generator
) -> tuple[list[RemediationIn], list[tuple[int, date]]]:
    """Items found by inspections (5 % of cadres, 10 % of units), due during the year.

    Returns the items and, by position, which to verify and when (on time, late or never).
    """
    items: list[RemediationIn] = []
    verify: list[tuple[int, date]] = []
    n = len(pop.codes)
    who = np.flatnonzero(rng.random(n) < 0.05)
    units = np.flatnonzero(rng.random(len(pop.unit_codes)) < 0.10)
    subjects = [("cadre", int(i)) for i in who] + [("unit", int(u)) for u in units]
    for j, (kind, row) in enumerate(subjects):
        found = date(YEAR, int(rng.integers(1, 10)), int(rng.integers(1, 28)))
        due = found + timedelta(days=int(rng.integers(30, 90)))
        items.append(
            RemediationIn(
                origin="inspection",
                description="Khắc phục tồn tại sau kiểm tra",
                identified_on=found,
                due_on=due,
                cadre_code=pop.codes[row] if kind == "cadre" else None,
                unit_code=pop.unit_codes[row] if kind == "unit" else None,
                origin_ref=f"KT-{YEAR}",
                item_code=f"R{j}",
            )
        )
        r = rng.random()
        late = 0 if r < 0.7 else int(rng.integers(5, 60)) if r < 0.85 else None
        if late is not None:
            verify.append((j, min(due + timedelta(days=late), TODAY)))
    return items, verify


def discipline(pop: Population, rng: np.random.Generator) -> list[DisciplineIn]:
    """0.3 % of cadres disciplined once in the year (a few on both tracks)."""
    out: list[DisciplineIn] = []
    forms = ["khien_trach", "khien_trach", "canh_cao", "ha_bac_luong"]
    # About 1 % of cadres: KHT stays rare but a personnel officer sees that it exists.
    for j, i in enumerate(np.flatnonzero(rng.random(len(pop.codes)) < 0.01).tolist()):
        decided = date(YEAR, int(rng.integers(1, 11)), int(rng.integers(1, 28)))
        tracks = ["administrative"] + (["party"] if rng.random() < 0.3 else [])
        for track in tracks:
            out.append(
                DisciplineIn(
                    cadre_code=pop.codes[i],
                    form=forms[int(rng.integers(0, len(forms)))],  # type: ignore[arg-type]
                    track=track,  # type: ignore[arg-type]
                    violation_id=f"VP-{YEAR}-{j}",
                    decided_on=decided,
                    effective_on=decided + timedelta(days=7),
                    decision_no=f"{j}/QĐ-KL",
                )
            )
    return out


def confidence_votes(pop: Population, rng: np.random.Generator) -> list[ConfidenceVoteIn]:
    """The formal vote (QĐ 96) of every leader, once in the year; a few get > 1/2 low."""
    out: list[ConfidenceVoteIn] = []
    for i in np.flatnonzero(pop.leader).tolist():
        eligible = int(rng.integers(15, 60))
        present = eligible - int(rng.integers(0, 3))
        low_share = 0.6 if rng.random() < 0.01 else float(rng.uniform(0, 0.15))
        low = int(present * low_share)
        high = int((present - low) * rng.uniform(0.5, 0.9))
        out.append(
            ConfidenceVoteIn(
                cadre_code=pop.codes[i],
                vote_date=date(YEAR, 11, 15),
                eligible=eligible,
                present=present,
                high=high,
                medium=present - low - high,
                low=low,
            )
        )
    return out


def unit_indicators(pop: Population, rng: np.random.Generator) -> list[UnitIndicatorIn]:
    """SIPAS satisfaction and dossiers of every unit and month (1 month in 10 missing)."""
    out: list[UnitIndicatorIn] = []
    for code in pop.unit_codes:
        level = float(rng.uniform(70, 95))
        for month in MONTHS:
            if rng.random() < 0.1:
                continue
            received = int(rng.integers(50, 2000))
            out.append(
                UnitIndicatorIn(
                    unit_code=code,
                    month=month,
                    satisfaction_pct=round(min(100.0, max(0.0, level + rng.normal(0, 3))), 1),
                    dossiers_received=received,
                    dossiers_late=int(received * rng.uniform(0, 0.05)),
                )
            )
    return out


def paper_ballots(
    pop: Population,
    widths: dict[str, int],
    per_target: npt.NDArray[np.int64],
    rng: np.random.Generator,
    lo: int,
    hi: int,
) -> bytes:
    """``per_target[i]`` paper ballots for cadres ``lo..hi-1``: most items rarely marked
    observed, a few cadres often (so some manifestations are confirmed), a few cadres
    mostly "low" confidence."""
    n = hi - lo
    target = np.repeat(np.arange(lo, hi), per_target[lo:hi])
    m = len(target)
    wide = max(widths.values())
    often = np.where(rng.random(n) < 0.02, 0.6, 0.02)[target - lo]
    draw = rng.random((m, wide))
    grid = np.full((m, wide), ord("0"), np.uint8)
    grid[draw < often[:, None]] = ord("1")
    grid[draw > 0.97] = ord("x")
    levels = np.array(["", "KHT", "HT", "HTT", "HTXS"])[
        rng.choice(5, m, p=[0.1, 0.03, 0.3, 0.45, 0.12])
    ]
    low = np.where(rng.random(n) < 0.01, 0.7, 0.05)[target - lo]
    confidence = np.where(
        rng.random(m) < low, "low", np.array(["", "normal", "high"])[rng.integers(0, 3, m)]
    )
    width = np.where(pop.leader[target], widths["leader"], widths["staff"])
    rows = grid.tobytes()
    lines = ["target,marks,level,confidence"]
    for i, (t, w, lv_, cf) in enumerate(
        zip(target.tolist(), width.tolist(), levels.tolist(), confidence.tolist(), strict=True)
    ):
        lines.append(f"{pop.codes[t]},{rows[i * wide : i * wide + w].decode()},{lv_},{cf}")
    return ("\n".join(lines) + "\n").encode()


async def seed_city(
    conn: asyncpg.Connection,
    scale: float,
    seed: int = 24,
    report: Report | None = None,
    keys: BallotKeys | None = None,
    tasks_per_cadre: int = 20,
    ballots_per_cadre: int = 15,
) -> SeedSummary:
    """Load the synthetic city and, when ``keys`` are given, its year of activity.

    Idempotent for the same scale and seed: the activity is only loaded into a database
    without task totals yet.
    """
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
    catalog, _ = await catalog_store.create_catalog(conn, sample_catalog())
    seconds["units"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    cadres = city_cadres(units, scale, rng)
    for i in range(0, len(cadres), BATCH):
        await cadre_store.upsert_cadres(conn, cadres[i : i + BATCH], SYSTEM)
        if report is not None:
            report("cadres", min(i + BATCH, len(cadres)), len(cadres))
    seconds["cadres"] = round(time.perf_counter() - t, 3)
    fresh = not await task_store.has_task_data(conn)
    if keys is not None and fresh:  # the activity is loaded once (seeding again is a no-op)
        gen = np.random.default_rng(seed)
        pop = population(cadres, units, gen)
        await seed_activity(
            conn, pop, catalog.id, keys, gen, seconds, report, tasks_per_cadre, ballots_per_cadre
        )
    activity = keys is not None and fresh
    return SeedSummary(len(units), len(cadres), seconds, activity)


async def seed_activity(
    conn: asyncpg.Connection,
    pop: Population,
    catalog_id: int,
    keys: BallotKeys,
    rng: np.random.Generator,
    seconds: dict[str, float],
    report: Report | None,
    tasks_per_cadre: int,
    ballots_per_cadre: int,
) -> None:
    """A year of activity through the users' bulk paths (module docstring)."""
    await _seed_records(conn, pop, rng, seconds, report, tasks_per_cadre)
    await seed_ballots(conn, pop, catalog_id, keys, rng, seconds, report, ballots_per_cadre)


async def _seed_records(
    conn: asyncpg.Connection,
    pop: Population,
    rng: np.random.Generator,
    seconds: dict[str, float],
    report: Report | None,
    tasks_per_cadre: int,
) -> None:
    def done(what: str, t: float) -> None:
        seconds[what] = round(time.perf_counter() - t, 3)

    t = time.perf_counter()
    for k, month in enumerate(MONTHS):

        async def task_body(month: str = month) -> AsyncIterator[bytes]:
            for piece in task_csv(pop, month, tasks_per_cadre, rng):
                yield piece

        await task_store.ingest_stream(
            conn, task_body(), fmt="csv", principal=None, origin="cli", default_source="seed"
        )
        if report is not None:
            report("task months", k + 1, len(MONTHS))
    done("tasks", t)
    t = time.perf_counter()
    for batch in assessments(pop, rng):
        await assessment_store.upsert_assessments(conn, batch, None)
    done("assessments", t)
    t = time.perf_counter()
    items, verify = remediation(pop, rng)
    for i in range(0, len(items), BATCH):
        await remediation_store.create_items(conn, items[i : i + BATCH], None)
    ids = [
        r["id"]
        for r in await conn.fetch(
            "select id from remediation_items where origin = 'inspection' and origin_ref = $1 "
            "order by (substr(item_code, 2))::int",
            f"KT-{YEAR}",
        )
    ]
    for j, when in verify:
        await remediation_store.verify_item(
            conn,
            ids[j],
            RemediationVerify(verified_by="Thanh tra", verified_on=when),
            SYSTEM,
            TODAY,
        )
    await discipline_store.upsert_discipline(conn, discipline(pop, rng), None)
    await vote_store.upsert_votes(conn, confidence_votes(pop, rng), None)
    await indicator_store.upsert_indicators(conn, unit_indicators(pop, rng), None)
    done("remediation_discipline_votes_indicators", t)


async def seed_ballots(
    conn: asyncpg.Connection,
    pop: Population,
    catalog_id: int,
    keys: BallotKeys,
    rng: np.random.Generator,
    seconds: dict[str, float],
    report: Report | None,
    ballots_per_cadre: int,
    first_quarter: int = 1,
) -> None:
    """Quarterly ballot rounds ``first_quarter``..4 (module docstring)."""
    t = time.perf_counter()
    forms = await ballot_rounds.form_items(conn, catalog_id)
    widths = {form: len(items.codes) for form, items in forms.items()}
    # The voting group of a unit: its first VOTERS_PER_UNIT cadres (head and deputy first),
    # so ~15 ballots reach the 2/3 quorum of a target's eligible voters.
    voters: list[str] = []
    seen = np.zeros(len(pop.unit_codes), dtype=np.int64)
    for i, u in enumerate(pop.unit.tolist()):
        if seen[u] < VOTERS_PER_UNIT:
            voters.append(pop.codes[i])
            seen[u] += 1
    row_of = {code: i for i, code in enumerate(pop.codes)}
    committee = await committee_jobs.demo_committee(conn)
    now = datetime.now(UTC)
    for q in range(first_quarter, 5):
        quarter = f"{YEAR}-Q{q}"
        opens = datetime(YEAR, 3 * q, 20, tzinfo=UTC)
        if opens + timedelta(days=10) > now:
            continue  # a round is closed (and tallied) only once its window has passed
        created = await ballot_rounds.create_round(
            conn,
            SYSTEM,
            RoundCreate(
                title=f"Lấy phiếu đánh giá quý {q}/{YEAR}",
                unit=pop.unit_codes[0],
                period=quarter,
                catalog_id=catalog_id,
                opens_at=opens,
                closes_at=opens + timedelta(days=10),
                include_subunits=True,
                voters=voters,
                paper_voters=voters,  # the demo's ballots are paper ones
                committee=committee.usernames,
            ),
        )
        round_id = int(created["id"])
        await ballot_rounds.open_round(conn, SYSTEM, round_id, keys)
        shares = await committee_jobs.collect_shares(conn, keys, committee, round_id)
        per_target = np.zeros(len(pop.codes), dtype=np.int64)
        for r in await conn.fetch(
            "select c.code, t.eligible from ballot_round_targets t "
            "join cadres c on c.id = t.cadre_id where t.round_id = $1",
            round_id,
        ):
            per_target[row_of[r["code"]]] = min(ballots_per_cadre, r["eligible"])
        n = len(pop.codes)
        for part, lo in enumerate(range(0, n, PAPER_TARGETS)):
            hi = min(n, lo + PAPER_TARGETS)
            body = paper_ballots(pop, widths, per_target, rng, lo, hi)
            await committee_jobs.enter_paper(
                conn, committee, round_id, body, f"seed-{quarter}-{part}"
            )
        await committee_jobs.close_with(conn, keys, committee, round_id, shares)
        # Fresh statistics after each big round: without them the next round's planning
        # of its eligible-voter update degenerates (minutes instead of a second at scale 1).
        await conn.execute(
            "select evalsvc_analyze_ballot_tables($1)",
            ["ballot_round_targets", "ballot_round_voters", "ballots"],
        )
        if report is not None:
            report("ballot rounds", q, 4)
    seconds["ballots"] = round(time.perf_counter() - t, 3)
