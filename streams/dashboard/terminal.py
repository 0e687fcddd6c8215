"""The board and the latest alerts as terminal text, in the staff's words and colours.

`render` is pure (rows, alerts and an instant in, text out), so tests read exactly what
an operator sees.  `Screen` decides how to show it: redrawn in place on a terminal, one
compact line per refresh when the output is a pipe or a log file.  Given `names` (a
catalogue's `unit_label`), units show their names; a unit it does not name shows its code.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from itertools import islice
from typing import TextIO

from streams.contract.alerts import Alert
from streams.core.calendar import day_to_date, local_day, to_iso
from streams.dashboard.summary import NO_UNIT, TOTAL, UnitRow, totals

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
_MIN_UNIT = 8
_NUM = [max(len(vi), len(en)) for _, vi, en in COLUMNS]

Segment = tuple[str, str]
"""A run of text and its ANSI style ("" for plain)."""

Names = Callable[[str], str] | None
"""A unit code → what to show for it (its name, else the code); None: codes."""


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


def _label(unit: str, names: Names) -> str:
    if names is None or unit in (NO_UNIT, TOTAL):
        return unit
    return names(unit)


def _layout(rows: Sequence[UnitRow], label: str, width: int, names: Names) -> tuple[int, int]:
    """(unit column width, gap): two spaces between columns when the terminal is wide
    enough for the longest unit name, else one, then shorter unit names as a last resort."""
    longest = max([len(_label(r.unit, names)) for r in rows] + [len(label)])
    numbers = sum(_NUM)
    gap = 2 if longest + numbers + 2 * len(_NUM) <= width else 1
    return max(_MIN_UNIT, min(longest, width - numbers - gap * len(_NUM))), gap


def _row(
    row: UnitRow, layout: tuple[int, int], width: int, color: bool, bold: bool, names: Names = None
) -> str:
    unit_w, gap = layout
    unit = clean(_label(row.unit, names))
    if len(unit) > unit_w:
        unit = unit[: unit_w - 1] + "…"
    segs: list[Segment] = [(unit.ljust(unit_w), BOLD if bold else "")]
    for (name, _, _), w in zip(COLUMNS, _NUM, strict=True):
        n: int = getattr(row, name)
        style = _STYLE.get(name, "") if n else ""
        segs.append((" " * gap, ""))
        segs.append((f"{n:,}".rjust(w), style or (BOLD if bold else "")))
    return _line(segs, width, color)


def _header(layout: tuple[int, int], width: int) -> list[str]:
    unit_w, gap = layout
    lines = []
    for lang, unit in ((1, "Đơn vị"), (2, "Unit")):
        text = unit.ljust(unit_w) + "".join(
            " " * gap + col[lang].rjust(w) for col, w in zip(COLUMNS, _NUM, strict=True)
        )
        lines.append(_line([(text, "")], width, False))
    return lines


def alert_line(a: Alert, width: int, color: bool = False, names: Names = None) -> str:
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
        segs.append((f"  [{clean(_label(a.unit, names))}]", ""))
    if a.evidence:
        segs.append(("  " + clean(a.evidence), DIM if resolved else ""))
    return _line(segs, width, color)


def _heading(now: int, parts: list[str], width: int, color: bool) -> list[str]:
    """The title, then the status parts, wrapped between parts rather than cut."""
    lines: list[list[Segment]] = [[("DossierWatch", BOLD), ("  " + when(now), "")]]
    used = len(lines[0][0][0]) + len(lines[0][1][0])
    for part in parts:
        if used + 2 + len(part) <= width:
            lines[-1].append(("  " + part, DIM))
            used += 2 + len(part)
        else:
            lines.append([(part, DIM)])
            used = len(part)
    return [_line(segs, width, color) for segs in lines]


def render(
    rows: Sequence[UnitRow],
    alerts: Sequence[Alert],
    now: int,
    width: int,
    *,
    color: bool = False,
    status: str | Sequence[str] = (),
    max_alerts: int = 10,
    height: int | None = None,
    names: Names = None,
) -> str:
    """The board (worst units first, then the total) above the latest alerts, newest first.

    `alerts` are oldest first, as they fired.  With `height`, fewer alerts are shown so
    that everything fits in that many lines.  `status` parts go beside the title, wrapped
    onto further lines when the width runs out."""
    width = max(width, 20)
    total = totals(rows)
    layout = _layout(rows, total.unit, width, names)
    unit_w, gap = layout
    rule = "─" * min(width, unit_w + sum(_NUM) + gap * len(_NUM))
    parts = [status] if isinstance(status, str) else list(status)
    lines = _heading(now, [clean(p) for p in parts if p], width, color)
    lines += ["", *_header(layout, width), rule]
    if rows:
        lines.extend(_row(r, layout, width, color, False, names) for r in rows)
    else:
        lines.append("(không có hồ sơ đang xử lý / no open dossiers)")
    lines += [rule, _row(total, layout, width, color, True), ""]
    lines.append(_line([("Cảnh báo mới nhất / Latest alerts", BOLD)], width, color))
    shown = max_alerts if height is None else min(max_alerts, height - len(lines))
    if not alerts:
        lines.append("(chưa có / none yet)")
    # islice over reversed(): the caller's deque of recent alerts cannot be sliced.
    latest = islice(reversed(alerts), max(shown, 0))
    lines.extend(alert_line(a, width, color, names) for a in latest)
    return "\n".join(lines)


def summary_line(rows: Sequence[UnitRow], now: int, status: str | Sequence[str] = ()) -> str:
    """One line for logs: the simulated time, the centre's totals and `status`."""
    t = totals(rows)
    text = (
        f"{when(now)}  Đang xử lý/open {t.open:,}  Trong hạn/within {t.within_time:,}"
        f"  Sắp đến hạn/near-due {t.near_due:,}  Quá hạn/overdue {t.overdue:,}"
        f"  Chờ bổ sung/supplement {t.waiting_supplement:,}  Qua lại/ping-pong {t.ping_pong:,}"
    )
    parts = [status] if isinstance(status, str) else list(status)
    tail = "  ".join(clean(p) for p in parts if p)
    return f"{text}  | {tail}" if tail else text


class Screen:
    """Shows the board: in place on a terminal, else a summary line per update."""

    def __init__(
        self,
        out: TextIO,
        *,
        live: bool,
        color: bool = False,
        size: Callable[[], os.terminal_size] = shutil.get_terminal_size,
        names: Names = None,
    ) -> None:
        self.out = out
        self.names = names
        self.live = live
        self.color = color
        self.size = size
        self._drawn = False

    @classmethod
    def for_output(cls, out: TextIO, *, lines_only: bool = False, names: Names = None) -> Screen:
        """Live only on a capable terminal; colours unless NO_COLOR is set (no-color.org)."""
        tty = out.isatty() and os.environ.get("TERM", "") != "dumb"
        live = tty and not lines_only
        return cls(out, live=live, color=live and "NO_COLOR" not in os.environ, names=names)

    def update(
        self, rows: Sequence[UnitRow], alerts: Sequence[Alert], now: int, status: Sequence[str] = ()
    ) -> None:
        if not self.live:
            self.out.write(summary_line(rows, now, status) + "\n")
            self.out.flush()
            return
        cols, lines = self.size()
        # One line and one column short of the terminal: filling the last line scrolls
        # the screen, and filling the last column leaves some terminals waiting to wrap.
        text = render(
            rows,
            alerts,
            now,
            cols - 1,
            color=self.color,
            status=status,
            max_alerts=len(alerts),
            height=lines - 1,
            names=self.names,
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
