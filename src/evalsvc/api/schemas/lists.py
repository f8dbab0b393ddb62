"""Typed pages and small answers of the registry, tasks, jobs and health routes."""

from __future__ import annotations

from typing import Literal

import msgspec

from evalsvc.domain.cadres import PeerGroup
from evalsvc.domain.catalog import Catalog
from evalsvc.domain.recompute import Job


class PeerGroupPage(msgspec.Struct):
    items: list[PeerGroup]
    total: int
    limit: int
    offset: int


class CatalogPage(msgspec.Struct):
    items: list[Catalog]
    total: int
    limit: int
    offset: int


class JobPage(msgspec.Struct):
    items: list[Job]
    total: int
    limit: int
    offset: int


class TaskRecordRow(msgspec.Struct, kw_only=True):
    """One task record as stored (keyed by source system and external id)."""

    source_system: str
    external_id: str
    cadre_code: str
    month: str
    product_code: str
    k: float
    assigned: float
    done: float
    exceeded: bool
    errors_counted: int
    errors_objective: int
    errors_confirmed_by: str | None
    delays_counted: int
    delays_objective: int
    delays_confirmed_by: str | None
    batch_id: int


class TaskRecordPage(msgspec.Struct):
    items: list[TaskRecordRow]
    total: int
    limit: int
    offset: int


class TaskTotalsRow(msgspec.Struct, kw_only=True):
    """A cadre's task sums of a month (converted units) and the shares derived from them;
    a share is null when its base is zero."""

    cadre_code: str
    month: str
    records: int
    k_assigned: float
    k_done: float
    k_done_quality: float
    k_done_timely: float
    exceeded_records: int
    late_records: int
    k_done_exceeded: float
    k_done_late: float
    quantity: float | None
    quality: float | None
    timeliness: float | None
    exceeded_share: float | None
    late_share: float | None


class TaskTotalsPage(msgspec.Struct):
    items: list[TaskTotalsRow]
    total: int
    limit: int
    offset: int


class TaskBatchSummary(msgspec.Struct, kw_only=True):
    """A stored task batch: its id and how many of its rows were new, changed or the same."""

    batch_id: int
    rows: int
    inserted: int
    updated: int
    unchanged: int


class DatabaseHealth(msgspec.Struct):
    server_version: str
    schema_version: int | None


class Health(msgspec.Struct):
    """``status`` "ok" with the database's versions."""

    status: Literal["ok"]
    database: DatabaseHealth


class Unhealthy(msgspec.Struct):
    """503: the database did not answer; ``database`` names the error's type."""

    status: Literal["unavailable"]
    database: str
