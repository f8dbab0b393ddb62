"""The audit trail: naming the session's actor, reading entries (``0040_audit_log.sql``).

Entries are written by triggers, in the transaction of each change; this module only says
who the session acts for and reads what was recorded.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec

from evalsvc.domain.audit import Actor, AuditEntry
from evalsvc.store.listing import Filters, fetch_page
from evalsvc.store.sqlfiles import queries

Q = queries("audit")
_FILTERS = {
    "actor_kind": "actor_kind = ${}",
    "actor_id": "actor_id = ${}",
    "actor_label": "actor_label = ${}",
    "object_type": "object_type = ${}",
    "object_key": "object_key = ${}",
    "action": "action = ${}",
    "since": "at >= ${}",
    "until": "at < ${}",
    "units": "unit_id = any(${}::bigint[])",
}


async def set_actor(conn: asyncpg.Connection, actor: Actor, request_id: str | None = None) -> None:
    """Record changes made on this connection as ``actor``'s (until it returns to the pool)."""
    await conn.execute(Q["set_actor"], msgspec.json.encode(actor).decode(), request_id or "")


def _entry(r: asyncpg.Record) -> AuditEntry:
    return AuditEntry(
        id=r["id"],
        at=r["at"],
        actor=Actor(
            kind=r["actor_kind"], id=r["actor_id"], label=r["actor_label"], role=r["actor_role"]
        ),
        action=r["action"],
        object_type=r["object_type"],
        object_key=r["object_key"],
        request_id=r["request_id"],
        before=r["before"],
        after=r["after"],
    )


async def list_entries(
    conn: asyncpg.Connection,
    *,
    actor_kind: str | None = None,
    actor_id: str | None = None,
    actor_label: str | None = None,
    object_type: str | None = None,
    object_key: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    units: list[int] | None = None,
    newest_first: bool = True,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[AuditEntry], int]:
    """Entries matching every filter given; ``units``: only objects of these units."""
    values = {
        "actor_kind": actor_kind,
        "actor_id": actor_id,
        "actor_label": actor_label,
        "object_type": object_type,
        "object_key": object_key,
        "action": action,
        "since": since,
        "until": until,
        "units": units,
    }
    page = await fetch_page(
        conn,
        Filters(
            Q["select"], Q["count"], _FILTERS, {k: v for k, v in values.items() if v is not None}
        ),
        order_by="id desc" if newest_first else "id",
        limit=limit,
        offset=offset,
    )
    return [_entry(r) for r in page.rows], page.total


Metric = tuple[str, str, str, list[tuple[dict[str, str], int]]]


async def service_counts(conn: asyncpg.Connection) -> list[Metric]:
    """(name, help, type, [(labels, value)]) of the figures kept in the database."""
    jobs = await conn.fetch(Q["jobs_by_state"])
    row = await conn.fetchrow(Q["service_counts"])
    assert row is not None
    return [
        (
            "evalsvc_recompute_jobs",
            "Recomputation jobs by state.",
            "gauge",
            [({"state": r["state"]}, int(r["n"])) for r in jobs],
        ),
        (
            "evalsvc_ballots_accepted",
            "Ballots accepted, online and from paper uploads.",
            "gauge",
            [
                ({"channel": "online"}, int(row["ballots_online"])),
                ({"channel": "paper"}, int(row["ballots_paper"])),
            ],
        ),
        (
            "evalsvc_uploads",
            "Accepted uploads by kind.",
            "gauge",
            [
                ({"kind": "tasks"}, int(row["task_uploads"])),
                ({"kind": "paper_ballots"}, int(row["paper_uploads"])),
            ],
        ),
    ]
