"""The board and the latest alerts as terminal text, in the staff's words and colours.

`render` is pure (rows, alerts and an instant in, text out), so tests read exactly what
an operator sees.  `Screen` decides how to show it: redrawn in place on a terminal, one
compact line per refresh when the output is a pipe or a log file.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from typing import TextIO

from streams.core.alerts import Alert
from streams.core.calendar import day_to_date, local_day, to_iso
from streams.dashboard.summary import UnitRow, totals

RESET = "\x1b[0m"
BOLD = "\x1b[1m"
DIM = "\x1b[2m"
RED = "\x1b[1;31m"
ORANGE = "\x1b[38;5;208m"  # the near-due colour staff know from their case systems
GREEN = "\x1b[32m"

HOME = "\x1b[H"
CLEAR_SCREEN = "\x1b[2J"
CLEAR_LINE = "\x1b[K"
CLEAR_BELOW = "\x1b[J"
HIDE_CURSOR = "\x1b[?25l"
SHOW_CURSOR = "\x1b[?25h"

COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("open", "Đang xử lý", "Open"),
    ("within_time", "Trong hạn", "Within time"),
    ("near_due", "Sắp đến hạn", "Near due"),
    ("overdue", "Quá hạn", "Overdue"),
    ("waiting_supplement", "Chờ bổ sung", "Supplement"),
    ("ping_pong", "Qua lại", "Ping-pong"),
)
"""(UnitRow field, Vietnamese header, English header), left to right."""

_STYLE = {"overdue": RED, "near_due": ORANGE}
_SEVERITY = {"critical": RED, "warning": ORANGE, "info": ""}
_GAP = 2
_MIN_UNIT = 8
_NUM = [max(len(vi), len(en)) for _, vi, en in COLUMNS]
_TABLE_NUMBERS = sum(_NUM) + _GAP * len(_NUM)

Segment = tuple[str, str]
"""A run of text and its ANSI style ("" for plain)."""


def clean(text: str) -> str:
    """Unit names and evidence come from events: never let them move the cursor."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else " " for ch in text)


def when(instant: int) -> str:
    """'2025-09-16 10:42 (Tue)': local time with the weekday, which explains quiet spells."""
    weekday = day_to_date(local_day(instant)).strftime("%a")
    return f"{to_iso(instant)[:16].replace('T', ' ')} ({weekday})"


def _line(segments: Sequence[Segment], width: int, color: bool) -> str:
    """Join segments, cut to `width` characters (an ellipsis marks the cut)."""
    out: list[str] = []
    room = width
    total = sum(len(text) for text, _ in segments)
    for text, style in segments:
        if room <= 0:
            break
        if total > width and len(text) >= room:
            text = text[: room - 1] + "…"
        room -= len(text)
        out.append(f"{style}{text}{RESET}" if color and style and text.strip() else text)
    return "".join(out).rstrip()


def _unit_width(rows: Sequence[UnitRow], label: str, width: int) -> int:
    longest = max([len(r.unit) for r in rows] + [len(label)])
    return max(_MIN_UNIT, min(longest, width - _TABLE_NUMBERS))


def _row(row: UnitRow, unit_w: int, color: bool, width: int, bold: bool = False) -> str:
    unit = clean(row.unit)
    if len(unit) > unit_w:
        unit = unit[: unit_w - 1] + "…"
    segs: list[Segment] = [(unit.ljust(unit_w), BOLD if bold else "")]
    for (name, _, _), w in zip(COLUMNS, _NUM, strict=True):
        n: int = getattr(row, name)
        style = _STYLE.get(name, "") if n else ""
        segs.append((" " * _GAP, ""))
        segs.append((f"{n:,}".rjust(w), style or (BOLD if bold else "")))
    return _line(segs, width, color)


def _header(unit_w: int, width: int) -> list[str]:
    vi = "Đơn vị".ljust(unit_w) + "".join(
        " " * _GAP + h.rjust(w) for (_, h, _), w in zip(COLUMNS, _NUM, strict=True)
    )
    en = "Unit".ljust(unit_w) + "".join(
        " " * _GAP + h.rjust(w) for (_, _, h), w in zip(COLUMNS, _NUM, strict=True)
    )
    return [_line([(vi, "")], width, False), _line([(en, "")], width, False)]


