"""A report as a PDF (fpdf2, already used for QR slips): DejaVu Sans shipped in the package
renders Vietnamese diacritics; title, facts, a table whose header repeats, page numbers."""

from __future__ import annotations

from importlib import resources
from typing import Any

from fpdf import FPDF
from fpdf.fonts import FontFace

from evalsvc.reports.tables import Report, cell_text

FONT = "DejaVu"


class _Document(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.cell(0, 6, f"{self.footer_text}    Trang {self.page_no()}/{{nb}}", align="C")


def _fonts(pdf: FPDF) -> None:
    fonts = resources.files("evalsvc.web") / "static" / "fonts"
    with resources.as_file(fonts / "DejaVuSans.ttf") as regular:
        pdf.add_font(FONT, "", str(regular))
    with resources.as_file(fonts / "DejaVuSans-Bold.ttf") as bold:
        pdf.add_font(FONT, "B", str(bold))


def to_pdf(report: Report) -> bytes:
    pdf = _Document(orientation="landscape", unit="mm", format="A4")
    _fonts(pdf)
    pdf.footer_text = report.filename
    pdf.set_title(report.title)
    pdf.set_creator("evalsvc")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_margins(10, 10, 10)
    pdf.add_page()
    pdf.set_font(FONT, "B", 13)
    pdf.multi_cell(0, 7, report.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font(FONT, size=9)
    for name, value in report.facts:
        pdf.set_font(FONT, "B", 9)
        pdf.cell(45, 5, name + ":")
        pdf.set_font(FONT, size=9)
        pdf.cell(0, 5, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    size = 7 if len(report.columns) > 10 else 8.5
    pdf.set_font(FONT, size=size)
    kinds = [c.kind for c in report.columns]
    aligns: Any = tuple("LEFT" if k == "text" else "RIGHT" for k in kinds)
    with pdf.table(
        col_widths=tuple(c.width for c in report.columns),
        text_align=aligns,
        headings_style=FontFace(emphasis="BOLD", fill_color=(232, 232, 232)),
        line_height=size * 0.5,
        repeat_headings=1,
    ) as table:
        heading = table.row()
        for column in report.columns:
            heading.cell(column.header, align="CENTER")
        for values in report.rows:
            row = table.row()
            for value, kind in zip(values, kinds, strict=True):
                row.cell(cell_text(value, kind))
    if not report.rows:
        pdf.cell(0, 6, "Không có dữ liệu.", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
