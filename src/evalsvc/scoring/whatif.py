"""What-if: rate the same inputs under a modified profile and report the shifts.

Nothing is stored: both runs are pure calls of :func:`~evalsvc.scoring.pipeline.rate_all`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from evalsvc.scoring.inputs import Org, YearInputs
from evalsvc.scoring.pipeline import YearRating, rate_all
from evalsvc.scoring.profiles import Profile, profile_from_dict

I64 = npt.NDArray[np.int64]


@dataclasses.dataclass(frozen=True, slots=True)
class Shift:
    """Rows whose value changed, with the value before and after, ``(k,)`` arrays."""

    rows: I64
    before: I64
    after: I64


@dataclasses.dataclass(frozen=True, slots=True)
class WhatIf:
    """Comparison of two ratings of the same inputs.

    Attributes:
        base: the rating under the current profile.
        alt: the rating under the modified profile.
        cadre_levels: cadres whose annual level changed.
        transitions: ``(5, 5)`` counts, row = level before + 1, column = after + 1
            (index 0 is "not rated").
        unit_levels: units whose annual level changed.
        unit_ranks: units whose rank changed.
    """

    base: YearRating
    alt: YearRating
    cadre_levels: Shift
    transitions: I64
    unit_levels: Shift
    unit_ranks: Shift


def _shift(before: npt.ArrayLike, after: npt.ArrayLike) -> Shift:
    b = np.asarray(before, dtype=np.int64)
    a = np.asarray(after, dtype=np.int64)
    rows = np.flatnonzero(a != b).astype(np.int64)
    return Shift(rows, b[rows], a[rows])


def what_if(
    org: Org,
    year: YearInputs,
    profile: Profile,
    modified: Profile | Mapping[str, Any],
) -> WhatIf:
    """Rate ``year`` under ``profile`` and under ``modified`` and compare.

    Args:
        org: the organisation.
        year: the year's inputs.
        profile: the current profile.
        modified: a profile, or a dict of changes (validated by
            :func:`~evalsvc.scoring.profiles.profile_from_dict`, ``base`` defaulting to
            ``profile``'s fields).

    Raises:
        ValueError: invalid modified profile, naming the field.
    """
    alt_profile = (
        modified
        if isinstance(modified, Profile)
        else profile_from_dict({**profile.to_dict(), **dict(modified)})
    )
    base = rate_all(org, year, profile)
    alt = rate_all(org, year, alt_profile)
    lb = base.cadres.level.astype(np.int64) + 1
    la = alt.cadres.level.astype(np.int64) + 1
    transitions = np.bincount(lb * 5 + la, minlength=25).reshape(5, 5).astype(np.int64)
    return WhatIf(
        base=base,
        alt=alt,
        cadre_levels=_shift(base.cadres.level, alt.cadres.level),
        transitions=transitions,
        unit_levels=_shift(base.units.level, alt.units.level),
        unit_ranks=_shift(base.ranking.rank, alt.ranking.rank),
    )
