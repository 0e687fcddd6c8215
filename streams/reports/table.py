"""The report's table as every format lays it out: columns with Vietnamese headings first
and English beneath, grouped under two-level headings, and the cells' text.

The writers (xlsx, pdf, html) draw this one layout, so the three files say the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import cycle

from streams.core.calendar import to_iso
from streams.reports.figures import Report, ReportRow


@dataclass(frozen=True)
class Column:
    key: str
    """A count of the row (`streams.reports.figures.COUNTS`), `rate` or `unit`."""
    vi: str
    en: str
    group_vi: str = ""
    group_en: str = ""
    """The heading over several columns (Đã giải quyết trong kỳ…); empty: none."""


FINISHED_VI, FINISHED_EN = "Đã giải quyết trong kỳ", "Finished in the period"
OPEN_VI, OPEN_EN = "Đang giải quyết cuối kỳ", "Open at the end of the period"

COLUMNS: tuple[Column, ...] = (
    Column("unit", "Đơn vị", "Unit"),
    Column("carried_over", "Số đầu kỳ", "Open at the start"),
    Column("received", "Tiếp nhận trong kỳ", "Received"),
    Column("finished_early", "Sớm hạn", "Early", FINISHED_VI, FINISHED_EN),
    Column("finished_on_time", "Đúng hạn", "On time", FINISHED_VI, FINISHED_EN),
    Column("finished_late", "Trễ hạn", "Late", FINISHED_VI, FINISHED_EN),
    Column("open_not_due", "Chưa đến hạn", "Not yet due", OPEN_VI, OPEN_EN),
    Column("open_overdue", "Quá hạn", "Overdue", OPEN_VI, OPEN_EN),
    Column("returned", "Trả lại", "Returned"),
    Column("withdrawn", "Rút", "Withdrawn"),
    Column("rate", "Tỷ lệ đúng hạn (QĐ 766)", "On-time rate (Decision 766)"),
    Column("ping_pong", "Chuyển qua lại", "Ping-pong"),
    Column("consulted", "Xin ý kiến", "Consulted"),
)

CHART_SERIES = (
    ("finished_early", "Sớm hạn / Early", "2E7D32"),
    ("finished_on_time", "Đúng hạn / On time", "1565C0"),
    ("finished_late", "Trễ hạn / Late", "C62828"),
)
"""The chart's bars per unit: how the dossiers finished in the period finished, in green,
blue and red (RGB hex), the same in every format."""


@dataclass(frozen=True)
class Group:
    """A first-row heading: over `span` columns from `first`, or a column's own heading
    spanning both header rows (`group` False)."""

    first: int
    span: int
    vi: str
    en: str
    group: bool


def header_groups() -> Iterator[Group]:
    """The first header row: group headings over their columns, and the columns that
    have none, each spanning both rows."""
    i = 0
    while i < len(COLUMNS):
        c = COLUMNS[i]
        if not c.group_vi:
            yield Group(i, 1, c.vi, c.en, False)
            i += 1
            continue
        j = i
        while j < len(COLUMNS) and COLUMNS[j].group_vi == c.group_vi:
            j += 1
        yield Group(i, j - i, c.group_vi, c.group_en, True)
        i = j


def rate_text(rate: float | None) -> str:
    """The on-time rate as staff read it: 87,5 % (a comma, the Vietnamese decimal mark);
    a dash when the unit handled nothing."""
    if rate is None:
        return "–"
    return f"{rate * 100:.1f} %".replace(".", ",")


def cell_text(row: ReportRow, key: str) -> str:
    if key == "unit":
        return row.label
    if key == "rate":
        return rate_text(row.rate)
    return f"{row.counts[key]:,}".replace(",", ".")  # 1.234: the Vietnamese thousands mark


def title_lines(report: Report) -> tuple[str, str]:
    """The heading: what the report is, for which period, in Vietnamese then English."""
    p = report.period
    return (
        f"Báo cáo tình hình giải quyết hồ sơ thủ tục hành chính – {p.title_vi}",
        f"Report on the handling of administrative procedure dossiers – {p.title_en}",
    )


def basis_lines(report: Report) -> list[tuple[str, bool]]:
    """Where the figures come from and as of when, each line with whether it is a
    warning (the period not over in the source, workers that did not answer)."""
    p = report.period
    lines = [
        (
            f"Kỳ báo cáo / Period: {_day(p.start)} – {_day(p.end - 1)}"
            f" · Số liệu đến / Figures as of: {to_iso(report.as_of)[:16].replace('T', ' ')}",
            False,
        ),
        (f"Nguồn / Source: {report.source}", False),
    ]
    if report.as_of < p.end:
        lines.append(
            (
                "Số liệu chưa hết kỳ / The period is not over in the source:"
                " open dossiers are judged as of the time above.",
                True,
            )
        )
    if report.partial:
        lines.append(
            (
                "THIẾU SỐ LIỆU / INCOMPLETE: some workers did not answer;"
                " their dossiers are missing.",
                True,
            )
        )
    return lines


def _day(instant: int) -> str:
    iso = to_iso(instant)
    return f"{iso[8:10]}/{iso[5:7]}/{iso[0:4]}"


def axis_ticks(highest: int) -> list[int]:
    """The chart's value axis: 0 and a few round steps up to at least `highest` (1, 2
    or 5 times a power of ten), so every bar fits under the top tick."""
    step, factors = 1, cycle((2, 2.5, 2))  # 1 → 2 → 5 → 10 → 20 → 50 …
    while highest > step * 5:
        step = int(step * next(factors))
    top = max(step, -(-highest // step) * step)
    return list(range(0, top + 1, step))


def chart_rows(report: Report) -> list[tuple[str, list[tuple[str, int, str]]]]:
    """Per unit (its code: names are long for an axis), the bars Sớm / Đúng / Trễ hạn
    as (label, value, colour)."""
    return [
        (row.unit, [(name, row.counts[key], colour) for key, name, colour in CHART_SERIES])
        for row in report.rows
    ]
