"""The per-unit board (Trong hạn / Sắp đến hạn / Quá hạn) and its terminal rendering."""

from __future__ import annotations

import io
import os

from helpers.story import Story, at

from streams.contract.alerts import Alert
from streams.core.detectors.deadline import levels
from streams.core.dossier import FINISHED
from streams.core.engine import Engine
from streams.dashboard.summary import TOTAL, UnitRow, totals, unit_board
from streams.dashboard.terminal import ORANGE, RED, Screen, render, summary_line
from streams.metrics import OpenDossierCollector
from streams.policy import builtin_book

NOW = at("2025-09-15T09:00")  # Monday


def _engine() -> Engine:
    """Six dossiers, one of each kind, in three units."""
    stories = [
        Story("NEAR").received("2025-09-08T09:00", unit="DEPT_A"),  # 75% point: 12/9 14:15
        Story("WITHIN").received("2025-09-12T09:00", unit="DEPT_A"),
        Story("BOUNCED")
        .received("2025-09-12T09:00")
        .transfer("2025-09-12T09:30", "DEPT_A", "ONE_STOP")
        .transfer("2025-09-12T10:00", "DEPT_B", "DEPT_A")
        .back("2025-09-12T11:00", "DEPT_A", "DEPT_B"),
        Story("OVERDUE").received("2025-09-03T09:00", unit="DEPT_B"),  # due 11/9 00:00
        Story("WAITING").received("2025-09-12T09:00", unit="DEPT_B").supplement("2025-09-12T10:00"),
        Story("OTHER").received("2025-09-12T09:00", unit="DEPT_C"),
        Story("DONE").received("2025-09-12T09:00", unit="DEPT_C").complete("2025-09-12T11:00"),
    ]
    engine = Engine(builtin_book())
    for s in stories:
        engine.drain(s.events)
    return engine


def test_fixture_sits_where_the_board_tests_assume() -> None:
    """NEAR is past its first warning but not due, OVERDUE past due, BOUNCED bounced once."""
    engine = _engine()
    d = engine.dossiers
    near = d["NEAR"]
    assert near.due is not None and levels(near, engine.book[near.policy])[0][0] < NOW < near.due
    assert d["OVERDUE"].due is not None and d["OVERDUE"].due < NOW
    bounced = d["BOUNCED"].x
    assert bounced is not None and bounced.unit_bounces == 1
    assert d["DONE"].status in FINISHED


def test_unit_board_counts_each_standing_per_unit() -> None:
    """Each open dossier is counted once in its current unit's row, worst unit first."""
    engine = _engine()
    rows = unit_board(engine.dossiers.values(), engine.book, NOW)
    assert rows == [
        UnitRow("DEPT_B", open=1, overdue=1, waiting_supplement=1),
        UnitRow("DEPT_A", open=3, within_time=2, near_due=1, ping_pong=1),
        UnitRow("DEPT_C", open=1, within_time=1),
    ]


def test_board_moves_with_the_clock() -> None:
    """Read a day later, with no new event, the near-due dossier has become overdue."""
    engine = _engine()
    rows = unit_board(engine.dossiers.values(), engine.book, at("2025-09-16T12:00"))
    assert rows[0] == UnitRow("DEPT_A", open=3, within_time=2, overdue=1, ping_pong=1)
    t = totals(rows)
    assert (t.open, t.within_time, t.near_due, t.overdue) == (5, 3, 0, 2)


def test_board_orders_by_overdue_then_near_due_then_name() -> None:
    """Units sort by overdue descending, then near-due descending, then name."""
    engine = Engine(builtin_book())
    for n, (unit, received) in enumerate(
        [
            ("Z_WITHIN", "2025-09-12T09:00"),
            ("Y_NEAR", "2025-09-08T09:00"),
            ("Y_NEAR", "2025-09-12T09:00"),
            ("X_NEAR", "2025-09-08T09:00"),
            ("W_NEAR2", "2025-09-08T09:00"),
            ("W_NEAR2", "2025-09-08T10:00"),
            ("V_OVERDUE", "2025-09-03T09:00"),
        ]
    ):
        engine.drain(Story(f"HS-{n}").received(received, unit=unit).events)
    rows = unit_board(engine.dossiers.values(), engine.book, NOW)
    assert [r.unit for r in rows] == ["V_OVERDUE", "W_NEAR2", "X_NEAR", "Y_NEAR", "Z_WITHIN"]


def test_totals_sum_every_column() -> None:
    """The totals row adds up every column under the bilingual label."""
    rows = [UnitRow("A", 3, 2, 1, 0, 4, 1), UnitRow("B", 2, 0, 0, 2, 1, 2)]
    assert totals(rows) == UnitRow(TOTAL, 5, 2, 1, 2, 5, 3)


def test_board_agrees_with_the_prometheus_gauges() -> None:
    """Open, near-due, overdue and waiting counts per unit equal OpenDossierCollector's."""
    engine = _engine()
    rows = {r.unit: r for r in unit_board(engine.dossiers.values(), engine.book, NOW)}
    collector = OpenDossierCollector(lambda: engine.dossiers.values(), engine.book, lambda: NOW)
    gauges = {
        f.name: {s.labels["unit"]: s.value for s in f.samples}
        for f in collector.collect()
        if f.name != "dossierwatch_oldest_overdue_seconds"
    }
    for name, field in (
        ("dossierwatch_open_dossiers", "open"),
        ("dossierwatch_at_risk_dossiers", "near_due"),
        ("dossierwatch_overdue_dossiers", "overdue"),
        ("dossierwatch_waiting_supplement_dossiers", "waiting_supplement"),
    ):
        board = {u: getattr(r, field) for u, r in rows.items() if getattr(r, field)}
        assert gauges[name] == board, name


