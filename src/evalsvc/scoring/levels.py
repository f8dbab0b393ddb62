"""Level codes, labels and reason codes shared by the scoring core.

Levels are small ints so they live in ``int8`` arrays (DOMAIN part 3, "Levels (law)",
Decree 335 Art. 19): ``-1`` not rated, ``0`` KHT, ``1`` HT, ``2`` HTT, ``3`` HTXS.

Reasons are bits of a ``uint32`` mask per cadre, one bit per automatic change or
marker, so a whole population's reasons are one array; :func:`reason_names` decodes one
mask into the stable string codes a cadre sees and can appeal.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

NOT_RATED: Final = -1
KHT: Final = 0
HT: Final = 1
HTT: Final = 2
HTXS: Final = 3

LEVEL_CODES: Final[dict[int, str]] = {
    NOT_RATED: "not_rated",
    KHT: "KHT",
    HT: "HT",
    HTT: "HTT",
    HTXS: "HTXS",
}

LEVEL_LABELS_VI: Final[dict[int, str]] = {
    NOT_RATED: "Không xếp loại",
    KHT: "Không hoàn thành nhiệm vụ",
    HT: "Hoàn thành nhiệm vụ",
    HTT: "Hoàn thành tốt nhiệm vụ",
    HTXS: "Hoàn thành xuất sắc nhiệm vụ",
}

# Position codes (DOMAIN part 2, cadre position).
STAFF: Final = 0
DEPUTY: Final = 1
HEAD: Final = 2

# Reason codes: name -> bit. Order is part of the stored format, append only.
REASONS: Final[tuple[str, ...]] = (
    "insufficient_data",  # month without task basis, or year without any scored month
    "no_assessment",  # month left out: no supervisor assessment (profile option)
    "discipline",  # discipline effective in the month / counted in the year -> KHT
    "low_confidence_ballot",  # > 1/2 "tín nhiệm thấp" in a ballot round -> month capped at HT
    "score_below_50",  # annual Y below the KHT cut -> KHT
    "degradation",  # concluded degradation -> KHT
    "corruption_in_charge",  # leader: corruption/waste in a unit under direct charge -> KHT
    "low_confidence",  # leader: formal QĐ 96 vote with > 50 % low confidence -> KHT
    "not_enough_months",  # worked < 6 months -> not rated
    "absence_cap",  # non-maternity absence 3 to < 6 months -> at most HT
    "gate_tasks_done",  # HTXS gate: not 100 % of tasks done
    "gate_exceeded",  # HTXS gate: < 30 % of tasks exceeded
    "unremediated",  # HTXS gate: not every remediation item due in the year verified
    "gate_late_tasks",  # HT gate: more than 20 % of tasks late
    "leader_cap",  # leader link: head capped by the unit's level
    "quota",  # demoted HTXS -> HTT by the 20 % / 25 % quota
)
REASON_BIT: Final[dict[str, int]] = {name: 1 << i for i, name in enumerate(REASONS)}


def reason_names(mask: int) -> list[str]:
    """Decode one reason mask into its reason codes, in :data:`REASONS` order."""
    return [name for name, bit in REASON_BIT.items() if int(mask) & bit]


def level_from_score(
    score: npt.NDArray[np.float64], cuts: tuple[float, float, float]
) -> npt.NDArray[np.int8]:
    """Map scores to levels with the profile's cut points (DOMAIN part 3, Levels).

    Args:
        score: ``(n,)`` rounded scores; NaN means "no score".
        cuts: ascending thresholds for HT, HTT and HTXS (default 50, 70, 90).

    Returns:
        ``(n,)`` int8 levels, ``-1`` where the score is NaN.
    """
    s = np.asarray(score, dtype=np.float64)
    ok = ~np.isnan(s)
    lv = np.searchsorted(np.asarray(cuts, dtype=np.float64), np.where(ok, s, 0.0), side="right")
    return np.where(ok, lv, NOT_RATED).astype(np.int8)
