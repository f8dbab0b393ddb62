"""Ballot rounds: create and edit drafts, open (voter tokens, the round's key dealt to the
counting committee as shares), close (the committee's shares open the sealed sheets; tally)."""

from __future__ import annotations

import base64
import logging
import time
from typing import Any

import asyncpg

from evalsvc.domain.access import Principal
from evalsvc.domain.ballots import (
    MAX_ELIGIBLE,
    MAX_FORM_ITEMS,
    BallotKeys,
    RoundCreate,
    RoundUpdate,
    parse_period,
)
from evalsvc.domain.errors import (
    MAX_REPORTED_PROBLEMS,
    Conflict,
    FieldProblem,
    NotFound,
    RuleViolation,
    field_error,
)
from evalsvc.domain.vietnamese import nfc
from evalsvc.store import ballot_committee
from evalsvc.store.ballot_tally import FormItems, tally_round
from evalsvc.store.listing import fetch_counted
from evalsvc.store.remediation import open_from_ballot_round
from evalsvc.store.scope import ensure_in_scope, subtree_ids
from evalsvc.store.sqlfiles import queries

log = logging.getLogger(__name__)

Q = queries("ballots")
QS = queries("sealed_ballots")
QD = queries("delivery")
ANALYZE_FROM = 5_000
"""Rounds with at least this many targets refresh the planner's statistics first."""
QU = queries("units")


async def get_round(
    conn: asyncpg.Connection, principal: Principal, round_id: int
) -> dict[str, Any]:
    """The round as the API shows it; outside the caller's subtree it does not exist."""
    row = await conn.fetchrow(Q["round_get"], round_id)
    if row is None or not await _visible(conn, principal, row["unit_id"]):
        raise NotFound(f"no ballot round {round_id}")
    out = dict(row)
    out["period"] = _period_code(row["period_kind"], row["period_start"])
    crypto = await conn.fetchrow(QS["round_crypto"], round_id)
    assert crypto is not None
    out["threshold"] = crypto["threshold"]
    out["committee"] = await ballot_committee.members(conn, round_id)
    out["public_key"] = (
        base64.b64encode(bytes(crypto["public_key"])).decode() if crypto["public_key"] else None
    )
    if row["status"] == "closed":
        out["receipts_root"] = (
            bytes(crypto["receipts_root"]).hex() if crypto["receipts_root"] else None
        )
        out["sheets"] = {"counted": crypto["sheets_counted"], "invalid": crypto["sheets_invalid"]}
        out["ballots_by_channel"] = {
            "online": crypto["ballots_online"],
            "paper": crypto["ballots_paper"],
        }
        out["closed_by"] = list(crypto["closed_by"] or [])
    return out


def _period_code(kind: str, start: Any) -> str:
    if kind == "year":
        return f"{start.year}"
    if kind == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return f"{start.year}-{start.month:02d}"


async def _visible(conn: asyncpg.Connection, principal: Principal, unit_id: int) -> bool:
    if principal.city_wide:
        return True
    root = principal.scope_unit_id
    assert root is not None
    return bool(await conn.fetchval(QU["in_subtree"], root, unit_id))