def alert_line(a: Alert, width: int, color: bool = False) -> str:
    """Time, severity, rule/level, dossier, unit and evidence, cut to the width."""
    resolved = a.status == "resolved"
    mark = "RESOLVED" if resolved else a.severity.upper()
    style = GREEN if resolved else _SEVERITY.get(a.severity, "")
    segs: list[Segment] = [
        (a.at[5:16].replace("T", " "), DIM),
        ("  ", ""),
        (f"{mark:<8}", style),
        ("  ", ""),
        (f"{clean(a.rule)}/{clean(a.level)}".ljust(24), ""),
        ("  ", ""),
        (clean(a.dossier), BOLD),
    ]
    if a.unit:
        segs.append((f"  [{clean(a.unit)}]", ""))
    if a.evidence:
        segs.append(("  " + clean(a.evidence), DIM if resolved else ""))
    return _line(segs, width, color)


def render(
    rows: Sequence[UnitRow],
    alerts: Sequence[Alert],
    now: int,
    width: int,
    *,
    color: bool = False,
    status: str = "",
    max_alerts: int = 10,
    height: int | None = None,
) -> str:
    """The board (worst units first, then the total) above the latest alerts, newest first.

    `alerts` are oldest first, as they fired.  With `height`, fewer alerts are shown so
    that everything fits in that many lines."""
    width = max(width, 20)
    total = totals(rows)
    unit_w = _unit_width(rows, total.unit, width)
    rule = "─" * min(width, unit_w + _TABLE_NUMBERS)
    title: list[Segment] = [("DossierWatch", BOLD), ("  " + when(now), "")]
    if status:
        title.append(("  " + clean(status), DIM))
    lines = [_line(title, width, color), "", *_header(unit_w, width), rule]
    if rows:
        lines.extend(_row(r, unit_w, color, width) for r in rows)
    else:
        lines.append("(không có hồ sơ đang xử lý / no open dossiers)")
    lines += [rule, _row(total, unit_w, color, width, bold=True), ""]
    lines.append(_line([("Cảnh báo mới nhất / Latest alerts", BOLD)], width, color))
    shown = max_alerts if height is None else min(max_alerts, height - len(lines))
    latest = list(alerts[-shown:]) if shown > 0 else []
    if not alerts:
        lines.append("(chưa có / none yet)")
    lines.extend(alert_line(a, width, color) for a in reversed(latest))
    return "\n".join(lines)


def summary_line(rows: Sequence[UnitRow], now: int, status: str = "") -> str:
    """One line for logs: the simulated time, the centre's totals and `status`."""
    t = totals(rows)
    text = (
        f"{when(now)}  Đang xử lý/open {t.open:,}  Trong hạn/within {t.within_time:,}"
        f"  Sắp đến hạn/near-due {t.near_due:,}  Quá hạn/overdue {t.overdue:,}"
        f"  Chờ bổ sung/supplement {t.waiting_supplement:,}  Qua lại/ping-pong {t.ping_pong:,}"
    )
    return f"{text}  | {clean(status)}" if status else text


class Screen:
    """Shows the board: in place on a terminal, else a summary line per update."""

    def __init__(
        self,
        out: TextIO,
        *,
        live: bool,
        color: bool = False,
        size: Callable[[], os.terminal_size] = shutil.get_terminal_size,
    ) -> None:
        self.out = out
        self.live = live
        self.color = color
        self.size = size
        self._drawn = False

    @classmethod
    def for_output(cls, out: TextIO, *, lines_only: bool = False) -> Screen:
        """Live only on a capable terminal; colours unless NO_COLOR is set (no-color.org)."""
        tty = out.isatty() and os.environ.get("TERM", "") != "dumb"
        live = tty and not lines_only
        return cls(out, live=live, color=live and "NO_COLOR" not in os.environ)

    def update(
        self, rows: Sequence[UnitRow], alerts: Sequence[Alert], now: int, status: str
    ) -> None:
        if not self.live:
            self.out.write(summary_line(rows, now, status) + "\n")
            self.out.flush()
            return
        cols, lines = self.size()
        # One line short of the terminal: writing the last line would scroll the screen.
        text = render(
            rows,
            alerts,
            now,
            cols,
            color=self.color,
            status=status,
            max_alerts=len(alerts),
            height=lines - 1,
        )
        body = text.split("\n")[: max(lines - 1, 1)]
        prefix = HOME if self._drawn else HIDE_CURSOR + CLEAR_SCREEN + HOME
        # Overwrite in place and clear leftovers: clearing first would flicker.
        self.out.write(prefix + f"{CLEAR_LINE}\n".join(body) + CLEAR_LINE + "\n" + CLEAR_BELOW)
        self.out.flush()
        self._drawn = True

    def close(self) -> None:
        if self.live and self._drawn:
            self.out.write(SHOW_CURSOR)
            self.out.flush()