# -- rendering -------------------------------------------------------------------------


def _alert(n: int, severity: str = "critical", evidence: str = "x" * 200) -> Alert:
    return Alert(
        id=f"HS-{n}/deadline/overdue/0",
        status="firing",
        rule="deadline",
        level="overdue",
        severity=severity,  # type: ignore[arg-type]
        dossier=f"HS-{n}",
        at=f"2025-09-15T08:{n:02d}:00+07:00",
        unit="DEPT_B",
        evidence=evidence,
    )


ROWS = [
    UnitRow("DEPT_B", open=1, overdue=1, waiting_supplement=1),
    UnitRow("DEPT_A", open=3, within_time=2, near_due=1, ping_pong=1),
]


def test_render_speaks_the_staff_vocabulary_in_both_languages() -> None:
    """Headers read Đang xử lý / Trong hạn / Sắp đến hạn / Quá hạn above their English."""
    text = render(ROWS, [], NOW, 100)
    for words in (
        "Đơn vị",
        "Đang xử lý",
        "Trong hạn",
        "Sắp đến hạn",
        "Quá hạn",
        "Chờ bổ sung",
        "Open",
        "Within time",
        "Near due",
        "Overdue",
        "Ping-pong",
        "Tổng / Total",
        "Cảnh báo mới nhất / Latest alerts",
        "2025-09-15 09:00 (Mon)",
    ):
        assert words in text, words


def test_render_has_no_escape_codes_unless_colour_is_asked_for() -> None:
    """Plain text by default; with colour, overdue counts are red and near-due orange."""
    plain = render(ROWS, [_alert(1), _alert(2, "warning")], NOW, 100)
    assert "\x1b" not in plain
    coloured = render(ROWS, [_alert(1), _alert(2, "warning")], NOW, 100, color=True)
    assert f"{RED}      1" in coloured  # DEPT_B's overdue count
    assert f"{ORANGE}          1" in coloured  # DEPT_A's near-due count
    assert f"{RED}CRITICAL" in coloured and f"{ORANGE}WARNING" in coloured


def test_zero_counts_are_never_coloured() -> None:
    """A unit with nothing overdue shows a plain 0, so red always means a real breach."""
    text = render([UnitRow("DEPT_C", open=1, within_time=1)], [], NOW, 100, color=True)
    assert RED not in text and ORANGE not in text


def test_render_fits_the_width_and_shows_the_latest_alerts_first() -> None:
    """No line exceeds the width; the newest alerts come first, cut with an ellipsis."""
    alerts = [_alert(n) for n in range(1, 8)]
    for width in (60, 80, 120):
        lines = render(ROWS, alerts, NOW, width, max_alerts=3).split("\n")
        assert max(len(line) for line in lines) <= width
        shown = [line for line in lines if "deadline/overdue" in line]
        assert [line.split()[4] for line in shown] == ["HS-7", "HS-6", "HS-5"]
        assert all(line.endswith("…") for line in shown)


def test_render_fits_the_height() -> None:
    """Given a height, fewer alerts are shown so that the whole board fits."""
    alerts = [_alert(n) for n in range(1, 30)]
    text = render(ROWS, alerts, NOW, 100, max_alerts=len(alerts), height=20)
    assert len(text.split("\n")) == 20


def test_text_from_events_cannot_move_the_cursor() -> None:
    """Control characters in unit names and evidence are blanked before they are drawn."""
    evil = "DEPT\x1b[2J"
    text = render(
        [UnitRow(evil, open=1, within_time=1)], [_alert(1, evidence="a\nb\x1b[H")], NOW, 100
    )
    assert "\x1b" not in text
    assert "a b [H" in text


def test_summary_line_carries_the_totals() -> None:
    """The non-terminal line shows the simulated time, the totals and the status parts."""
    line = summary_line(ROWS, NOW, ["events 12", "alerts 3"])
    assert "\n" not in line
    assert line.startswith("2025-09-15 09:00 (Mon)")
    assert "Đang xử lý/open 4" in line and "Quá hạn/overdue 1" in line
    assert "Sắp đến hạn/near-due 1" in line and line.endswith("| events 12  alerts 3")


def test_screen_prints_lines_when_not_live_and_redraws_in_place_when_live() -> None:
    """Off a terminal one line per update; on one, home + overwrite, clear, cursor hidden."""
    out = io.StringIO()
    lines = Screen(out, live=False)
    lines.update(ROWS, [], NOW, ["events 1"])
    lines.update(ROWS, [], NOW, ["events 2"])
    assert out.getvalue().count("\n") == 2 and "\x1b" not in out.getvalue()

    out = io.StringIO()
    live = Screen(out, live=True, size=lambda: os.terminal_size((100, 30)))
    live.update(ROWS, [_alert(1)], NOW, ["events 1"])
    live.update(ROWS, [_alert(1)], NOW, ["events 2"])
    live.close()
    first, second = out.getvalue().split("\x1b[J")[:2]
    assert first.startswith("\x1b[?25l\x1b[2J\x1b[H")
    assert second.startswith("\x1b[H") and "events 2" in second
    assert out.getvalue().endswith("\x1b[?25h")


def test_screen_is_not_live_on_a_pipe() -> None:
    """A StringIO (like a pipe or a log file) gets summary lines, never escape codes."""
    screen = Screen.for_output(io.StringIO())
    assert not screen.live and not screen.color
