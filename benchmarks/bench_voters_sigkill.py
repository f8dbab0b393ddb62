"""Load and faults: 100 voters hand in their sheets (with duplicates) while ``serve`` is SIGKILLed.

Issue 16 item 9. Loopback only, bounded in count and time, against the real ``evalsvc serve``
subprocess on a fresh data folder (its embedded PostgreSQL, the secret key given as
``EVALSVC_SECRET_KEY``, no recompute workers).

Set-up, before ``serve`` starts, through the store on the same data folder and secret (as
``evalsvc`` commands do): a city of VOTERS cadres in units of about GROUP (each voter's sheet
holds the colleagues of their unit), each with an email address; the bench catalog; the demo
counting committee (three accounts whose committee keys are registered), a session for each
member; an admin API key. Then over HTTP, as an operator would: the round is created with that
committee and opened; the service delivers each voter's code by mail (no SMTP server: the
``outbox`` folder), and each voter reads their code from their message.

The load: every voter is a concurrent client. It reads ``GET /ballot/targets``, waits a
think time (0..SPREAD s, seeded), then hands in its sheet twice at once -- sealed by the
server (``POST /ballot/sheets``) and sealed by itself (``POST /ballot/sealed-sheets``, PyNaCl,
``evalsvc.voting_client.seal_sheet``) -- and once more after the answer: two duplicates on
purpose per voter. A request that gets no answer (connection refused or dropped: serve was
killed) or a 5xx is sent again until DEADLINE. 201 means stored; 409 "already handed in"
means a sheet of this voter is stored (the other copy, or an earlier attempt whose answer was
lost). Either acknowledges the voter's sheet. Meanwhile ``serve`` is killed with SIGKILL KILLS
times -- the k-th time once k/(KILLS+1) of the voters are acknowledged and BUSY requests are
in flight (or 2 s later), so every kill lands mid-load -- and started again on the same data
folder.

Afterwards the committee closes the round as the real flow does: each member fetches their
share sealed to their committee key (``POST .../committee/share``) and opens it with their key
file, member 1 closes with two shares (``POST .../close``). What is stored is then counted.
Ballots are secret (after the close they are shuffled blocks per target, no voter), so:

- per target, ``stored`` = the ballots in the round's blocks for that target (also checked
  equal to the close's tally, ``ballot_tallies.valid``);
  ``expected`` = the acknowledged voters whose sheet holds that target.
- lost = sum over targets of max(0, expected - stored): acknowledged ballots not stored.
- duplicated = sum over targets of max(0, stored - expected - unacknowledged), where
  unacknowledged counts the sheets of voters who never got an answer yet are in the ledger
  (0 unless a voter gave up): stored ballots beyond one per (voter sheet, target).
- half_written = sheets stored partly: voters whose ledger rows (recomputed here with the
  secret: one tag for the sheet, one per colleague) are present only in part, plus sheets the
  close found invalid (their ballots not exactly the colleagues the ledger recorded for them).
  A sheet's ballots are sealed in one ciphertext, so a stored sheet holds its size or is
  invalid; the per-target counts check the sizes again.
- sheet checks (must be 0 too): receipts answered with a 201 that the close did not count,
  voters with two counted sheets (two of their receipts among the counted ones), voters
  answered 201 twice, sheet rows before the close other than the ledger's sheet tags, sheets
  counted other than the ledger's sheet tags, tally other than the blocks.

Prints JSON: the counts, the latencies (median, p95, max) of the sheets answered 201, of every
answered submission and per voter from first send to acknowledgement (across restarts), each
restart's time, the requests in flight at each kill, and the load average. Exits 1 when lost,
duplicated, half_written or a sheet check is not 0, a voter's sheet is not acknowledged, or
fewer kills happened than asked; 2 past TIME_LIMIT seconds.

    .venv/bin/python benchmarks/bench_voters_sigkill.py [--voters 100] [--group 10] [--kills 2]
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import base64
import email
import email.policy
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_ballots import seed_catalog
from evalsvc.cli import prepare_database
from evalsvc.domain.access import SYSTEM, Role, generate_key
from evalsvc.domain.ballots import ledger_tag
from evalsvc.domain.cadres import CadreCreate
from evalsvc.domain.sheets import sheet_tag
from evalsvc.domain.units import UnitCreate
from evalsvc.jobs.committee import demo_committee
from evalsvc.keyring import derive
from evalsvc.sealing import member_keys
from evalsvc.settings import Settings, load_settings
from evalsvc.store.ballot_blocks import read_round
from evalsvc.store.cadres import upsert_cadres
from evalsvc.store.database import connect
from evalsvc.store.keys import create_key
from evalsvc.store.units import upsert_units
from evalsvc.store.users import start_session
from evalsvc.voting_client import seal_sheet

SECRET = "bench-voters-sigkill-secret"
KEYS = derive(SECRET.encode())
ROOT_UNIT = "SK"
RETRY_PAUSE = 0.2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def env_for(data_dir: Path, port: int) -> dict[str, str]:
    """The environment of every ``serve``: one data folder, one secret key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALSVC_")}
    env |= {
        "EVALSVC_DATA_DIR": str(data_dir),
        "EVALSVC_PORT": str(port),
        "EVALSVC_SECRET_KEY": SECRET,
        "EVALSVC_KEY_REQUESTS_PER_MINUTE": "0",
        # No recompute worker processes: a SIGKILLed serve would leave them orphaned.
        "EVALSVC_WORKERS": "0",
    }
    return env


