"""Vietnamese (and English) words for the codes results carry: levels, reasons, positions,
report columns. Reports for filing are always Vietnamese; pages follow the reader."""

from __future__ import annotations

from typing import Final

LEVEL_VI: Final = {
    "HTXS": "Hoàn thành xuất sắc nhiệm vụ",
    "HTT": "Hoàn thành tốt nhiệm vụ",
    "HT": "Hoàn thành nhiệm vụ",
    "KHT": "Không hoàn thành nhiệm vụ",
    "not_rated": "Không xếp loại",
}
LEVEL_EN: Final = {
    "HTXS": "Excellent",
    "HTT": "Good",
    "HT": "Completed",
    "KHT": "Not completed",
    "not_rated": "Not rated",
}

REASON_VI: Final = {
    "insufficient_data": "Không đủ dữ liệu (không có căn cứ nhiệm vụ)",
    "no_assessment": "Thiếu đánh giá của cấp trên trực tiếp",
    "discipline": "Bị kỷ luật trong kỳ",
    "low_confidence_ballot": "Quá 1/2 phiếu tín nhiệm thấp: tối đa Hoàn thành nhiệm vụ",
    "score_below_50": "Điểm cả năm dưới 50",
    "degradation": "Có kết luận suy thoái",
    "corruption_in_charge": "Để xảy ra tham nhũng, lãng phí ở đơn vị phụ trách trực tiếp",
    "low_confidence": "Quá 50% phiếu tín nhiệm thấp khi lấy phiếu tín nhiệm",
    "not_enough_months": "Công tác dưới 6 tháng trong năm: không xếp loại",
    "absence_cap": "Nghỉ từ 3 đến dưới 6 tháng: tối đa Hoàn thành nhiệm vụ",
    "gate_tasks_done": "Chưa hoàn thành 100% nhiệm vụ",
    "gate_exceeded": "Dưới 30% nhiệm vụ vượt tiến độ, chất lượng",
    "unremediated": "Chưa khắc phục hết hạn chế, khuyết điểm đến hạn",
    "gate_late_tasks": "Quá 20% nhiệm vụ chậm tiến độ",
    "leader_cap": "Người đứng đầu không cao hơn mức xếp loại của đơn vị",
    "quota": "Vượt tỷ lệ 20% Hoàn thành xuất sắc nhiệm vụ",
    "no_task_basis": "Không có kỳ nào có cơ sở nhiệm vụ",
}
REASON_EN: Final = {
    "insufficient_data": "Not enough data (no task basis)",
    "no_assessment": "No assessment by the direct supervisor",
    "discipline": "Disciplined in the period",
    "low_confidence_ballot": "Over half low-confidence marks in a ballot: at most Completed",
    "score_below_50": "Annual score below 50",
    "degradation": "Concluded degradation",
    "corruption_in_charge": "Corruption or waste in a unit under direct charge",
    "low_confidence": "Over 50% low confidence in a confidence vote",
    "not_enough_months": "Worked fewer than 6 months: not rated",
    "absence_cap": "Absent 3 to under 6 months: at most Completed",
    "gate_tasks_done": "Not 100% of tasks done",
    "gate_exceeded": "Under 30% of tasks exceeded",
    "unremediated": "Shortcomings due in the year not all remedied",
    "gate_late_tasks": "Over 20% of tasks late",
    "leader_cap": "A head is not rated above the unit's level",
    "quota": "Over the 20% quota of Excellent",
    "no_task_basis": "No period with a task basis",
}

POSITION_VI: Final = {"head": "Cấp trưởng", "deputy": "Cấp phó", "staff": "Công chức, viên chức"}
POSITION_EN: Final = {"head": "Head", "deputy": "Deputy", "staff": "Staff"}

HEADERS_VI: Final = {
    "stt": "STT",
    "code": "Mã",
    "full_name": "Họ và tên",
    "position": "Chức vụ",
    "unit_code": "Đơn vị",
    "unit_name": "Tên đơn vị",
    "name": "Tên đơn vị",
    "score": "Điểm",
    "level": "Mã xếp loại",
    "level_label": "Xếp loại",
    "reasons": "Lý do",
    "reasons_text": "Lý do",
    "run_id": "Lượt tính",
    "block": "Khối thi đua",
    "rank": "Thứ hạng",
    "u": "Điểm U",
    "u1": "U1",
    "u2": "U2",
    "u3": "U3",
    "u4": "U4",
    "u5": "U5",
    "members": "Số người",
    "kht": "Số KHT",
    "pairs": "Số cặp vi phạm",
    "prev_rank": "Hạng kỳ trước",
    "movement": "Thay đổi",
    "rank_low": "Hạng thấp nhất có thể",
    "rank_high": "Hạng cao nhất có thể",
    "id": "Mã số",
    "period": "Kỳ",
    "state": "Trạng thái",
    "status": "Trạng thái",
    "created_at": "Thời điểm tạo",
    "published": "Đã công bố",
}


def level_label(code: str | None, locale: str = "vi") -> str:
    if code is None:
        return ""
    return (LEVEL_VI if locale == "vi" else LEVEL_EN).get(code, code)


def reason_label(code: str, locale: str = "vi") -> str:
    return (REASON_VI if locale == "vi" else REASON_EN).get(code, code)


def reasons_text(codes: str | list[str] | None, locale: str = "vi") -> str:
    """Reason codes (a list, or the space-separated CSV form) as words, '; '-joined."""
    if not codes:
        return ""
    items = codes.split() if isinstance(codes, str) else codes
    return "; ".join(reason_label(c, locale) for c in items)


def position_label(code: str | None, locale: str = "vi") -> str:
    if code is None:
        return ""
    return (POSITION_VI if locale == "vi" else POSITION_EN).get(code, code)
