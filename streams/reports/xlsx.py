"""The report as an Excel workbook (openpyxl): the table with its two header rows, the
total row, and a native bar chart of how each unit's finished dossiers finished.

Counts are numbers and the rate a number formatted as a percentage, so the sheet can be
summed and re-charted; no formulas (a reader that does not compute them, or openpyxl
reading the file back, would see no values).
"""

from __future__ import annotations

from typing import IO, Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.series import SeriesLabel
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from streams.reports.figures import Report, ReportRow
from streams.reports.table import CHART_SERIES, COLUMNS, basis_lines, header_groups, title_lines

SHEET = "Báo cáo"
_THIN = Side(style="thin", color="999999")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEAD_FILL = PatternFill("solid", fgColor="DDE5F0")
_TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
_CENTRE = Alignment(horizontal="center", vertical="center", wrap_text=True)


def write_xlsx(report: Report, out: IO[bytes]) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    width = len(COLUMNS)
    lines = [*((t, False) for t in title_lines(report)), *basis_lines(report)]
    for i, (text, warning) in enumerate(lines, start=1):
        colour = "B00020" if warning else None
        ws.cell(row=i, column=1, value=text).font = Font(
            bold=i <= 2 or warning, size=13 if i == 1 else 11, color=colour
        )
        ws.merge_cells(start_row=i, start_column=1, end_row=i, end_column=width)
    head = len(lines) + 2
    _header(ws, head)
    first = head + 2
    for n, row in enumerate(report.rows):
        _row(ws, first + n, row)
    total_at = first + len(report.rows)
    _row(ws, total_at, report.total, total=True)
    ws.freeze_panes = ws.cell(row=first, column=2)
    ws.column_dimensions["A"].width = max([24, *(min(len(r.label), 60) + 2 for r in report.rows)])
    for col in range(2, width + 1):
        ws.column_dimensions[get_column_letter(col)].width = 13
    if report.rows:
        _chart(ws, report, first, total_at - 1, anchor=f"A{total_at + 3}")
    wb.save(out)


def _header(ws: Any, at: int) -> None:
    """Two header rows: Vietnamese over English in each cell, groups merged above."""
    for g in header_groups():
        col = g.first + 1
        cell = ws.cell(row=at, column=col, value=f"{g.vi}\n{g.en}")
        if g.group:
            ws.merge_cells(start_row=at, start_column=col, end_row=at, end_column=col + g.span - 1)
            for k in range(g.span):
                c = COLUMNS[g.first + k]
                sub = ws.cell(row=at + 1, column=col + k, value=f"{c.vi}\n{c.en}")
                _head_style(sub)
        else:
            ws.merge_cells(start_row=at, start_column=col, end_row=at + 1, end_column=col)
        _head_style(cell)
    for col in range(1, len(COLUMNS) + 1):  # merged cells keep their borders per cell
        for r in (at, at + 1):
            ws.cell(row=r, column=col).border = _BOX
    ws.row_dimensions[at].height = 45
    ws.row_dimensions[at + 1].height = 45


def _head_style(cell: Any) -> None:
    cell.font = Font(bold=True)
    cell.alignment = _CENTRE
    cell.fill = _HEAD_FILL
    cell.border = _BOX


def _row(ws: Any, at: int, row: ReportRow, *, total: bool = False) -> None:
    for i, c in enumerate(COLUMNS, start=1):
        if c.key == "unit":
            value: Any = row.label
        elif c.key == "rate":
            value = row.rate
        else:
            value = row.counts[c.key]
        cell = ws.cell(row=at, column=i, value=value)
        cell.border = _BOX
        if c.key == "rate":
            cell.number_format = "0.0%"
        elif c.key != "unit":
            cell.number_format = "#,##0"
        if total:
            cell.font = Font(bold=True)
            cell.fill = _TOTAL_FILL


def _chart(ws: Any, report: Report, first: int, last: int, anchor: str) -> None:
    """Clustered bars per unit: Sớm / Đúng / Trễ hạn, read from the table's own cells."""
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "clustered"
    chart.title = "Hồ sơ đã giải quyết theo đơn vị / Dossiers finished, by unit"
    chart.y_axis.title = "Hồ sơ / Dossiers"
    chart.height = 9
    chart.width = max(18.0, 2.2 * len(report.rows))
    keys = [c.key for c in COLUMNS]
    for key, name, colour in CHART_SERIES:
        col = keys.index(key) + 1
        data = Reference(ws, min_col=col, min_row=first, max_row=last)
        chart.add_data(data, titles_from_data=False)
        series = chart.series[-1]
        series.tx = SeriesLabel(v=name)
        series.graphicalProperties.solidFill = colour
    chart.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
    ws.add_chart(chart, anchor)
