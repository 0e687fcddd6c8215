"""The report as a PDF (fpdf2): A4 landscape, the table with its two header rows repeated
on every page, then the bar chart drawn with rectangles, UNITS_PER_CHART units a page.

Vietnamese needs a Unicode TrueType font (PDF's built-in fonts are Latin-1): DejaVu Sans
from Debian's fonts-dejavu-core by default, or the file given; no font, no PDF.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from fpdf import FPDF
from fpdf.fonts import FontFace

from streams.contract.errors import DossierWatchError
from streams.reports.figures import Report
from streams.reports.table import (
    CHART_SERIES,
    COLUMNS,
    axis_ticks,
    basis_lines,
    cell_text,
    chart_rows,
    header_groups,
    title_lines,
)

DEFAULT_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
FAMILY = "ReportSans"
UNITS_PER_CHART = 30
"""Units a chart page holds before the bars get too thin to read."""


class FontMissing(DossierWatchError):
    """No usable TrueType font for the PDF; the message says which file and what to do."""


@dataclass(frozen=True)
class Fonts:
    regular: Path
    bold: Path
    """The bold face: the regular's `-Bold` sibling when there is one, else the regular."""


def find_fonts(path: str | None = None) -> Fonts:
    """The font files to embed: `path` (a .ttf) or DejaVu Sans; FontMissing when absent."""
    regular = Path(path or DEFAULT_FONT)
    if not regular.is_file():
        hint = (
            "give --font PATH to a Unicode .ttf"
            if path
            else "install fonts-dejavu-core (apt-get install fonts-dejavu-core)"
            " or give --font PATH to a Unicode .ttf"
        )
        raise FontMissing(f"no font for the PDF: {regular} not found; {hint}")
    bold = regular.with_name(f"{regular.stem}-Bold{regular.suffix}")
    fonts = Fonts(regular, bold if bold.is_file() else regular)
    _embed(FPDF(), fonts)  # a file that is no font fails now, not after the work
    return fonts


def _embed(pdf: FPDF, fonts: Fonts) -> None:
    try:
        pdf.add_font(FAMILY, "", str(fonts.regular))
        pdf.add_font(FAMILY, "B", str(fonts.bold))
    except Exception as err:  # fontTools' many errors for a file that is no font
        raise FontMissing(f"cannot use {fonts.regular} as a font: {err}") from None


class _Document(FPDF):
    """Pages numbered in their footer."""

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(FAMILY, size=7)
        self.cell(0, 5, f"Trang / Page {self.page_no()}/{{nb}}", align="R")


def write_pdf(report: Report, out: IO[bytes], fonts: Fonts) -> None:
    pdf = _Document(orientation="L", unit="mm", format="A4")
    pdf.set_margins(10, 10, 10)
    pdf.set_auto_page_break(True, margin=14)
    _embed(pdf, fonts)
    pdf.set_title(title_lines(report)[0])
    pdf.add_page()
    _heading(pdf, report)
    _table(pdf, report)
    units = chart_rows(report)
    for first in range(0, len(units), UNITS_PER_CHART):
        pdf.add_page()
        _chart(pdf, units[first : first + UNITS_PER_CHART])
    out.write(bytes(pdf.output()))


def _heading(pdf: Any, report: Report) -> None:
    vi, en = title_lines(report)
    pdf.set_font(FAMILY, "B", 13)
    pdf.multi_cell(0, 6, vi, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 10)
    pdf.multi_cell(0, 5, en, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 8)
    for line, warning in basis_lines(report):
        pdf.set_text_color(176, 0, 32) if warning else pdf.set_text_color(0)
        pdf.multi_cell(0, 4.2, line, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)
    pdf.ln(2)


def _table(pdf: Any, report: Report) -> None:
    unit_width = 58.0
    rest = (pdf.epw - unit_width) / (len(COLUMNS) - 1)
    widths = [unit_width, *([rest] * (len(COLUMNS) - 1))]
    head = FontFace(emphasis="BOLD", fill_color=(221, 229, 240))
    pdf.set_font(FAMILY, "", 7)
    with pdf.table(
        col_widths=widths,
        width=pdf.epw,
        num_heading_rows=2,
        headings_style=head,
        text_align=("LEFT", *(["RIGHT"] * (len(COLUMNS) - 1))),
        line_height=3.4,
        padding=1,
    ) as table:
        top = table.row()
        for g in header_groups():
            text = f"{g.vi}\n{g.en}"
            if g.group:
                top.cell(text, colspan=g.span, align="CENTER")
            else:
                top.cell(text, rowspan=2, align="CENTER")
        sub = table.row()
        for g in header_groups():
            if g.group:
                for c in COLUMNS[g.first : g.first + g.span]:
                    sub.cell(f"{c.vi}\n{c.en}", align="CENTER")
        for row in report.rows:
            line = table.row()
            for c in COLUMNS:
                line.cell(cell_text(row, c.key))
        total = table.row(style=FontFace(emphasis="BOLD", fill_color=(242, 242, 242)))
        for c in COLUMNS:
            total.cell(cell_text(report.total, c.key))


def _chart(pdf: Any, units: list[tuple[str, list[tuple[str, int, str]]]]) -> None:
    """One page of the chart: clustered bars, a value axis, unit codes and a legend."""
    pdf.set_font(FAMILY, "B", 11)
    pdf.cell(0, 7, "Hồ sơ đã giải quyết theo đơn vị / Dossiers finished, by unit", new_x="LMARGIN")
    left, top, plot_h = pdf.l_margin + 14, pdf.t_margin + 16, 120.0
    plot_w = pdf.epw - 14
    base = top + plot_h
    ticks = axis_ticks(max(v for _, bars in units for _, v, _ in bars))
    scale = plot_h / ticks[-1]
    pdf.set_font(FAMILY, "", 7)
    pdf.set_draw_color(210)
    for t in ticks:
        y = base - t * scale
        pdf.line(left, y, left + plot_w, y)
        pdf.text(left - 2 - pdf.get_string_width(f"{t:,}"), y + 1, f"{t:,}")
    group = plot_w / max(len(units), 8)
    bar = group * 0.8 / len(CHART_SERIES)
    for i, (unit, bars) in enumerate(units):
        x0 = left + i * group + group * 0.1
        for j, (_, value, colour) in enumerate(bars):
            pdf.set_fill_color(*_rgb(colour))
            h = value * scale
            if h > 0:
                pdf.rect(x0 + j * bar, base - h, bar * 0.92, h, style="F")
        label = unit if len(unit) <= 18 else unit[:17] + "…"
        with pdf.rotation(40, x0 + group * 0.4, base + 3):
            pdf.text(x0 + group * 0.4 - pdf.get_string_width(label), base + 3, label)
    pdf.set_draw_color(80)
    pdf.line(left, base, left + plot_w, base)
    y = base + 32
    for j, (_, name, colour) in enumerate(CHART_SERIES):
        x = left + j * 55
        pdf.set_fill_color(*_rgb(colour))
        pdf.rect(x, y, 4, 4, style="F")
        pdf.set_font(FAMILY, "", 8)
        pdf.text(x + 6, y + 3.3, name)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[0:2], 16), int(hex_colour[2:4], 16), int(hex_colour[4:6], 16)
