"""A month run's carry as bytes: what a year takes from the month without scoring it again.

The carry (``scoring/carry.py``) is arrays only; it is stored as an ``.npz`` (numpy's own
format, no pickles) compressed with zstd beside its month run (``result_month_carries``).
At city scale a month's carry is 18.6 MB raw and 2.4 MB compressed (level 3: 66 ms to
compress, 25 ms to decompress on the 2-core machine), so a year reads 29 MB instead of
214 MB. The scoring version covers this module (``jobs/scoring_version.py``), so a carry is
only ever read by the code that wrote it.
"""

from __future__ import annotations

import dataclasses
import io
from typing import Any

import numpy as np
import zstandard

from evalsvc.scoring.carry import MonthCarry
from evalsvc.scoring.inputs import Manifestations
from evalsvc.scoring.tasks import TaskTotals
from evalsvc.scoring.units import UnitMonthResult

LEVEL = 3
"""zstd level: decompresses faster than 1 at about the same size (what a year pays)."""

NESTED: dict[str, type] = {
    "totals": TaskTotals,
    "manifestations": Manifestations,
    "units": UnitMonthResult,
}
"""The carry's fields that are themselves records of arrays."""


def _flatten(prefix: str, record: Any, out: dict[str, np.ndarray[Any, Any]]) -> None:
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        key = f"{prefix}{f.name}"
        if prefix == "" and f.name in NESTED:
            _flatten(f"{key}.", value, out)
        else:
            out[key] = np.asarray(value)


def to_bytes(carry: MonthCarry) -> bytes:
    """The carry as one ``.npz`` blob."""
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    _flatten("", carry, arrays)
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # type: ignore[arg-type]
    return zstandard.ZstdCompressor(level=LEVEL, threads=-1).compress(buf.getvalue())


def _value(arr: np.ndarray[Any, Any]) -> Any:
    return arr[()] if arr.ndim == 0 else arr


def from_bytes(data: bytes) -> MonthCarry:
    """The carry :func:`to_bytes` stored.

    Raises:
        ValueError: not a carry written by this code.
    """
    try:
        raw = zstandard.ZstdDecompressor().decompress(data)
    except zstandard.ZstdError as exc:
        raise ValueError(f"not a month carry: {exc}") from exc
    with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    fields: dict[str, Any] = {}
    try:
        for f in dataclasses.fields(MonthCarry):
            if f.name in NESTED:
                cls = NESTED[f.name]
                fields[f.name] = cls(
                    **{
                        g.name: _value(arrays.pop(f"{f.name}.{g.name}"))
                        for g in dataclasses.fields(cls)
                    }
                )
            else:
                fields[f.name] = _value(arrays.pop(f.name))
    except KeyError as exc:
        raise ValueError(f"not a month carry: {exc.args[0]} missing") from exc
    if arrays:
        raise ValueError(f"not a month carry: unknown {sorted(arrays)}")
    return MonthCarry(**fields)
