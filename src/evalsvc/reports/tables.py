"""The two filed tables, as plain data: a personnel department's summary of a unit's members
and the ranking of units in their blocks. XLSX, PDF and the pages' downloads render these."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from evalsvc.reports import labels
from evalsvc.reports.numbers import integer, score_float, score_text

Kind = Literal["text", "int", "score"]


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    kind: Kind = "text"
    width: float = 12  # characters (XLSX); PDF widths are proportional to it


@dataclass(slots=True)
class Report:
    title: str
    facts: list[tuple[str, str]]
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    filename: str = "bao-cao"


def _facts(
    period: str, run_id: int | None, generated: datetime, **more: str
) -> list[tuple[str, str]]:
    out = [("Kỳ đánh giá", period_words(period))]
    out += [(k, v) for k, v in more.items() if v]
    out.append(("Thời điểm lập", f"{generated:%d/%m/%Y %H:%M} (giờ Hà Nội)"))
    out.append(("Lượt tính (run id)", str(run_id) if run_id is not None else ""))
    return out


def period_words(period: str) -> str:
    """'2026' -> 'Năm 2026', '2026-05' -> 'Tháng 05/2026', '2026-Q2' -> 'Quý 2/2026'."""
    if len(period) == 4:
        return f"Năm {period}"
    if "-Q" in period:
        year, q = period.split("-Q")
        return f"Quý {q}/{year}"
    return f"Tháng {period[5:7]}/{period[:4]}"


MEMBER_COLUMNS = [
    Column("STT", "int", 6),
    Column("Họ và tên", "text", 28),
    Column("Chức vụ", "text", 20),
    Column("Đơn vị", "text", 14),
    Column("Điểm", "score", 9),
    Column("Xếp loại", "text", 30),
    Column("Lý do", "text", 48),
    Column("Mã cán bộ", "text", 16),
]


def members_report(
    items: Iterable[dict[str, Any]],
    *,
    period: str,
    unit_code: str,
    unit_name: str,
    run_id: int | None,
    generated: datetime,
) -> Report:
    """'Tổng hợp kết quả đánh giá, xếp loại': one row per member, in name order."""
    rows = [
        [
            i,
            r.get("full_name") or "",
            labels.position_label(r.get("position")),
            r.get("unit_code") or "",
            score_float(r.get("score")),
            r.get("level_label") or labels.level_label(r.get("level")),
            _reasons(r),
            r.get("code") or "",
        ]
        for i, r in enumerate(items, start=1)
    ]
    return Report(
        title="TỔNG HỢP KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI CÁN BỘ, CÔNG CHỨC, VIÊN CHỨC",
        facts=_facts(period, run_id, generated, **{"Đơn vị": f"{unit_name} ({unit_code})"}),
        columns=MEMBER_COLUMNS,
        rows=rows,
        filename=f"ket-qua-{unit_code}-{period}",
    )


RANKING_COLUMNS = [
    Column("STT", "int", 6),
    Column("Khối thi đua", "text", 18),
    Column("Thứ hạng", "int", 9),
    Column("Mã đơn vị", "text", 12),
    Column("Tên đơn vị", "text", 32),
    Column("Điểm U", "score", 9),
    Column("U1", "score", 8),
    Column("U2", "score", 8),
    Column("U3", "score", 8),
    Column("U4", "score", 8),
    Column("U5", "score", 8),
    Column("Xếp loại", "text", 28),
    Column("Số người", "int", 9),
    Column("Số KHT", "int", 8),
    Column("Hạng kỳ trước", "int", 10),
    Column("Tăng/giảm", "int", 9),
    Column("Khoảng hạng từ", "int", 10),
    Column("Khoảng hạng đến", "int", 10),
    Column("Ghi chú", "text", 30),
]


def rankings_report(
    items: Iterable[dict[str, Any]],
    unranked: Iterable[dict[str, Any]],
    *,
    period: str,
    block: str | None,
    run_id: int | None,
    generated: datetime,
) -> Report:
    """'Bảng xếp hạng đơn vị': ranked units by block and rank, then the units not ranked."""
    rows: list[list[Any]] = []
    for r in items:
        rows.append(
            [
                len(rows) + 1,
                r.get("block") or "",
                integer(r.get("rank")),
                r.get("code") or "",
                r.get("name") or "",
                *(score_float(r.get(k)) for k in ("u", "u1", "u2", "u3", "u4", "u5")),
                r.get("level_label") or labels.level_label(r.get("level")),
                integer(r.get("members")),
                integer(r.get("kht")),
                integer(r.get("prev_rank")),
                integer(r.get("movement")) if r.get("prev_rank") is not None else None,
                integer(r.get("rank_low")),
                integer(r.get("rank_high")),
                "",
            ]
        )
    for r in unranked:
        rows.append(
            [
                len(rows) + 1,
                r.get("block") or "",
                None,
                r.get("code") or "",
                r.get("name") or "",
                *(score_float(r.get(k)) for k in ("u", "u1", "u2", "u3", "u4", "u5")),
                "",
                integer(r.get("members")),
                integer(r.get("kht")),
                None,
                None,
                None,
                None,
                "Chưa xếp hạng: " + _reasons(r),
            ]
        )
    return Report(
        title="BẢNG XẾP HẠNG ĐƠN VỊ THEO KHỐI THI ĐUA",
        facts=_facts(period, run_id, generated, **{"Khối thi đua": block or "Tất cả các khối"}),
        columns=RANKING_COLUMNS,
        rows=rows,
        filename=f"xep-hang-{period}",
    )


def _reasons(row: dict[str, Any]) -> str:
    """The read side's Vietnamese reason labels, else ours for its codes."""
    given = row.get("reason_labels")
    return "; ".join(given) if given else labels.reasons_text(row.get("reasons"))


def cell_text(value: Any, kind: Kind) -> str:
    """A cell as the PDF prints it (Vietnamese decimal comma)."""
    if value is None:
        return ""
    if kind == "score":
        return score_text(value, "vi")
    return str(value)
