"""What a recomputation read, packed for the next one (``store/input_packs.py``).

Reading rows costs more than anything else in a month run. A run keeps what it read as
rows, packed (``jobs/packing.py``), at the input version it read them at
(``store/input_versions.py``); the next run whose version is the same unpacks them
instead. Three kinds:

* the registry (cadres, units, spells), per year, valid at the version of month ``-1``;
* a period's year-wide inputs without the registry (:class:`inputs.Base`: activity,
  discipline, remediation, ballot results), per period, valid at the version of month
  ``0`` (every one of those tables, the registry's too, notes month 0). Not the
  confidence votes: their table notes no version, they are read fresh every time;
* one month's own rows (task totals, assessments, unit indicators), per month, valid at
  that month's version.

Each kind names the payload format: a pack of an older format is never read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from evalsvc.domain.recompute import PeriodSpan
from evalsvc.jobs import packing
from evalsvc.jobs.inputs import Base, MonthRows, Registry, Spells, yyyymm
from evalsvc.scoring import Org, Remediation

_MONTH_TABLES = ("tasks", "assessments", "indicators")


@dataclasses.dataclass(frozen=True, slots=True)
class PackKey:
    """Where a pack lives in ``input_packs`` and the version it is valid at."""

    kind: str
    year: int
    version: int


def _format() -> str:
    return packing.MAGIC.decode()  # read at each call: an upgrade renames every kind


def kind_suffix() -> str:
    """How every kind of the current payload format ends (older ones are never read)."""
    return f":{_format()}"


def registry_key(year: int, version: int) -> PackKey:
    return PackKey(f"registry:{_format()}", year, version)


def base_key(period: PeriodSpan, version: int) -> PackKey:
    return PackKey(f"base:{period.text}:{_format()}", period.year, version)


def month_kind() -> str:
    """The kind of every month's pack (``year`` is the month's yyyymm)."""
    return f"month:{_format()}"


def month_key(month: date, version: int) -> PackKey:
    return PackKey(month_kind(), yyyymm(month), version)


def is_month(key: PackKey) -> bool:
    """A month's rows (``year`` is its yyyymm): patched from change notes."""
    return key.kind == month_kind()


def _meta(value: Any) -> npt.NDArray[np.uint8]:
    return np.frombuffer(msgspec.json.encode(value), dtype=np.uint8)


def _unmeta(arr: npt.NDArray[Any]) -> Any:
    return msgspec.json.decode(arr.tobytes())


def _fields(prefix: str, obj: Any) -> dict[str, Any]:
    # an optional field left None (Org.unit_agency: the default) is not packed
    return {
        f"{prefix}_{f.name}": getattr(obj, f.name)
        for f in dataclasses.fields(obj)
        if getattr(obj, f.name) is not None
    }


def _build(cls: Any, prefix: str, arrays: dict[str, Any]) -> Any:
    # A field added later with a default (Org.unit_agency) may be absent from older packs.
    return cls(
        **{
            f.name: arrays[f"{prefix}_{f.name}"]
            for f in dataclasses.fields(cls)
            if f"{prefix}_{f.name}" in arrays or f.default is dataclasses.MISSING
        }
    )


def pack_registry(reg: Registry) -> bytes:
    """The registry as one payload."""
    arrays: dict[str, Any] = {"cadre_ids": reg.cadre_ids, "unit_ids": reg.unit_ids}
    arrays |= _fields("org", reg.org) | _fields("spells", reg.spells)
    return packing.pack(arrays)


def unpack_registry(payload: bytes) -> Registry:
    """A registry packed by :func:`pack_registry`."""
    a = packing.unpack(payload)
    org, spells = _build(Org, "org", a), _build(Spells, "spells", a)
    return Registry(a["cadre_ids"], a["unit_ids"], org, spells)


def _optional(prefix: str, parts: Sequence[npt.NDArray[Any]] | None) -> dict[str, Any]:
    return {} if parts is None else {f"{prefix}{i}": p for i, p in enumerate(parts)}


def _parts(prefix: str, arrays: dict[str, Any], present: bool) -> list[npt.NDArray[Any]] | None:
    if not present:
        return None
    count = sum(1 for name in arrays if name.startswith(prefix) and name[len(prefix) :].isdigit())
    return [arrays[f"{prefix}{i}"] for i in range(count)]


def pack_base(base: Base) -> bytes:
    """A period's year-wide inputs without the registry (that has its own pack)."""
    counts = {k: v for k, v in base.counts.items() if k != "registry_rows"}
    meta = {
        "tables": sorted(base.tables),
        "counts": counts,
        "confirmed": base.confirmed is not None,
        "low_confidence": base.low_confidence is not None,
    }
    arrays: dict[str, Any] = {
        "meta": _meta(meta),
        "active": base.active,
        **({} if base.employed is None else {"employed": base.employed}),
        "months_employed": base.months_employed,
        "months_absent": base.months_absent,
    }
    arrays |= _optional("discipline", base.discipline)
    arrays |= _fields("remediation", base.remediation)
    arrays |= _fields("unit_remediation", base.unit_remediation)
    arrays |= _optional("confirmed", base.confirmed) | _optional("low", base.low_confidence)
    return packing.pack(arrays)


