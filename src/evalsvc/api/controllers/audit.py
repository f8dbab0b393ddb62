"""The audit trail and the history of one object (``0040_audit_log.sql``, docs/audit.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get
from litestar.params import FromPath, QueryParameter

from evalsvc.api.deps import Caller, Conn
from evalsvc.api.export import Limit, Offset
from evalsvc.api.guards import READERS, allow
from evalsvc.domain.access import Role
from evalsvc.domain.audit import AuditPage
from evalsvc.store import audit as store
from evalsvc.store.subjects import scope_filter

AUDITORS = allow(Role.ADMIN, Role.AUDITOR)
Text = Annotated[str | None, QueryParameter(max_length=200)]


class AuditController(Controller):
    path = "/audit"
    tags = ["audit"]

    @get(
        "/",
        opt=AUDITORS,
        summary="The audit trail, newest first (admins and auditors)",
        description=(
            "Every change to the registry, the inputs, API keys, ballot rounds, uploads, "
            "recomputations and publications: who (actor), when, in which request, to what "
            "(object type and key), and the values before and after. Never ballot contents."
        ),
    )
    async def list_audit(
        self,
        conn: Conn,
        actor_kind: Text = None,
        actor_id: Text = None,
        actor_label: Text = None,
        object_type: Text = None,
        object_key: Text = None,
        action: Text = None,
        since: Annotated[datetime | None, QueryParameter(description="at or after")] = None,
        until: Annotated[datetime | None, QueryParameter(description="before")] = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> AuditPage:
        items, total = await store.list_entries(
            conn,
            actor_kind=actor_kind,
            actor_id=actor_id,
            actor_label=actor_label,
            object_type=object_type,
            object_key=object_key,
            action=action,
            since=since,
            until=until,
            limit=limit,
            offset=offset,
        )
        return AuditPage(items, total, limit, offset)


class HistoryController(Controller):
    path = "/history"
    tags = ["audit"]

    @get(
        "/{object_type:str}/{object_key:path}",
        opt=READERS,
        summary="Every version of one object, oldest first",
        description=(
            "E.g. /history/assessment/C001/2026-06: who changed the June assessment of cadre "
            "C001, when, and from what to what. Object types: unit, cadre, assessment, "
            "discipline, remediation, confidence_vote, unit_indicator, cadre_move, ... "
            "Scoped keys see the objects of their subtree only (others read as no history)."
        ),
    )
    async def object_history(
        self,
        conn: Conn,
        principal: Caller,
        object_type: FromPath[str],
        object_key: FromPath[str],
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> AuditPage:
        items, total = await store.list_entries(
            conn,
            object_type=object_type,
            object_key=object_key.lstrip("/"),
            units=await scope_filter(conn, principal),
            newest_first=False,
            limit=limit,
            offset=offset,
        )
        return AuditPage(items, total, limit, offset)
