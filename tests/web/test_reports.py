"""Reports over HTTP: XLSX and PDF of the rankings and of a unit's members, CSV excel=1."""

from __future__ import annotations

import csv
import io

import asyncpg
import openpyxl
from pypdf import PdfReader

from evalsvc.api.export import to_csv
from evalsvc.domain.access import Role
from evalsvc.reports.numbers import score_text, two
from tests.conftest import make_key
from tests.web.demo_city import demo_client, demo_conn, demo_dsn, demo_template
from tests.web.helpers import Client

__all__ = ["demo_client", "demo_conn", "demo_dsn", "demo_template"]


def test_two_decimals_half_up_and_no_negative_zero() -> None:
    assert str(two(84.005)) == "84.01"
    assert str(two(42.01637922483702)) == "42.02"
    assert score_text(-0.0000001) == "0,00"
    assert score_text(7.5, "en") == "7.50"


def test_csv_excel_neutralises_formulas_and_speaks_vietnamese() -> None:
    items = [
        {"code": "C1", "full_name": "=HYPERLINK(\"x\")", "score": 84.005, "level": "HTT",
         "reasons": "quota", "position": "head"},
        {"code": "C2", "full_name": "+Nguyễn", "score": 5.0, "level": "KHT", "reasons": "",
         "position": "staff"},
    ]  # fmt: skip
    plain = to_csv(items, ["code", "full_name", "score"]).decode()
    assert "'=HYPERLINK" in plain
    assert "84.005" in plain
    body = to_csv(items, ["code", "full_name", "position", "score", "level", "reasons"], True)
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["Mã", "Họ và tên", "Chức vụ", "Điểm", "Mã xếp loại", "Xếp loại",
                       "Lý do", "Lý do"]  # fmt: skip
    assert rows[1][1] == '\'=HYPERLINK("x")'
    assert rows[1][2] == "Cấp trưởng"
    assert rows[1][3] == "84.01"
    assert rows[1][5] == "Hoàn thành tốt nhiệm vụ"
    assert rows[2][1] == "'+Nguyễn"


async def test_rankings_xlsx_pdf_and_members_csv(
    demo_client: Client, demo_conn: asyncpg.Connection
) -> None:
    headers = await make_key(demo_conn, Role.ADMIN)
    ranked = (
        await demo_client.get("/results/rankings?period=2026&limit=1000", headers=headers)
    ).json()["items"]
    xlsx = await demo_client.get("/results/rankings?period=2026&format=xlsx", headers=headers)
    assert xlsx.status_code == 200, xlsx.text
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    head = next(r for r in range(1, 15) if sheet.cell(r, 1).value == "STT")
    assert sheet.freeze_panes == f"A{head + 1}"
    assert sheet.column_dimensions["E"].width > 20
    got = [(sheet.cell(head + 1 + i, 4).value, sheet.cell(head + 1 + i, 6).value)
           for i in range(len(ranked))]  # fmt: skip
    assert got == [(r["code"], float(two(r["u"]))) for r in ranked]  # type: ignore[arg-type]
    assert sheet.cell(head + 1, 12).value == ranked[0]["level_label"]

    pdf = await demo_client.get("/results/rankings?period=2026&format=pdf", headers=headers)
    assert pdf.headers["content-type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "BẢNG XẾP HẠNG ĐƠN VỊ THEO KHỐI THI ĐUA" in text
    assert "Năm 2026" in text
    assert "Phường Hoàn Kiếm" in text
    assert f"Lượt tính (run id): {ranked[0]['run_id']}" in text

    csv_body = await demo_client.get(
        "/results/units/SNV/members?period=2026&subtree=true&format=csv&excel=1", headers=headers
    )
    assert csv_body.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(csv_body.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Mã", "Họ và tên", "Chức vụ"]
    assert all(len(r[4].split(".")[1]) == 2 for r in rows[1:] if r[4])

    refused = await demo_client.get(
        "/results/units/SNV/members?period=2026&format=xlsx",
        headers=await make_key(demo_conn, Role.PERSONNEL, "P-BODE"),
    )
    assert refused.status_code == 404
    bad = await demo_client.get("/results/rankings?period=2026&format=docx", headers=headers)
    assert bad.status_code == 400
