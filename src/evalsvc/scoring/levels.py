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

# The order in which the rules apply (DOMAIN part 3): a cadre sees their reasons in it.
# Period: no task basis, no assessment, the low-confidence cap, then the discipline
# override. Year: eligibility (step 1), no score (step 2), the KHT overrides (step 4), the
# HTXS gates then the HT gate (step 5, in DOMAIN's order), leader link (6), quota (7).
RULE_ORDER: Final[tuple[str, ...]] = (
    "not_enough_months",
    "absence_cap",
    "insufficient_data",
    "no_assessment",
    "low_confidence_ballot",
    "score_below_50",
    "discipline",
    "degradation",
    "corruption_in_charge",
    "low_confidence",
    "gate_tasks_done",
    "gate_exceeded",
    "unremediated",
    "gate_late_tasks",
    "leader_cap",
    "quota",
)
assert sorted(RULE_ORDER) == sorted(REASONS)

REASON_LABELS_VI: Final[dict[str, str]] = {
    "not_enough_months": "Không đủ 6 tháng công tác trong năm: không xếp loại",
    "absence_cap": "Nghỉ từ 3 đến dưới 6 tháng: tối đa Hoàn thành nhiệm vụ",
    "insufficient_data": "Không đủ dữ liệu (không có nhiệm vụ được giao)",
    "no_assessment": "Không có đánh giá của cấp trên",
    "low_confidence_ballot": "Trên 1/2 phiếu tín nhiệm thấp: tối đa Hoàn thành nhiệm vụ",
    "score_below_50": "Điểm dưới 50: Không hoàn thành nhiệm vụ",
    "discipline": "Bị kỷ luật: Không hoàn thành nhiệm vụ",
    "degradation": "Có kết luận suy thoái: Không hoàn thành nhiệm vụ",
    "corruption_in_charge": "Để xảy ra tham nhũng, lãng phí trong đơn vị phụ trách",
    "low_confidence": "Lấy phiếu tín nhiệm: trên 50 % tín nhiệm thấp",
    "gate_tasks_done": "Chưa hoàn thành 100 % nhiệm vụ: không đạt mức xuất sắc",
    "gate_exceeded": "Dưới 30 % nhiệm vụ vượt yêu cầu: không đạt mức xuất sắc",
    "unremediated": "Chưa khắc phục hết tồn tại, hạn chế: không đạt mức xuất sắc",
    "gate_late_tasks": "Trên 20 % nhiệm vụ chậm tiến độ: Không hoàn thành nhiệm vụ",
    "leader_cap": "Người đứng đầu: không cao hơn mức của đơn vị",
    "quota": "Vượt tỷ lệ 20 % xuất sắc của cơ quan, nhóm nhiệm vụ tương đồng",
}
assert set(REASON_LABELS_VI) == set(REASONS)


def reason_names(mask: int) -> list[str]:
    """Decode one reason mask into its reason codes, in rule order (:data:`RULE_ORDER`)."""
    m = int(mask)
    return [name for name in RULE_ORDER if m & REASON_BIT[name]]


def reason_labels(codes: list[str]) -> list[str]:
    """The Vietnamese labels of reason codes, in the same order."""
    return [REASON_LABELS_VI.get(c, c) for c in codes]


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