def start_serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """``evalsvc serve`` on the data folder; returns once /health answers 200."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "evalsvc.cli", "serve"], env=env, stdout=out, stderr=out
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"serve exited with {proc.returncode}; see {log}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("serve did not answer /health within 120 s")


# --- set-up -----------------------------------------------------------------------------------


@dataclass
class Seeded:
    dsn: str  # the serving role's DSN, as serve uses
    catalog_id: int
    admin: dict[str, str]  # header with the admin API key
    members: list[dict[str, str]]  # header with each committee member's session
    usernames: list[str]
    key_files: list[str]


def unit_sizes(n_voters: int, group: int) -> list[int]:
    """``n_voters`` split into units of about ``group`` (at least 2 each)."""
    n_units = max(1, round(n_voters / group))
    base, extra = divmod(n_voters, n_units)
    return [base + (i < extra) for i in range(n_units)]


async def seed(settings: Settings, n_voters: int, group: int) -> Seeded:
    """Prepare the data folder as serve does (start, migrate) and seed it through the store."""
    dsn = await prepare_database(settings)
    conn = await connect(dsn)
    try:
        sizes = unit_sizes(n_voters, group)
        units = [UnitCreate(code=ROOT_UNIT, name="Thành phố bench", kind="city")]
        units += [
            UnitCreate(code=f"{ROOT_UNIT}-U{u:02d}", name=f"Phòng {u}", kind="x", parent_code="SK")
            for u in range(len(sizes))
        ]
        await upsert_units(conn, units, SYSTEM)
        cadres: list[CadreCreate] = []
        for u, size in enumerate(sizes):
            for j in range(size):
                code = f"{ROOT_UNIT}-C{len(cadres):03d}"
                cadres.append(
                    CadreCreate(
                        code=code,
                        full_name=f"Cán bộ {len(cadres):03d}",
                        personnel_type="cong_chuc",
                        position="head" if j == 0 else "deputy" if j == 1 else "staff",
                        unit_code=f"{ROOT_UNIT}-U{u:02d}",
                        email=f"{code.lower()}@bench.test",
                    )
                )
        await upsert_cadres(conn, cadres, SYSTEM)
        catalog_id = await seed_catalog(conn)
        committee = await demo_committee(conn, "bench")
        members = []
        for principal in committee.principals:
            assert principal.user_id is not None
            token = await start_session(conn, principal.user_id)
            members.append({"Authorization": f"Bearer {token}"})
        key = generate_key()
        await create_key(conn, key, Role.ADMIN, None, "bench voters sigkill")
    finally:
        await conn.close()
    return Seeded(
        dsn,
        catalog_id,
        {"Authorization": f"Bearer {key.token}"},
        members,
        committee.usernames,
        committee.key_files,
    )


def open_round(
    base: str, seeded: Seeded, outbox: Path, n_voters: int
) -> tuple[int, dict[str, str]]:
    """Create and open the round over HTTP; the voters' codes, as their mail delivers them."""
    with httpx.Client(base_url=base, headers=seeded.admin, timeout=120) as c:
        now = datetime.now(UTC)
        body = {
            "title": "bench voters sigkill",
            "unit": ROOT_UNIT,
            "period": "2026-Q1",
            "catalog_id": seeded.catalog_id,
            "opens_at": (now - timedelta(hours=1)).isoformat(),
            "closes_at": (now + timedelta(days=1)).isoformat(),
            "include_subunits": True,
            "committee": seeded.usernames,
        }
        r = c.post("/ballot-rounds", json=body)
        r.raise_for_status()
        round_id = int(r.json()["id"])
        r = c.post(f"/ballot-rounds/{round_id}/open")
        r.raise_for_status()
        deadline = time.monotonic() + 120
        while True:
            r = c.get(f"/ballot-rounds/{round_id}/invitations")
            r.raise_for_status()
            statuses = Counter(i["status"] for i in r.json())
            if statuses.get("sent", 0) == n_voters:
                break
            if time.monotonic() > deadline or statuses.get("failed"):
                raise SystemExit(f"invitations not delivered: {dict(statuses)}")
            time.sleep(0.2)
    codes: dict[str, str] = {}
    for path in outbox.glob(f"r{round_id}-v*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        text = message.get_body(("plain",))
        assert text is not None
        found = re.search(r"/phieu/([0-9A-Z-]+)", text.get_content())
        assert found, path
        cadre = str(message["To"]).split("<")[-1].split("@")[0].upper()
        codes[cadre] = found.group(1)
    if len(codes) != n_voters:
        raise SystemExit(f"{len(codes)} invitations in the outbox, expected {n_voters}")
    return round_id, codes


# --- the voters ---------------------------------------------------------------------------------


@dataclass
class Load:
    """Shared counters of the load phase."""

    n_voters: int
    deadline: float
    acknowledged: int = 0
    finished: int = 0
    in_flight: int = 0
    retries: int = 0
    created_ms: list[float] = field(default_factory=list)  # submissions answered 201
    answered_ms: list[float] = field(default_factory=list)  # answered 201 or 409
    until_ack_ms: list[float] = field(default_factory=list)  # per voter, across restarts


@dataclass
class Voter:
    cadre: str
    code: str
    acknowledged: bool = False  # a copy of the sheet was answered 201 or 409 "already"
    created: int = 0  # 201 answers
    receipts: set[str] = field(default_factory=set)  # answered with 201, and the client's own
    problems: list[str] = field(default_factory=list)  # any other answer, or none


def answers(pending: dict[str, Any], rng: random.Random) -> dict[str, dict[str, Any]]:
    """A ballot for every pending colleague: a few marks, mostly a level and a confidence."""
    forms = {f: [i["code"] for i in items] for f, items in pending["forms"].items()}
    out: dict[str, dict[str, Any]] = {}
    for target in pending["targets"]:
        items = forms[target["form"]]
        answer: dict[str, Any] = {
            "marks": {i: rng.choice(("observed", "no_basis")) for i in rng.sample(items, 3)}
        }
        if rng.random() < 0.8:
            answer["level"] = rng.choice(("HTXS", "HTT", "HT", "KHT"))
        if rng.random() < 0.8:
            answer["confidence"] = rng.choice(("high", "normal", "low"))
        if rng.random() < 0.2:
            answer["comment"] = "Cần chủ động hơn trong công việc."
        out[target["code"]] = answer
    return out


async def call(
    c: httpx.AsyncClient, load: Load, method: str, path: str, body: Any = None
) -> tuple[httpx.Response | None, float]:
    """One request, sent again while it gets no answer or a 5xx (serve down or starting).
    Returns the answer (None past the deadline) and the answered attempt's seconds."""
    while time.monotonic() < load.deadline:
        started = time.perf_counter()
        load.in_flight += 1
        try:
            r = await c.request(method, path, json=body)
        except httpx.HTTPError:
            r = None
        finally:
            load.in_flight -= 1
        if r is not None and r.status_code < 500:
            return r, time.perf_counter() - started
        load.retries += 1
        await asyncio.sleep(RETRY_PAUSE * (0.5 + random.random()))
    return None, 0.0


async def hand_in(
    c: httpx.AsyncClient, load: Load, voter: Voter, path: str, body: dict[str, Any]
) -> str:
    """One copy of the sheet: 'created', 'already' (a sheet of the voter is stored) or why not."""
    r, seconds = await call(c, load, "POST", path, body)
    if r is None:
        return "no answer before the deadline"
    if r.status_code == 201:
        load.created_ms.append(1000 * seconds)
        load.answered_ms.append(1000 * seconds)
        voter.created += 1
        voter.receipts.add(r.json()["receipt"])
        return "created"
    if r.status_code == 409 and "already" in r.text:
        load.answered_ms.append(1000 * seconds)
        return "already"
    return f"{path} refused {r.status_code}: {r.text[:200]}"


async def vote(base: str, load: Load, voter: Voter, think: float, seed: int) -> None:
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {voter.code}"}
    try:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as c:
            r, _ = await call(c, load, "GET", "/ballot/targets")
            if r is None or r.status_code != 200 or not r.json()["targets"]:
                voter.problems.append("no sheet: " + ("no answer" if r is None else r.text[:200]))
                return
            pending = r.json()
            await asyncio.sleep(think)
            mine = answers(pending, rng)
            plain = {"ballots": [{"target": t, **a} for t, a in mine.items()]}
            sealed, receipt = seal_sheet(pending, mine)
            voter.receipts.add(receipt.hex())  # the client's copy, whether stored or not
            started = time.perf_counter()
            # The sheet and a duplicate at once, each sealed another way; then once more.
            pair = await asyncio.gather(
                hand_in(c, load, voter, "/ballot/sheets", plain),
                hand_in(c, load, voter, "/ballot/sealed-sheets", sealed),
            )
            if "created" in pair or "already" in pair:
                voter.acknowledged = True
                load.acknowledged += 1
                load.until_ack_ms.append(1000 * (time.perf_counter() - started))
            voter.problems += [a for a in pair if a not in ("created", "already")]
            again = await hand_in(c, load, voter, "/ballot/sheets", plain)
            if again != "already":
                voter.problems.append(f"the duplicate after the answer: {again}")
    finally:
        load.finished += 1


@dataclass
class Kills:
    done: int = 0
    in_flight: list[int] = field(default_factory=list)
    restart_s: list[float] = field(default_factory=list)


async def killer(
    box: list[subprocess.Popen[bytes]],
    env: dict[str, str],
    port: int,
    log: Path,
    load: Load,
    kills: Kills,
    n_kills: int,
    busy: int,
) -> None:
    """SIGKILL serve once k/(n_kills+1) of the voters are acknowledged and at least
    ``busy`` requests are in flight (or 2 s later); start it again."""
    for k in range(1, n_kills + 1):
        while load.acknowledged < k * load.n_voters / (n_kills + 1):
            if load.finished == load.n_voters:
                return
            await asyncio.sleep(0.005)
        until = time.monotonic() + 2
        while time.monotonic() < until:
            if load.in_flight >= busy:
                break
            await asyncio.sleep(0.001)
        kills.in_flight.append(load.in_flight)
        box[0].send_signal(signal.SIGKILL)
        box[0].wait()
        kills.done += 1
        started = time.perf_counter()
        box[0] = await asyncio.to_thread(start_serve, env, port, log)
        kills.restart_s.append(round(time.perf_counter() - started, 2))


async def run_load(
    base: str,
    voters: list[Voter],
    box: list[subprocess.Popen[bytes]],
    env: dict[str, str],
    port: int,
    log: Path,
    args: argparse.Namespace,
) -> tuple[Load, Kills, float]:
    load = Load(len(voters), time.monotonic() + args.deadline)
    kills = Kills()
    rng = random.Random(9)
    started = time.perf_counter()
    await asyncio.gather(
        killer(box, env, port, log, load, kills, args.kills, args.busy),
        *(vote(base, load, v, rng.uniform(0, args.spread), i) for i, v in enumerate(voters)),
    )
    return load, kills, time.perf_counter() - started


# --- the close and the counts -----------------------------------------------------------------


def close_round(base: str, seeded: Seeded, round_id: int) -> dict[str, Any] | str:
    """The committee's steps: each member fetches and opens their share; member 1 closes.
    Returns the closed round, or the refusal's status and text."""
    shares = []
    with httpx.Client(base_url=base, timeout=300) as c:
        for headers, key_file in zip(seeded.members, seeded.key_files, strict=True):
            r = c.post(f"/ballot-rounds/{round_id}/committee/share", headers=headers)
            r.raise_for_status()
            sealed = base64.b64decode(r.json()["sealed_share"])
            shares.append(member_keys.open_share(key_file, sealed))
        r = c.post(
            f"/ballot-rounds/{round_id}/close",
            json={"shares": shares[:2]},
            headers=seeded.members[0],
        )
        if r.status_code != 200:
            return f"{r.status_code}: {r.text[:500]}"
        closed: dict[str, Any] = r.json()
        return closed


@dataclass
class Roll:
    """The round's voters and targets as the database holds them."""

    voter_id: dict[str, int]  # cadre code -> ballot_round_voters.id
    colleagues: dict[str, list[int]]  # cadre code -> target cadre ids on their sheet


async def roll(dsn: str, round_id: int) -> Roll:
    conn = await connect(dsn)
    try:
        voters = await conn.fetch(
            "select v.id, v.cadre_id, v.group_id, c.code from ballot_round_voters v"
            " join cadres c on c.id = v.cadre_id where v.round_id = $1",
            round_id,
        )
        targets = await conn.fetch(
            "select cadre_id, group_id from ballot_round_targets where round_id = $1", round_id
        )
    finally:
        await conn.close()
    return Roll(
        {v["code"]: int(v["id"]) for v in voters},
        {
            v["code"]: [
                int(t["cadre_id"])
                for t in targets
                if t["group_id"] == v["group_id"] and t["cadre_id"] != v["cadre_id"]
            ]
            for v in voters
        },
    )


async def ledger_state(dsn: str, round_id: int) -> tuple[set[bytes], int]:
    """The round's ledger tags and its sealed sheet rows (before the close deletes them)."""
    conn = await connect(dsn)
    try:
        tags = {
            bytes(r["tag"])
            for r in await conn.fetch("select tag from ballot_ledger where round_id = $1", round_id)
        }
        rows = await conn.fetchval(
            "select count(*) from ballot_sheets where round_id = $1", round_id
        )
    finally:
        await conn.close()
    return tags, int(rows)


async def stored_state(dsn: str, round_id: int) -> tuple[Counter[int], dict[int, int], set[str]]:
    """After the close: ballots per target in the blocks, the tally's counts, the receipts."""
    conn = await connect(dsn)
    try:
        blocks = await read_round(conn, round_id)
        tally = {
            int(r["target_id"]): int(r["valid"])
            for r in await conn.fetch(
                "select target_id, valid from ballot_tallies where round_id = $1", round_id
            )
        }
        counted = {
            bytes(r["receipt"]).hex()
            for r in await conn.fetch(
                "select receipt from ballot_receipts where round_id = $1", round_id
            )
        }
    finally:
        await conn.close()
    return Counter(int(t) for t in blocks.ballot_targets()), tally, counted


def figures(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "median": round(statistics.median(ordered), 1),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
        "max": round(ordered[-1], 1),
    }


@dataclass
class Ledger:
    """What the ledger says of the voters' sheets (tags recomputed with the secret)."""

    expected: Counter[int]  # target -> acknowledged sheets that hold it
    unacknowledged: Counter[int]  # target -> sheets in the ledger never acknowledged
    partial: int  # sheets with only some of their ledger rows
    sheets: int  # sheet tags present


def read_ledger(voters: list[Voter], rl: Roll, round_id: int, tags: set[bytes]) -> Ledger:
    out = Ledger(Counter(), Counter(), 0, 0)
    for v in voters:
        vid, targets = rl.voter_id[v.cadre], rl.colleagues[v.cadre]
        has_sheet = sheet_tag(KEYS, vid, round_id) in tags
        present = sum(ledger_tag(KEYS, vid, t, round_id) in tags for t in targets)
        if present != (len(targets) if has_sheet else 0):
            out.partial += 1  # some of the sheet's ledger rows without the others
        out.sheets += has_sheet
        if v.acknowledged:
            out.expected.update(targets)
        elif has_sheet:
            out.unacknowledged.update(targets)
    return out


def count(
    voters: list[Voter],
    ledger: Ledger,
    sheet_rows: int,
    closed: dict[str, Any],
    stored: Counter[int],
    tally: dict[int, int],
    counted: set[str],
) -> dict[str, Any]:
    expected, unacknowledged = ledger.expected, ledger.unacknowledged
    every = set(expected) | set(unacknowledged) | set(stored) | set(tally)
    lost = sum(max(0, expected[t] - stored[t]) for t in every)
    duplicated = sum(max(0, stored[t] - expected[t] - unacknowledged[t]) for t in every)
    invalid = int(closed["sheets"]["invalid"] or 0)
    checks = {
        "receipts_of_201_not_counted": sum(
            1 for v in voters if v.created and not (v.receipts & counted)
        ),
        "voters_with_two_counted_sheets": sum(1 for v in voters if len(v.receipts & counted) > 1),
        "voters_answered_201_twice": sum(1 for v in voters if v.created > 1),
        "sheet_rows_before_close_minus_ledger_sheets": sheet_rows - ledger.sheets,
        "sheets_counted_minus_ledger_sheets": int(closed["sheets"]["counted"]) - ledger.sheets,
        "targets_tally_differs_from_blocks": sum(1 for t in every if tally.get(t, 0) != stored[t]),
    }
    return {
        "acknowledged_ballots": sum(expected.values()),
        "stored_ballots": sum(stored.values()),
        "lost": lost,
        "duplicated": duplicated,
        "half_written": ledger.partial + invalid,
        "half_written_detail": {"ledger_partial_sheets": ledger.partial, "invalid_sheets": invalid},
        "sheets": {
            "acknowledged": sum(v.acknowledged for v in voters),
            "in_ledger": ledger.sheets,
            "rows_before_close": sheet_rows,
            "counted_at_close": closed["sheets"]["counted"],
            "ballots_online_at_close": closed["ballots_by_channel"]["online"],
        },
        "checks": checks,
    }


def uncounted(voters: list[Voter], ledger: Ledger, sheet_rows: int, refusal: str) -> dict[str, Any]:
    """The figures when the close refused: only the ledger and the sheet rows to go by."""
    return {
        "close_refused": refusal,
        "acknowledged_ballots": sum(ledger.expected.values()),
        "lost": None,
        "duplicated": None,
        "half_written": ledger.partial,
        "half_written_detail": {"ledger_partial_sheets": ledger.partial, "invalid_sheets": None},
        "sheets": {
            "acknowledged": sum(v.acknowledged for v in voters),
            "in_ledger": ledger.sheets,
            "rows_before_close": sheet_rows,
        },
        "checks": {"sheet_rows_before_close_minus_ledger_sheets": sheet_rows - ledger.sheets},
    }


# --- main -----------------------------------------------------------------------------------


def on_time_limit(signum: int, frame: FrameType | None) -> None:
    print("time limit reached", file=sys.stderr)
    raise SystemExit(2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--voters", type=int, default=100)
    parser.add_argument("--group", type=int, default=10, help="voters per unit (sheet size + 1)")
    parser.add_argument("--kills", type=int, default=2)
    parser.add_argument("--spread", type=float, default=1.0, help="think times 0..spread s")
    parser.add_argument("--busy", type=int, default=10, help="requests in flight at a kill")
    parser.add_argument("--deadline", type=float, default=240.0, help="s to get sheets in")
    parser.add_argument("--time-limit", type=int, default=600, help="s for the whole run")
    args = parser.parse_args()
    signal.signal(signal.SIGALRM, on_time_limit)
    signal.alarm(args.time_limit)
    load_before = [round(x, 2) for x in os.getloadavg()]
    data_dir = Path(tempfile.mkdtemp(prefix="evalsvc-bench-sigkill-"))
    data_dir.chmod(0o755)  # as root the embedded server runs as its own user
    # Registered first, so it runs last: after this process's embedded-server handle stops it.
    atexit.register(shutil.rmtree, data_dir, True)
    log = data_dir / "serve.log"
    port = free_port()
    env = env_for(data_dir, port)
    settings = load_settings(env)
    base = f"http://127.0.0.1:{port}"
    t = time.perf_counter()
    seeded = asyncio.run(seed(settings, args.voters, args.group))
    box = [start_serve(env, port, log)]
    try:
        round_id, codes = open_round(base, seeded, settings.outbox, args.voters)
        setup_s = time.perf_counter() - t
        voters = [Voter(cadre, codes[cadre]) for cadre in sorted(codes)]
        load, kills, wall = asyncio.run(run_load(base, voters, box, env, port, log, args))
        rl = asyncio.run(roll(seeded.dsn, round_id))
        tags, sheet_rows = asyncio.run(ledger_state(seeded.dsn, round_id))
        ledger = read_ledger(voters, rl, round_id, tags)
        t = time.perf_counter()
        closed = close_round(base, seeded, round_id)
        close_s = time.perf_counter() - t
        if isinstance(closed, str):
            counts = uncounted(voters, ledger, sheet_rows, closed)
        else:
            stored, tally, counted = asyncio.run(stored_state(seeded.dsn, round_id))
            counts = count(voters, ledger, sheet_rows, closed, stored, tally, counted)
        not_acknowledged = [v.cadre for v in voters if not v.acknowledged]
        problems = {v.cadre: v.problems for v in voters if v.problems}
        report = {
            "voters": args.voters,
            "sheet_sizes": dict(Counter(len(c) for c in rl.colleagues.values())),
            "submissions": 3 * args.voters,
            "duplicates_on_purpose": 2 * args.voters,
            "serve_sigkills": kills.done,
            "in_flight_at_each_kill": kills.in_flight,
            "restart_s": kills.restart_s,
            **counts,
            "not_acknowledged": not_acknowledged,
            "voters_with_other_answers": problems,
            "retried_after_no_answer_or_5xx": load.retries,
            "setup_s": round(setup_s, 1),
            "load_wall_s": round(wall, 2),
            "close_s": round(close_s, 2),
            "latency_ms": {
                "sheets_answered_201": figures(load.created_ms),
                "submissions_answered": figures(load.answered_ms),
                "voter_until_acknowledged": figures(load.until_ack_ms),
            },
            "load_average_before": load_before,
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        }
        print(json.dumps(report, indent=2, ensure_ascii=False))
        failed = (
            isinstance(closed, str)
            or counts["lost"]
            or counts["duplicated"]
            or counts["half_written"]
            or any(counts["checks"].values())
            or not_acknowledged
            or problems
            or kills.done < args.kills
        )
        if failed:
            tail = log.read_text(errors="replace").splitlines()[-40:]
            print("FAILED; the end of serve's log:", *tail, sep="\n", file=sys.stderr)
            sys.exit(1)
    finally:
        box[0].send_signal(signal.SIGTERM)
        try:
            box[0].wait(timeout=60)
        except subprocess.TimeoutExpired:
            box[0].kill()
        signal.alarm(0)


if __name__ == "__main__":
    main()