async def list_rounds(
    conn: asyncpg.Connection, principal: Principal, status: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of rounds and the number of rounds matching (``total``)."""
    scope = None if principal.city_wide else await subtree_ids(conn, principal.scope_unit_id)  # type: ignore[arg-type]
    items, total = await fetch_counted(
        conn, Q["round_list"], scope, status, limit=limit, offset=offset
    )
    return [r | {"period": _period_code(r["period_kind"], r["period_start"])} for r in items], total


async def unit_rounds(conn: asyncpg.Connection, unit_id: int, limit: int) -> list[dict[str, Any]]:
    """The newest rounds of one unit (the caller checked the unit is in its scope)."""
    items, _ = await fetch_counted(conn, Q["round_list"], [unit_id], None, limit=limit, offset=0)
    return [r | {"period": _period_code(r["period_kind"], r["period_start"])} for r in items]


async def _unit_id(conn: asyncpg.Connection, code: str) -> int:
    unit_id: int | None = await conn.fetchval(QU["id_by_code"], code)
    if unit_id is None:
        raise field_error("unit", f"no unit with code {code!r}")
    return unit_id


async def _check_catalog(conn: asyncpg.Connection, catalog_id: int) -> dict[str, FormItems]:
    status = await conn.fetchval(Q["catalog_status"], catalog_id)
    if status is None:
        raise field_error("catalog_id", f"no catalog {catalog_id}")
    if status != "published":
        raise field_error("catalog_id", "the catalog must be published before a round uses it")
    forms = await form_items(conn, catalog_id)
    for form, items in forms.items():
        if len(items.codes) > MAX_FORM_ITEMS:
            raise field_error(
                "catalog_id",
                f"the {form} form has {len(items.codes)} items, at most {MAX_FORM_ITEMS}",
            )
    return forms


async def form_items(conn: asyncpg.Connection, catalog_id: int) -> dict[str, FormItems]:
    """Items of the leader and staff forms in catalog order (= bit order of the marks)."""
    rows = await conn.fetch(Q["form_items"], catalog_id)
    return {
        "leader": FormItems(
            [r["code"] for r in rows if r["for_leader"]],
            [r["group_no"] for r in rows if r["for_leader"]],
        ),
        "staff": FormItems(
            [r["code"] for r in rows if r["for_staff"]],
            [r["group_no"] for r in rows if r["for_staff"]],
        ),
    }


async def create_round(
    conn: asyncpg.Connection, principal: Principal, data: RoundCreate
) -> dict[str, Any]:
    period = parse_period(data.period)
    assert period is not None  # checked on decode
    async with conn.transaction():
        unit_id = await _unit_id(conn, data.unit)
        await ensure_in_scope(
            conn, principal, [unit_id], field_error("unit", f"no unit with code {data.unit!r}")
        )
        await _check_catalog(conn, data.catalog_id)
        round_id: int = await conn.fetchval(
            Q["round_insert"],
            nfc(data.title),
            unit_id,
            data.include_subunits,
            data.voting_scope,
            period.kind,
            period.start,
            period.end,
            data.catalog_id,
            sorted(set(data.leader_positions)),
            data.k_min,
            data.opens_at,
            data.closes_at,
        )
        await _materialize(
            conn,
            round_id,
            unit_id,
            data.include_subunits,
            data.voting_scope,
            set(data.leader_positions),
            data.targets,
            data.voters,
            data.paper_voters,
        )
        await conn.execute(QS["round_set_threshold"], round_id, data.threshold)
        await ballot_committee.set_members(conn, round_id, data.committee)
    return await get_round(conn, principal, round_id)


async def update_round(
    conn: asyncpg.Connection, principal: Principal, round_id: int, data: RoundUpdate
) -> dict[str, Any]:
    """Edit a draft; targets and voters are re-derived when the scope or lists change."""
    async with conn.transaction():
        current = await _lock_visible(conn, principal, round_id)
        if current["status"] != "draft":
            raise Conflict(f"round {round_id} is {current['status']}; only a draft can be edited")
        row = await conn.fetchrow(Q["round_get"], round_id)
        assert row is not None
        unit_id = row["unit_id"] if data.unit is None else await _unit_id(conn, data.unit)
        await ensure_in_scope(
            conn, principal, [unit_id], field_error("unit", f"no unit with code {data.unit!r}")
        )
        catalog_id = row["catalog_id"] if data.catalog_id is None else data.catalog_id
        if data.catalog_id is not None:
            await _check_catalog(conn, catalog_id)
        period_text = data.period or _period_code(row["period_kind"], row["period_start"])
        period = parse_period(period_text)
        assert period is not None
        opens_at = data.opens_at or row["opens_at"]
        closes_at = data.closes_at or row["closes_at"]
        if closes_at <= opens_at:
            raise field_error("closes_at", "must be after opens_at")
        include = (
            row["include_subunits"] if data.include_subunits is None else data.include_subunits
        )
        scope = row["voting_scope"] if data.voting_scope is None else data.voting_scope
        leaders = (
            row["leader_positions"] if data.leader_positions is None else data.leader_positions
        )
        await conn.execute(
            Q["round_update"],
            round_id,
            nfc(data.title) if data.title else row["title"],
            unit_id,
            include,
            scope,
            period.kind,
            period.start,
            period.end,
            catalog_id,
            sorted(set(leaders)),
            data.k_min or row["k_min"],
            opens_at,
            closes_at,
        )
        scope_changed = unit_id != row["unit_id"] or include != row["include_subunits"]
        targets, voters = data.targets, data.voters
        paper = data.paper_voters
        if not scope_changed:
            if targets is None:
                targets = await _codes(conn, "ballot_round_targets", round_id)
            if voters is None:
                voters = await _codes(conn, "ballot_round_voters", round_id)
            if paper is None:
                paper = [r["code"] for r in await conn.fetch(QS["paper_voter_codes"], round_id)]
        await _materialize(
            conn, round_id, unit_id, include, scope, set(leaders), targets, voters, paper or []
        )
        if data.threshold is not None:
            await conn.execute(QS["round_set_threshold"], round_id, data.threshold)
        if data.committee is not None:
            await ballot_committee.set_members(conn, round_id, data.committee)
    return await get_round(conn, principal, round_id)


async def _codes(conn: asyncpg.Connection, table: str, round_id: int) -> list[str]:
    # table is one of two literals chosen above, never input.
    rows = await conn.fetch(
        f"select c.code from {table} x join cadres c on c.id = x.cadre_id where x.round_id = $1",
        round_id,
    )
    return [r["code"] for r in rows]


async def delete_round(conn: asyncpg.Connection, principal: Principal, round_id: int) -> None:
    async with conn.transaction():
        current = await _lock_visible(conn, principal, round_id)
        if current["status"] != "draft":
            raise Conflict(f"round {round_id} is {current['status']}; only a draft can be deleted")
        await conn.execute(Q["round_delete"], round_id)


async def _lock_visible(
    conn: asyncpg.Connection, principal: Principal, round_id: int
) -> asyncpg.Record:
    row = await conn.fetchrow(Q["round_lock"], round_id)
    if row is None or not await _visible(conn, principal, row["unit_id"]):
        raise NotFound(f"no ballot round {round_id}")
    if not principal.city_wide:
        await ensure_in_scope(conn, principal, [row["unit_id"]])
    return row


async def _materialize(
    conn: asyncpg.Connection,
    round_id: int,
    unit_id: int,
    include_subunits: bool,
    voting_scope: str,
    leader_positions: set[str],
    target_codes: list[str] | None,
    voter_codes: list[str] | None,
    paper_codes: list[str],
) -> None:
    units = await subtree_ids(conn, unit_id) if include_subunits else [unit_id]
    cadres = {r["code"]: r for r in await conn.fetch(Q["scope_cadres"], units)}
    problems: list[FieldProblem] = []

    def pick(field: str, codes: list[str] | None) -> list[asyncpg.Record]:
        if codes is None:
            return sorted(cadres.values(), key=lambda r: r["id"])
        chosen: dict[int, asyncpg.Record] = {}
        for code in codes:
            row = cadres.get(code)
            if row is None:
                problems.append(
                    FieldProblem(field, f"{code!r} is not a cadre of the round's units")
                )
            else:
                chosen[row["id"]] = row
        return sorted(chosen.values(), key=lambda r: r["id"])

    targets = pick("targets", target_codes)
    voters = pick("voters", voter_codes)
    voter_ids = {r["id"] for r in voters}
    paper = pick("paper_voters", paper_codes)
    problems += [
        FieldProblem("paper_voters", f"{r['code']!r} is not a voter of the round")
        for r in paper
        if r["id"] not in voter_ids
    ]
    if problems:
        raise RuleViolation("targets or voters outside the round", problems[:MAX_REPORTED_PROBLEMS])

    def group(row: asyncpg.Record) -> int:
        return int(row["unit_id"]) if voting_scope == "unit" else unit_id

    await conn.execute(Q["targets_clear"], round_id)
    await conn.execute(Q["voters_clear"], round_id)
    await conn.execute(
        Q["targets_insert"],
        round_id,
        [r["id"] for r in targets],
        ["leader" if r["position"] in leader_positions else "staff" for r in targets],
        [group(r) for r in targets],
    )
    await conn.execute(
        Q["voters_insert"], round_id, [r["id"] for r in voters], [group(r) for r in voters]
    )
    if paper:
        await conn.execute(QS["voters_set_paper"], round_id, [r["id"] for r in paper])
    if len(targets) >= ANALYZE_FROM:
        # The planner knows nothing of this round's rows yet (statistics of earlier rounds
        # estimate it at one row): a city-wide round then gets nested loops over every
        # target (a second round at scale 1 ran for minutes). ANALYZE in this transaction
        # sees the rows it inserted; it samples, so it costs ~0.1 s whatever the size.
        # Through the owner's function (0055): the serving role owns no table.
        await conn.execute(
            "select evalsvc_analyze_ballot_tables($1)",
            ["ballot_round_targets", "ballot_round_voters"],
        )
    await conn.execute(Q["targets_set_eligible"], round_id)
    await conn.execute(QS["targets_set_eligible_paper"], round_id)
    most = await conn.fetchval(
        "select max(eligible) from ballot_round_targets where round_id = $1", round_id
    )
    if most is not None and most > MAX_ELIGIBLE:
        raise field_error(
            "voters", f"a target has {most} eligible voters; at most {MAX_ELIGIBLE} per target"
        )


async def open_round(
    conn: asyncpg.Connection, principal: Principal, round_id: int, keys: BallotKeys
) -> dict[str, Any]:
    """Open a draft: deal the round's key to the committee as shares (the private key is
    never stored). No voter code exists yet: each is made when its invitation is delivered
    (``delivery``), so nothing returned here or anywhere else lets the operator vote."""
    async with conn.transaction():
        current = await _lock_visible(conn, principal, round_id)
        if current["status"] != "draft":
            raise Conflict(f"round {round_id} is {current['status']}; only a draft can be opened")
        await _check_catalog(conn, current["catalog_id"])
        targets = await conn.fetchval(
            "select count(*) from ballot_round_targets where round_id = $1", round_id
        )
        n_voters = await conn.fetchval(
            "select count(*) from ballot_round_voters where round_id = $1", round_id
        )
        if not n_voters or not targets:
            raise field_error("round", "a round needs at least one target and one voter to open")
        threshold = await conn.fetchval(
            "select threshold from ballot_rounds where id = $1", round_id
        )
        await ballot_committee.deal(conn, keys, round_id, threshold)
        await conn.execute(Q["round_set_status"], round_id, "open")
        await conn.execute(QD["set_opened_by"], round_id, principal.actor)
        await conn.execute(QD["invitations_create"], round_id)
    out = await get_round(conn, principal, round_id)
    counts = await conn.fetch(QD["invitation_counts"], round_id)
    out["invitations"] = {
        channel: sum(r["n"] for r in counts if r["channel"] == channel)
        for channel in ("email", "paper")
    }
    return out


async def _may_close(conn: asyncpg.Connection, principal: Principal, round_id: int) -> None:
    """Managers of the round's unit and the committee's own members may close it."""
    if principal.role.value in ("admin", "personnel"):
        return
    if principal.kind == "user" and await conn.fetchval(
        "select exists (select 1 from ballot_committee where round_id = $1 and user_id = $2)",
        round_id,
        principal.user_id,
    ):
        return
    raise NotFound(f"no ballot round {round_id}")


async def close_round(
    conn: asyncpg.Connection,
    principal: Principal,
    round_id: int,
    keys: BallotKeys,
    shares: list[str],
    remediation: str = "off",
    due_days: int = 90,
) -> dict[str, Any]:
    """Close an open round with the committee's shares: open the sealed sheets, store the
    ballots, tally. Fewer than ``threshold`` shares or a wrong one: refused, nothing changes.

    Args:
        shares: the shares entered by at least ``threshold`` committee members.
        remediation: "watch" opens a remediation item for every confirmed or watched
            manifestation of a target, "confirmed" only for confirmed ones, "off" none.
        due_days: days from closing to the items' due date.
    """
    # ballot_opening reuses the paper validation of store.ballots, which needs form_items here.
    from evalsvc.store.ballot_opening import open_sheets

    async with conn.transaction():
        row = await conn.fetchrow(Q["round_lock"], round_id)
        if row is None:
            raise NotFound(f"no ballot round {round_id}")
        await _may_close(conn, principal, round_id)
        current = (
            row
            if principal.kind == "user" and principal.role.value not in ("admin", "personnel")
            else await _lock_visible(conn, principal, round_id)
        )
        if current["status"] != "open":
            raise Conflict(f"round {round_id} is {current['status']}; only an open round closes")
        crypto = await conn.fetchrow(QS["round_crypto"], round_id)
        assert crypto is not None
        rebuilt = await ballot_committee.rebuild_secret(
            conn, round_id, crypto["threshold"], bytes(crypto["public_key"]), shares
        )
        forms = await form_items(conn, current["catalog_id"])
        paper = await conn.fetchval(QS["paper_ballots_total"], round_id)
        opened = await open_sheets(conn, keys, round_id, rebuilt.secret, forms)
        closed_by = sorted({principal.actor, *rebuilt.actors})
        del rebuilt  # nothing keeps the key past this call (Python cannot wipe memory)
        started = time.perf_counter()
        await tally_round(conn, round_id, current["k_min"], forms)
        seconds = opened.seconds | {"tally": time.perf_counter() - started}
        await conn.execute(
            QS["round_set_counted"],
            round_id,
            opened.receipts_root,
            opened.sheets_counted,
            opened.sheets_invalid,
            opened.ballots,
            paper,
            closed_by,
        )
        await conn.execute(Q["round_set_status"], round_id, "closed")
        n_items = 0
        if remediation != "off":
            n_items = await open_from_ballot_round(conn, round_id, remediation, due_days)
        started = time.perf_counter()
    seconds["commit"] = time.perf_counter() - started
    log.info(
        "ballot round closed",
        extra={
            "round_id": round_id,
            "sheets": opened.sheets_counted + opened.sheets_invalid,
            "seconds": {k: round(v, 2) for k, v in seconds.items()},
        },
    )
    out = await get_round(conn, principal, round_id)
    out["remediation_opened"] = n_items
    summary = await conn.fetchrow(Q["tally_summary"], round_id, current["k_min"])
    out["tally"] = dict(summary) if summary else {}
    return out
