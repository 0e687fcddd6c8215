"""`dossierwatch report` over a log: the figures of a scripted month, the three files, the
balance of every row and across months, and bad input."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from helpers.random_stories import merged, story
from helpers.report_story import HAND_COUNTED, october, write_events, write_log
from helpers.story import Story, at
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from streams import cli
from streams.catalog import load_catalog
from streams.policy import builtin_book
from streams.replay.period import replay_period
from streams.reports.figures import COUNTS, PERIOD_COLUMNS, build_report
from streams.reports.html import render_html
from streams.reports.pdf import find_fonts, write_pdf
from streams.reports.periods import PeriodError, parse_period

SAMPLE_UNITS = Path(__file__).resolve().parents[2] / "docs" / "examples" / "catalog" / "units.csv"
OUTFLOW = [k for k in PERIOD_COLUMNS if k not in ("carried_over", "received")]

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Run:
    """`dossierwatch ARGS…` in-process, in a scratch directory (where a report written
    by default lands): (exit code, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)

    def go(*argv: str) -> tuple[int, str, str]:
        try:
            code = cli.main(list(argv))
        except SystemExit as exit_:  # argparse's usage errors
            code = int(exit_.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return go


def test_a_scripted_month_gives_the_hand_counted_figures(tmp_path: Path) -> None:
    """October per unit: carried over, received, Sớm/Đúng/Trễ hạn, open at the end (a
    dossier finished or moved in November counted as it stood on 31 October), returned,
    withdrawn, the 766 inputs, ping-pong and consultations."""
    log = write_log(tmp_path / "october.jsonl", october())
    period = parse_period("2025-10")
    found = replay_period(log, period.start, period.end, book=builtin_book())
    assert found.counts == HAND_COUNTED
    assert found.as_of == period.end  # the log runs into November


def test_the_workbook_has_its_rows_a_total_that_sums_them_and_a_native_chart(
    tmp_path: Path, run: Run
) -> None:
    """The xlsx opens with openpyxl: Vietnamese headings over English ones, a row per unit
    named from the catalogue, the total row equal to the sum of the unit rows, the 766
    rate as a percentage, and a bar chart of three series (Sớm, Đúng, Trễ hạn)."""
    stories = [*october(), Story("NAMED").received("2025-10-01T09:00", unit="DEPT_JUSTICE")]
    log = write_log(tmp_path / "october.jsonl", stories)
    out = tmp_path / "r.xlsx"
    code, said, err = run(
        "report", log, "--period", "2025-10", "--output", str(out), "--catalog", str(SAMPLE_UNITS)
    )
    assert code == 0, err
    assert str(out) in said
    ws = openpyxl.load_workbook(out).active
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    header = next(i for i, r in enumerate(rows) if r[0] and str(r[0]).startswith("Đơn vị"))
    assert rows[header][1] == "Số đầu kỳ\nOpen at the start"
    assert rows[header][3].startswith("Đã giải quyết trong kỳ\n")
    assert rows[header + 1][3:6] == ["Sớm hạn\nEarly", "Đúng hạn\nOn time", "Trễ hạn\nLate"]
    body = rows[header + 2 :]
    units, total = body[:-1], body[-1]
    assert total[0] == "Tổng / Total"
    name = load_catalog([str(SAMPLE_UNITS)]).unit_name("DEPT_JUSTICE")
    assert [u[0] for u in units] == ["A", "B", f"{name} (DEPT_JUSTICE)"]
    assert units[0][1:10] == [HAND_COUNTED["A"][k] for k in PERIOD_COLUMNS]
    for col in (*range(1, 10), 11, 12):  # every count column, not the rate
        assert total[col] == sum(u[col] for u in units)
    assert units[0][10] == pytest.approx(5 / 8, abs=1e-4)
    # NAMED (5 working days from 1 October) is overdue at the end: handled, not on time.
    assert total[10] == pytest.approx((5 + 2 + 0) / (8 + 2 + 1), abs=1e-4)
    assert ws.cell(row=header + 3, column=11).number_format == "0.0%"
    (chart,) = ws._charts
    assert len(chart.series) == 3
    assert [s.tx.v for s in chart.series] == [
        "Sớm hạn / Early",
        "Đúng hạn / On time",
        "Trễ hạn / Late",
    ]


def fake_report(units: int) -> Any:
    counts = {
        f"U{i:03d}": {k: (i * 7 + j) % 13 for j, k in enumerate(COUNTS)} for i in range(units)
    }
    for row in counts.values():  # a consistent row: on time never above handled
        row["handled_on_time"] = min(row["handled_on_time"], row["handled"])
    period = parse_period("2025-10")
    return build_report(counts, period, period.end, source="test")


def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b(?!s)", data))


def test_the_pdf_has_a_table_page_and_a_chart_page_and_grows_with_the_units(
    tmp_path: Path, run: Run
) -> None:
    """A PDF (%PDF) in DejaVu Sans: a small report is one table page and one chart page;
    eighty units need more table pages and a chart page per thirty units."""
    log = write_log(tmp_path / "october.jsonl", october())
    out = tmp_path / "r.pdf"
    code, _, err = run(
        "report", log, "--period", "2025-10", "--format", "pdf", "--output", str(out)
    )
    assert code == 0, err
    small = out.read_bytes()
    assert small.startswith(b"%PDF-") and b"DejaVuSans" in small
    assert pdf_pages(small) == 2
    big = tmp_path / "big.pdf"
    with big.open("wb") as f:
        write_pdf(fake_report(80), f, find_fonts())
    pages = pdf_pages(big.read_bytes())
    assert pages >= 2 + 3  # the table over at least two pages, the chart over three


class _Page(HTMLParser):
    """What the test reads back from the HTML: cells by row, the bars, the svg."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.bars: list[dict[str, str | None]] = []
        self.svg = 0
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag == "td":
            self._cell = []
        elif tag == "svg":
            self.svg += 1
        elif tag == "rect" and ("class", "bar") in attrs:
            self.bars.append(dict(attrs))

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_the_html_has_the_table_and_an_inline_svg_chart(tmp_path: Path, run: Run) -> None:
    """One HTML file: the table's rows and total (Vietnamese number marks), and an inline
    SVG with three bars per unit whose values are the row's Sớm, Đúng, Trễ hạn."""
    log = write_log(tmp_path / "october.jsonl", october())
    out = tmp_path / "r.html"
    code, _, err = run("report", log, "--period", "2025-10", "--output", str(out))
    assert code == 0, err  # the format from the output's extension
    page = _Page()
    page.feed(out.read_text(encoding="utf-8"))
    cells = [r for r in page.rows if r]
    assert [r[0] for r in cells] == ["A", "B", "Tổng / Total"]
    assert cells[0][1:10] == [str(HAND_COUNTED["A"][k]) for k in PERIOD_COLUMNS]
    assert cells[0][10] == "62,5 %"
    assert page.svg == 1
    values = [(b["data-unit"], int(b["data-value"] or 0)) for b in page.bars]
    a = HAND_COUNTED["A"]
    assert values[:3] == [
        ("A", a["finished_early"]),
        ("A", a["finished_on_time"]),
        ("A", a["finished_late"]),
    ]
    assert len(values) == 3 * 2


def test_html_escapes_names_from_the_sources() -> None:
    """A unit name holding markup is shown as text, never as markup."""
    period = parse_period("2025-10")
    counts = {"X": dict.fromkeys(COUNTS, 1)}
    report = build_report(
        counts, period, period.end, source="<api>", names={"X": "<script>alert(1)</script>"}
    )
    text = render_html(report)
    assert "<script>" not in text and "&lt;script&gt;" in text and "&lt;api&gt;" in text


@pytest.mark.parametrize(
    ("label", "first", "after"),
    [
        ("2025-10", "2025-10-01T00:00", "2025-11-01T00:00"),
        ("2025-12", "2025-12-01T00:00", "2026-01-01T00:00"),
        ("2025-Q4", "2025-10-01T00:00", "2026-01-01T00:00"),
        ("2024-q1", "2024-01-01T00:00", "2024-04-01T00:00"),
        ("2025", "2025-01-01T00:00", "2026-01-01T00:00"),
    ],
)
def test_periods_are_local_days(label: str, first: str, after: str) -> None:
    """A month, a quarter or a year runs from local midnight (+07:00) of its first day to
    local midnight after its last."""
    p = parse_period(label)
    assert (p.start, p.end) == (at(first), at(after))


@pytest.mark.parametrize("bad", ["2025-13", "2025-00", "2025-Q5", "25-10", "2025/10", "1800", ""])
def test_bad_periods_are_refused(bad: str) -> None:
    """Not a month, quarter or year (or out of the calendar's years): PeriodError."""
    with pytest.raises(PeriodError):
        parse_period(bad)


periods = st.sampled_from(["2025-09", "2025-10"])


SUPPLEMENT_ACROSS_MONTHS = [
    # Asked for documents on 25 September that never come: closed in October.
    (False, "5wd", 20 * 86400, [(("supplement_requested", None), 4 * 86400, False)]),
    (False, "30d", 20 * 86400, [(("transferred", "A"), 4 * 86400, False)] * 7),  # to 19 October
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=st.lists(story, min_size=1, max_size=12))
@example(specs=SUPPLEMENT_ACROSS_MONTHS)
def test_rows_balance_and_each_month_opens_with_the_last_ones_close(specs: list[Any]) -> None:
    """For any stories: in every unit row, Số đầu kỳ + Tiếp nhận = finished + returned +
    withdrawn + open at the end; and October opens with what September closed with."""
    with tempfile.TemporaryDirectory() as folder:
        log = write_events(Path(folder) / "log.jsonl", merged(specs))
        book = builtin_book()
        months = []
        for label in ("2025-09", "2025-10"):
            p = parse_period(label)
            months.append(replay_period(log, p.start, p.end, book=book))
    for month in months:
        for row in month.counts.values():
            assert row["carried_over"] + row["received"] == sum(row[k] for k in OUTFLOW)
    september, october_ = (m.counts.values() for m in months)
    closed = sum(r["open_not_due"] + r["open_overdue"] for r in september)
    opened = sum(r["carried_over"] for r in october_)
    if months[0].as_of == parse_period("2025-09").end:  # the log ran past September
        assert opened == closed


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--period", "2025-13"], "--period: period '2025-13': no month 13"),
        (["--period", "2025-10", "--format", "docx"], "argument --format"),
        (["--period", "2025-10", "--output", "r.docx"], "cannot tell the format from 'r.docx'"),
        (["--period", "2025-10", "--font", "/nonexistent.ttf", "--format", "pdf"], "no font"),
        (["--period", "2025-10", "--font", __file__, "--format", "pdf"], "as a font"),
        (["--period", "2025-10", "--api", "http://127.0.0.1:9"], "not both"),
        (["--period", "2025-12"], "outside the period 2025-12"),
        (["--period", "2025-10", "--log-format", "xes"], "october.jsonl"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, run: Run, args: list[str], said: str
) -> None:
    """A bad period, format, output name, font, source or log: exit 2, the last line of
    stderr says what is wrong, and no report is written."""
    log = write_log(tmp_path / "october.jsonl", october()[:8])
    code, out, err = run("report", log, *args)
    assert code == 2
    assert said in err.strip().splitlines()[-1]
    assert not out and not list(tmp_path.glob("report-*"))


def test_a_missing_log_or_no_source_is_one_line(tmp_path: Path, run: Run) -> None:
    """An unreadable log, or neither a log nor --api: one line on stderr, exit 2."""
    code, _, err = run("report", str(tmp_path / "absent.jsonl"), "--period", "2025-10")
    assert code == 2 and len(err.splitlines()) == 1 and "absent.jsonl" in err
    code, _, err = run("report", "--period", "2025-10")
    assert code == 2 and len(err.splitlines()) == 1 and "--api" in err
