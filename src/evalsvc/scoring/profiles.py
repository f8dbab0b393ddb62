"""Policy profiles: every weight, threshold and switch of the scoring core, as data.

A :class:`Profile` is a frozen dataclass; the scoring functions read nothing else.
Three profiles ship (DOMAIN part 3): ``nd335`` (default, Decree 335/2025 for công
chức), ``qd366`` (QĐ 366-QĐ/TW, quarterly, gates on) and ``hn3814`` (Hà Nội QĐ
3814-QĐ/TU legacy frame: 20 + 70 + 10 bonus, A/B/C/D, A-quota 30 % / 40 %).

:func:`profile_from_dict` builds a profile from a plain dict (the what-if endpoint
POSTs one) and raises ``ValueError`` naming the offending field;
:meth:`Profile.to_dict` is its inverse.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any, Final

_F = "float"
_I = "int"
_B = "bool"
_S = "str"


def _f(default: float, lo: float, hi: float, doc: str) -> Any:
    return dataclasses.field(default=default, metadata={"kind": _F, "lo": lo, "hi": hi, "doc": doc})


def _i(default: int, lo: int, hi: int, doc: str) -> Any:
    return dataclasses.field(default=default, metadata={"kind": _I, "lo": lo, "hi": hi, "doc": doc})


def _c(default: str, choices: tuple[str, ...], doc: str) -> Any:
    return dataclasses.field(default=default, metadata={"kind": _S, "choices": choices, "doc": doc})


def _t(default: tuple[Any, ...], kind: str, lo: float, hi: float, doc: str) -> Any:
    return dataclasses.field(
        default=default,
        metadata={"kind": "tuple", "of": kind, "len": len(default), "lo": lo, "hi": hi, "doc": doc},
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Profile:
    """A named, versioned scoring policy (DOMAIN part 3 and 5).

    Field defaults are the ``nd335`` values. Every field is documented in its
    ``metadata["doc"]`` (see :func:`profile_fields`).
    """

    name: str = dataclasses.field(default="nd335", metadata={"kind": _S, "doc": "profile name"})
    version: str = dataclasses.field(default="2026.2", metadata={"kind": _S, "doc": "version"})
    period: str = _c("month", ("month", "quarter"), "rating period: a month, or a quarter (QĐ 366)")
    # Monthly score (Decree 335 Art. 12-15).
    general_points: float = _f(30.0, 0, 100, "G maximum (general criteria)")
    sub_criterion_max: float = _f(10.0, 1e-9, 100, "maximum of each of the 3 sub-criteria")
    task_points: float = _f(70.0, 0, 100, "T maximum (task results)")
    bonus_points: float = _f(0.0, 0, 100, "bonus maximum (hn3814: 10)")
    error_penalty: float = _f(0.25, 0, 1, "share of an item lost per major error")
    delay_penalty: float = _f(0.25, 0, 1, "share of an item lost per delay")
    k_rem: float = _f(1.0, 1e-9, 1e6, "conversion factor of one remediation item")
    group_deductions: tuple[float, float, float] = _t(
        (3.0, 2.0, 2.0), _F, 0, 100, "points per confirmed manifestation of group 1, 2, 3"
    )
    level_cuts: tuple[float, float, float] = _t(
        (50.0, 70.0, 90.0), _F, 0, 100, "lowest score of HT, HTT, HTXS"
    )
    level_labels: tuple[str, str, str, str] = _t(
        ("KHT", "HT", "HTT", "HTXS"), _S, 0, 0, "display codes of levels 0..3"
    )
    level_titles: tuple[str, str, str, str] = _t(
        (
            "Không hoàn thành nhiệm vụ",
            "Hoàn thành nhiệm vụ",
            "Hoàn thành tốt nhiệm vụ",
            "Hoàn thành xuất sắc nhiệm vụ",
        ),
        _S,
        0,
        0,
        "Vietnamese labels of levels 0..3",
    )
    missing_assessment: str = _c(
        "full", ("full", "skip"), "month without supervisor assessment: full marks or left out"
    )
    no_task_basis: str = _c(
        "exclude", ("exclude", "zero_task"), "month with A = 0: excluded, or scored with T = 0"
    )
    leader_d_threshold: float = _f(50.0, 0, 100, "subordinate score needed for d = 1")
    leader_d_low: float = _f(0.5, 0, 1, "d when a managed cadre is below the threshold")
    ballot_cap_level: int = _i(1, 0, 3, "monthly cap after > 1/2 low confidence in a ballot round")
    rounding_decimals: int = _i(2, 0, 6, "half-up rounding decimals for M, Y, U")
    rounding_eps: float = _f(1e-9, 0, 1e-3, "tolerance added before floor in rounding")
    # Annual rating (Decree 335 Art. 19, Decree 90).
    min_months_worked: int = _i(6, 0, 12, "fewer worked months -> not rated")
    absence_cap_from: int = _i(3, 0, 12, "non-maternity absence from this many months ...")
    absence_cap_below: int = _i(6, 0, 13, "... to below this many months caps the level")
    absence_cap_level: int = _i(1, 0, 3, "level cap for that absence (HT)")
    discipline_min_form: int = _i(
        0, 0, 5, "lightest discipline form that forces KHT (0 khiển trách)"
    )
    confidence_vote_threshold: float = _f(
        0.5, 0, 1, "formal vote low-confidence share above -> KHT"
    )
    gates: bool = dataclasses.field(default=False, metadata={"kind": _B, "doc": "optional gates"})
    gate_htxs_done_share: float = _f(1.0, 0, 1, "HTXS gate: share of tasks done")
    gate_htxs_exceeded_share: float = _f(0.3, 0, 1, "HTXS gate: share of tasks exceeded")
    gate_htxs_remediation_share: float = _f(1.0, 0, 1, "HTXS gate: share of due items verified")
    gate_ht_late_share_max: float = _f(0.2, 0, 1, "HT gate: largest share of late tasks")
    leader_link: str = _c("off", ("off", "strict", "one_step"), "cap a head by the unit's level")
    quota_ratio: float = _f(0.2, 0, 1, "top level may not exceed this share of the base")
    quota_ratio_outstanding: float = _f(0.25, 0, 1, "the same for a unit flagged outstanding")
    quota_base: str = _c(
        "next_level", ("next_level", "rated"), "quota base: #HTT (recomputed) or #rated"
    )
    quota_scope: str = _c(
        "agency",
        ("agency", "unit"),
        "quota per (agency, peer group), or per (own unit, peer group)",
    )
    # Units (DOMAIN part 5).
    unit_weights: tuple[float, float, float, float, float] = _t(
        (45.0, 15.0, 15.0, 10.0, 15.0), _F, 0, 100, "U1..U5 points"
    )
    unit_pair_penalty: float = _f(
        5.0, 0, 1000, "U3 points per confirmed (member, item) pair per member employed"
    )
    unit_discipline_penalty: float = _f(
        30.0, 0, 1000, "U3 points per discipline record per member employed"
    )
    unit_quota_ratio: float = _f(0.2, 0, 1, "collective quota within a ranking block")
    rank_interval: tuple[float, float] = _t((5.0, 95.0), _F, 0, 100, "rank interval percentiles")
    bootstrap_resamples: int = _i(1000, 1, 100_000, "resamples for rank intervals")

    def __post_init__(self) -> None:
        _check_cross_fields(self)

    @property
    def period_months(self) -> int:
        """Months per rating period: 1 (``month``) or 3 (``quarter``)."""
        return 3 if self.period == "quarter" else 1

    def level_code(self, level: int) -> str:
        """The display code of a level (``HTT``; ``B`` under ``hn3814``; -1 not rated)."""
        return "not_rated" if level < 0 else self.level_labels[level]

    def level_title(self, level: int) -> str:
        """The Vietnamese label of a level ("Không xếp loại" when not rated)."""
        return "Không xếp loại" if level < 0 else self.level_titles[level]

    @property
    def general_max_raw(self) -> float:
        """Sum of the three sub-criteria maxima (30 by default)."""
        return 3.0 * self.sub_criterion_max

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (tuples become lists); ``profile_from_dict`` inverts it."""
        return {
            f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
            for f in dataclasses.fields(self)
        }

    def replace(self, **changes: Any) -> Profile:
        """Copy with changed fields, validated like :func:`profile_from_dict`."""
        return profile_from_dict({**self.to_dict(), **changes})


