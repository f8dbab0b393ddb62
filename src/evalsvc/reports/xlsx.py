"""A report as an XLSX workbook (xlsxwriter): title and facts above, a frozen bold header,
numbers as numbers (scores shown 0.00), text written as text (never read as a formula)."""

from __future__ import annotations

import io

import xlsxwriter

from evalsvc.reports.tables import Report


def to_xlsx(report: Report) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet("Tổng hợp")
    title = book.add_format({"bold": True, "font_size": 13, "align": "center"})
    fact_name = book.add_format({"bold": True})
    head = book.add_format(
        {"bold": True, "bg_color": "#E8E8E8", "border": 1, "text_wrap": True, "valign": "vcenter",
         "align": "center"}
    )  # fmt: skip
    text = book.add_format({"border": 1, "text_wrap": True, "valign": "top"})
    whole = book.add_format({"border": 1, "num_format": "0", "valign": "top"})
    score = book.add_format({"border": 1, "num_format": "0.00", "valign": "top"})
    formats = {"text": text, "int": whole, "score": score}

    last_col = len(report.columns) - 1
    sheet.merge_range(0, 0, 0, last_col, report.title, title)
    row = 1
    for name, value in report.facts:
        sheet.write_string(row, 0, name, fact_name)
        sheet.write_string(row, 2, value)
        row += 1
    header_row = row + 1
    for col, column in enumerate(report.columns):
        sheet.set_column(col, col, column.width)
        sheet.write_string(header_row, col, column.header, head)
    sheet.set_row(header_row, 30)
    kinds = [c.kind for c in report.columns]
    for r, values in enumerate(report.rows, start=header_row + 1):
        for c, value in enumerate(values):
            fmt = formats[kinds[c]]
            if value is None or value == "":
                sheet.write_blank(r, c, None, fmt)
            elif kinds[c] == "text":
                sheet.write_string(r, c, str(value), fmt)
            else:
                sheet.write_number(r, c, value, fmt)
    sheet.freeze_panes(header_row + 1, 0)
    if report.rows:
        sheet.autofilter(header_row, 0, header_row + len(report.rows), last_col)
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(header_row)
    book.close()
    return out.getvalue()