def unpack_base(
    payload: bytes, period: PeriodSpan, registry: Registry, confidence: npt.NDArray[np.float64]
) -> Base:
    """The :class:`Base` of :func:`pack_base` on top of ``registry`` (read or unpacked) and
    the ``confidence`` votes' low shares (read now: :func:`inputs.read_confidence`)."""
    a = packing.unpack(payload)
    meta = _unmeta(a["meta"])
    discipline = _parts("discipline", a, True)
    assert discipline is not None
    return Base(
        period,
        set(meta["tables"]),
        dict(meta["counts"]),
        registry,
        registry.cadre_ids,
        registry.unit_ids,
        registry.org,
        a["active"],
        a["months_employed"],
        a["months_absent"],
        tuple(discipline),
        _build(Remediation, "remediation", a),
        _build(Remediation, "unit_remediation", a),
        confidence,
        _parts("confirmed", a, meta["confirmed"]),
        _parts("low", a, meta["low_confidence"]),
        a.get("employed"),  # older packs: None (U3 then counts the active members)
    )


def split_months(rows: MonthRows) -> dict[date, MonthRows]:
    """``rows`` of several months as one :class:`MonthRows` per month."""
    out: dict[date, MonthRows] = {}
    for month in rows.months:
        ym = yyyymm(month)
        tables: list[list[npt.NDArray[Any]] | None] = []
        for parts in (rows.tasks, rows.assessments, rows.indicators):
            if parts is None:
                tables.append(None)
                continue
            sel = parts[1] == ym
            tables.append([p[sel] for p in parts])
        out[month] = MonthRows([month], *tables)
    return out


def _by_id(part: list[npt.NDArray[Any]] | None) -> list[npt.NDArray[Any]] | None:
    """Rows in id order (the scan's order is arbitrary; in id order a run maps them to
    its cadres without a search: ``inputs._picked_rows``)."""
    if part is None or len(part[0]) < 2 or bool(np.all(part[0][1:] >= part[0][:-1])):
        return part
    order = np.argsort(part[0], kind="stable")
    return [col[order] for col in part]


def pack_month(rows: MonthRows) -> bytes:
    """One month's rows (from :func:`split_months`), each table in id order."""
    parts = (_by_id(rows.tasks), _by_id(rows.assessments), _by_id(rows.indicators))
    meta = {"tables": [name for name, p in zip(_MONTH_TABLES, parts, strict=True) if p is not None]}
    arrays: dict[str, Any] = {"meta": _meta(meta)}
    for name, p in zip(_MONTH_TABLES, parts, strict=True):
        arrays |= _optional(f"{name}_", p)
    return packing.pack(arrays)


def unpack_month(payload: bytes, month: date) -> MonthRows:
    """The rows of :func:`pack_month`."""
    a = packing.unpack(payload)
    present = set(_unmeta(a["meta"])["tables"])
    tasks, assessments, indicators = (
        _parts(f"{name}_", a, name in present) for name in _MONTH_TABLES
    )
    return MonthRows([month], tasks, assessments, indicators)


def patch_month(
    packed: MonthRows, fresh: MonthRows, changed: Mapping[str, Sequence[int]]
) -> MonthRows:
    """A packed month with the rows of the ``changed`` cadres replaced by ``fresh`` ones.

    ``changed`` names, per cadre-keyed table, the cadres whose rows changed since the pack
    (their fresh rows, if any, are in ``fresh``: inserted, updated; absent: deleted). A
    table not named keeps its packed rows; the indicators are ``fresh``'s when it read them.
    Rows come out in id order, like a pack.
    """

    def table(
        old: list[npt.NDArray[Any]] | None, new: list[npt.NDArray[Any]] | None, name: str
    ) -> list[npt.NDArray[Any]] | None:
        if old is None or name not in changed:
            return old
        keep = ~np.isin(old[0], np.asarray(changed[name], dtype=np.int64))
        if new is None:
            return _by_id([col[keep] for col in old])
        return _by_id([np.concatenate([o[keep], n]) for o, n in zip(old, new, strict=True)])

    return MonthRows(
        packed.months,
        table(packed.tasks, fresh.tasks, "task_month_totals"),
        table(packed.assessments, fresh.assessments, "supervisor_assessments"),
        packed.indicators if fresh.indicators is None else fresh.indicators,
    )


def join_months(parts: Sequence[MonthRows]) -> MonthRows:
    """Rows of different months as one :class:`MonthRows` (a table missing from any part
    is missing from the whole: the parts were read with the same tables installed)."""
    months = [m for p in parts for m in p.months]

    def table(pick: Any) -> list[npt.NDArray[Any]] | None:
        got = [pick(p) for p in parts]
        if not got or any(g is None for g in got):
            return None
        return [np.concatenate(cols) for cols in zip(*got, strict=True)]

    return MonthRows(
        months,
        table(lambda p: p.tasks),
        table(lambda p: p.assessments),
        table(lambda p: p.indicators),
    )