def _check_cross_fields(p: Profile) -> None:
    c = p.level_cuts
    if not c[0] <= c[1] <= c[2]:
        raise ValueError(f"level_cuts: must be ascending, got {list(c)}")
    total = p.general_points + p.task_points + p.bonus_points
    if total > 100.0 + 1e-9:
        raise ValueError(
            f"general_points + task_points + bonus_points: must be at most 100, got {total}"
        )
    if p.absence_cap_from > p.absence_cap_below:
        raise ValueError("absence_cap_from: must not exceed absence_cap_below")
    lo, hi = p.rank_interval
    if lo > hi:
        raise ValueError(f"rank_interval: must be ascending, got {[lo, hi]}")


def profile_fields() -> dict[str, str]:
    """Field name -> one-line description, for documentation and API schemas."""
    return {f.name: str(f.metadata["doc"]) for f in dataclasses.fields(Profile)}


def _coerce(name: str, meta: Mapping[str, Any], kind: str, value: Any) -> Any:
    if kind == _B:
        if not isinstance(value, bool):
            raise ValueError(f"{name}: expected a boolean, got {value!r}")
        return value
    if kind == _S:
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name}: expected a non-empty string, got {value!r}")
        choices = meta.get("choices")
        if choices is not None and value not in choices:
            raise ValueError(f"{name}: must be one of {list(choices)}, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name}: expected a number, got {value!r}")
    if kind == _I:
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{name}: expected an integer, got {value!r}")
        value = int(value)
    else:
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{name}: must be finite, got {value!r}")
    if not meta["lo"] <= value <= meta["hi"]:
        raise ValueError(f"{name}: must be between {meta['lo']} and {meta['hi']}, got {value!r}")
    return value


