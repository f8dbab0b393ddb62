"""Numbers a person reads: scores half-up to 2 decimals, ranks as integers."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")


def two(value: Any) -> Decimal | None:
    """``value`` rounded half-up to 2 decimals (from its shortest repr, so 84.005 -> 84.01)."""
    if value is None:
        return None
    try:
        number = Decimal(repr(float(value)))
    except (TypeError, ValueError):
        return None
    if not number.is_finite():
        return None
    return number.quantize(CENT, rounding=ROUND_HALF_UP)


def score_text(value: Any, locale: str = "vi") -> str:
    """``84,50`` in Vietnamese (decimal comma), ``84.50`` in English; empty when missing."""
    rounded = two(value)
    if rounded is None:
        return ""
    if rounded == 0:
        rounded = abs(rounded)  # no "-0.00"
    text = f"{rounded:.2f}"
    return text.replace(".", ",") if locale == "vi" else text


def score_float(value: Any) -> float | None:
    """The 2-decimal value as a float, for spreadsheets (which format it with 0.00)."""
    rounded = two(value)
    return None if rounded is None else float(rounded)


def integer(value: Any) -> int | None:
    """A rank or a rank-interval end as an integer (intervals are stored as floats)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number != number:  # NaN
        return None
    return int(Decimal(repr(number)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
