"""The report as one self-contained HTML file: the table (two header rows, the total row
in its footer) and an inline SVG bar chart, with its styles inline (a file opened from a
disk or attached to a mail has nowhere to load a stylesheet from).  Every text is
escaped: unit names come from catalogues and APIs."""

from __future__ import annotations

from html import escape

from streams.reports import table as layout
from streams.reports.figures import Report, ReportRow

STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 1.5rem; color: #222; }
h1 { font-size: 1.3rem; margin: 0; } h1 small { display: block; font-weight: normal;
  color: #555; font-size: 1rem; }
p.basis { margin: .2rem 0; color: #444; font-size: .9rem; } p.warn { color: #b00020; }
table { border-collapse: collapse; margin: 1rem 0; font-size: .85rem; }
th, td { border: 1px solid #999; padding: .25rem .45rem; }
th { background: #dde5f0; vertical-align: middle; } th span { display: block;
  font-weight: normal; font-style: italic; color: #444; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tfoot td { font-weight: bold; background: #f2f2f2; }
figure { margin: 1rem 0; overflow-x: auto; } figcaption { font-weight: bold; }
"""


def render_html(report: Report) -> str:
    vi, en = layout.title_lines(report)
    basis = "".join(
        f'<p class="basis{" warn" if warning else ""}">{escape(line)}</p>'
        for line, warning in layout.basis_lines(report)
    )
    return (
        '<!doctype html>\n<html lang="vi">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(vi)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{escape(vi)}<small>{escape(en)}</small></h1>\n{basis}\n"
        f"{_table(report)}\n{_chart(report)}\n</body>\n</html>\n"
    )


def _table(report: Report) -> str:
    top, sub = [], []
    for g in layout.header_groups():
        label = f"{escape(g.vi)}<span>{escape(g.en)}</span>"
        if g.group:
            top.append(f'<th colspan="{g.span}" scope="colgroup">{label}</th>')
            for c in layout.COLUMNS[g.first : g.first + g.span]:
                sub.append(f'<th scope="col">{escape(c.vi)}<span>{escape(c.en)}</span></th>')
        else:
            top.append(f'<th rowspan="2" scope="col">{label}</th>')
    body = "\n".join(_row(r) for r in report.rows)
    return (
        '<table id="report">\n<thead>\n'
        f"<tr>{''.join(top)}</tr>\n<tr>{''.join(sub)}</tr>\n</thead>\n"
        f"<tbody>\n{body}\n</tbody>\n<tfoot>\n{_row(report.total)}\n</tfoot>\n</table>"
    )


def _row(row: ReportRow) -> str:
    cells = []
    for c in layout.COLUMNS:
        text = escape(layout.cell_text(row, c.key))
        if c.key == "unit":
            cells.append(f'<td data-unit="{escape(row.unit)}">{text}</td>')
        else:
            cells.append(f'<td class="n" data-col="{c.key}">{text}</td>')
    return f"<tr>{''.join(cells)}</tr>"


BAR, GAP, PLOT_HEIGHT, LEFT, TOP, BOTTOM, LEGEND = 14, 18, 220, 56, 16, 70, 150
"""The chart's geometry in SVG units: a bar's width, the space between units, the plot's
height, the margins for the value axis, the top and the unit codes, and the width of a
legend entry."""


def _chart(report: Report) -> str:
    """Clustered bars per unit (Sớm / Đúng / Trễ hạn), a value axis with round ticks, the
    unit codes slanted beneath, and a legend; each bar titled with its figure."""
    units = layout.chart_rows(report)
    caption = "Hồ sơ đã giải quyết theo đơn vị / Dossiers finished in the period, by unit"
    if not units:
        return f"<figure><figcaption>{caption}</figcaption><p>–</p></figure>"
    group = BAR * len(layout.CHART_SERIES) + GAP
    width = max(LEFT + group * len(units) + GAP, LEFT + LEGEND * len(layout.CHART_SERIES))
    height = TOP + PLOT_HEIGHT + BOTTOM
    ticks = layout.axis_ticks(max(v for _, bars in units for _, v, _ in bars))
    scale = PLOT_HEIGHT / ticks[-1]
    base = TOP + PLOT_HEIGHT
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 24}"'
        f' viewBox="0 0 {width} {height + 24}" role="img" aria-label="{escape(caption)}"'
        ' font-family="DejaVu Sans, Arial, sans-serif" font-size="11">',
        f"<title>{escape(caption)}</title>",
    ]
    for t in ticks:
        y = base - t * scale
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{width}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{t:,}</text>'
        )
    for i, (unit, bars) in enumerate(units):
        x0 = LEFT + GAP + i * group
        for j, (name, value, colour) in enumerate(bars):
            h = value * scale
            parts.append(
                f'<rect class="bar" x="{x0 + j * BAR}" y="{base - h:.1f}" width="{BAR - 1}"'
                f' height="{h:.1f}" fill="#{colour}" data-unit="{escape(unit)}"'
                f' data-value="{value}"><title>{escape(unit)} – {escape(name)}: {value:,}'
                "</title></rect>"
            )
        cx = x0 + BAR * len(bars) / 2
        parts.append(
            f'<text x="{cx:.1f}" y="{base + 14}" text-anchor="end"'
            f' transform="rotate(-40 {cx:.1f} {base + 14})">{escape(unit)}</text>'
        )
    parts.append(f'<line x1="{LEFT}" y1="{base}" x2="{width}" y2="{base}" stroke="#555"/>')
    for j, (_, name, colour) in enumerate(layout.CHART_SERIES):
        x = LEFT + j * LEGEND
        parts.append(
            f'<rect x="{x}" y="{height + 8}" width="12" height="12" fill="#{colour}"/>'
            f'<text x="{x + 16}" y="{height + 18}">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return f"<figure><figcaption>{caption}</figcaption>\n{''.join(parts)}\n</figure>"