def profile_from_dict(data: Mapping[str, Any]) -> Profile:
    """Build and validate a :class:`Profile` from a plain dict.

    The dict may name a ``base`` profile (``"nd335"``, ``"qd366"``, ``"hn3814"``);
    fields it leaves out come from that base. Without ``base`` every field is required.

    Raises:
        ValueError: naming the unknown, missing or invalid field.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"profile: expected an object, got {type(data).__name__}")
    data = dict(data)
    base_name = data.pop("base", None)
    if "period_months" in data and "period" not in data:  # profiles stored before 2026-12
        months = data.pop("period_months")
        if months not in (1, 3):
            raise ValueError(f"period_months: must be 1 or 3, got {months!r}")
        data["period"] = "quarter" if months == 3 else "month"
    fields = {f.name: f for f in dataclasses.fields(Profile)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown profile field")
    if base_name is not None:
        if base_name not in PROFILES:
            raise ValueError(f"base: unknown profile {base_name!r}, known: {sorted(PROFILES)}")
        merged = {**PROFILES[base_name].to_dict(), **data}
    else:
        missing = sorted(set(fields) - set(data))
        if missing:
            raise ValueError(f"{missing[0]}: missing profile field (or give a 'base')")
        merged = data
    values: dict[str, Any] = {}
    for name, f in fields.items():
        meta = f.metadata
        value = merged[name]
        if meta["kind"] == "tuple":
            if not isinstance(value, list | tuple) or len(value) != meta["len"]:
                raise ValueError(f"{name}: expected a list of {meta['len']} values, got {value!r}")
            values[name] = tuple(
                _coerce(f"{name}[{i}]", meta, meta["of"], v) for i, v in enumerate(value)
            )
        else:
            values[name] = _coerce(name, meta, meta["kind"], value)
    return Profile(**values)


ND335: Final = Profile()
QD366: Final = dataclasses.replace(
    ND335,
    name="qd366",
    version="2025.2",
    period="quarter",
    gates=True,
)
HN3814: Final = dataclasses.replace(
    ND335,
    name="hn3814",
    version="2018.2",
    general_points=20.0,
    bonus_points=10.0,
    level_labels=("D", "C", "B", "A"),
    level_titles=("Không hoàn thành", "Hoàn thành", "Tốt", "Xuất sắc"),
    quota_ratio=0.30,
    quota_ratio_outstanding=0.40,
    quota_base="rated",
)
PROFILES: Final[dict[str, Profile]] = {p.name: p for p in (ND335, QD366, HN3814)}


def get_profile(name: str = "nd335") -> Profile:
    """Return a shipped profile by name.

    Raises:
        ValueError: unknown name.
    """
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"profile: unknown {name!r}, known: {sorted(PROFILES)}") from None


def variant_changes(base: Profile, profile: Profile) -> dict[str, Any]:
    """The fields in which ``profile`` differs from ``base``, as plain JSON values.

    A run with changed settings is a variant of its profile (DOMAIN part 3); this is what
    is recorded beside its results. Changes that restate a base value are not changes.
    """
    b, p = base.to_dict(), profile.to_dict()
    return {k: p[k] for k in sorted(p) if p[k] != b[k] and k not in ("name", "version")}


def variant_digest(changes: Mapping[str, Any]) -> str | None:
    """A short stable name of a set of changes (sha-256 of canonical JSON, 16 hex digits);
    ``None`` for no changes (the profile itself)."""
    if not changes:
        return None
    canon = json.dumps(dict(changes), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canon.encode()).hexdigest()[:16]
