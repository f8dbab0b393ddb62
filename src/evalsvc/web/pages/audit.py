"""The audit trail as a page, for administrators and auditors (the same entries as GET /audit).

Filters: who (the actor's label: an API key's label or a person's username), the object
(type and key), the action and a range of days in Hà Nội time; 50 entries a page, newest
first. A change shows the fields whose values differ, before → after.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get

from evalsvc.api.deps import Conn
from evalsvc.domain.access import Role
from evalsvc.domain.audit import AuditEntry
from evalsvc.domain.input_limits import text_problem
from evalsvc.domain.localtime import HANOI
from evalsvc.store import audit as store
from evalsvc.web.page import page_of, people, render

AUDITORS = people(Role.ADMIN, Role.AUDITOR)
PAGE_SIZE = 50
TEXT_FILTERS = ("actor", "object_type", "object_key", "action")
OBJECT_TYPES = (
    "unit",
    "cadre",
    "cadre_move",
    "peer_group",
    "assessment",
    "discipline",
    "remediation",
    "confidence_vote",
    "unit_indicator",
    "catalog",
    "ballot_round",
    "ballot_upload",
    "task_upload",
    "recompute_job",
    "publication",
    "api_key",
    "user",
)
ACTIONS = tuple(f"{t}.{a}" for t in OBJECT_TYPES for a in ("insert", "update", "delete"))


def changes(entry: AuditEntry) -> list[tuple[str, str, str]]:
    """(field, before, after) of each field that differs; every field of a creation or
    removal."""
    before, after = entry.before or {}, entry.after or {}
    shown = []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if entry.before is not None and entry.after is not None and old == new:
            continue
        shown.append((name, _plain(old), _plain(new)))
    return shown


def _plain(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return msgspec.json.encode(value).decode()


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


class AuditPages(Controller):
    path = "/admin/audit"
    include_in_schema = False

    @get("/", opt=AUDITORS)
    async def audit_log(self, request: Request[Any, Any, Any], conn: Conn) -> Response[Any]:
        page = page_of(request)
        query = request.query_params
        q = {k: str(query.get(k, "")).strip() for k in (*TEXT_FILTERS, "since", "until")}
        errors: dict[str, str] = {}
        for name in TEXT_FILTERS:
            if text_problem(q[name], param=True) or len(q[name]) > 200:
                errors[name] = page.t("Not a usable filter value.")
        days: dict[str, datetime | None] = {"since": None, "until": None}
        for name in ("since", "until"):
            if q[name]:
                day = _day(q[name])
                if day is None:
                    errors[name] = page.t("A date as YYYY-MM-DD.")
                else:  # whole days in Hà Nội time; "until" includes its day
                    start = day + timedelta(days=1) if name == "until" else day
                    days[name] = datetime.combine(start, time(), HANOI)
        offset_text = str(query.get("offset", "0"))
        offset = int(offset_text) if offset_text.isdigit() and len(offset_text) < 10 else 0
        entries: list[AuditEntry] = []
        total = 0
        if not errors:
            entries, total = await store.list_entries(
                conn,
                actor_label=q["actor"] or None,
                object_type=q["object_type"] or None,
                object_key=q["object_key"] or None,
                action=q["action"] or None,
                since=days["since"],
                until=days["until"],
                limit=PAGE_SIZE,
                offset=offset,
            )
        kept = {k: v for k, v in q.items() if v}
        return render(
            request,
            "audit.html",
            status_code=422 if errors else 200,
            entries=[(e, changes(e)) for e in entries],
            total=total,
            offset=offset,
            page_size=PAGE_SIZE,
            q=q,
            kept=kept,
            errors=errors,
            object_types=OBJECT_TYPES,
            actions=ACTIONS,
        )
