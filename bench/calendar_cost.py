"""What the working calendar costs: a fresh calendar asked for 3650 working days, and
calls on days it already covers.

    .venv/bin/python bench/calendar_cost.py [--repeat 5]

(a) fresh: a new `WorkingCalendar` answers `add_working_days(2025-03-03 10:00, 3650)`,
best of `--repeat`; the first run of the process also pays for working out the national
holidays of the years reached (cached per process), and is shown apart.  (b) warm: each
public operation on a calendar already covering the days it needs, per call.  Also shown:
a fresh calendar covering all 301 supported years (the most an outsider's dates can make
one compute) and a fresh calendar refusing 99,999 working days.
Targets (the issue): (a) ≤ 100 ms; (b) ≤ 10 µs per call.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from benchlib import best_of, emit, environment, table

from streams.core.calendar import (
    DAY,
    END_DAY,
    FIRST_DAY,
    CalendarRangeError,
    WorkingCalendar,
    local_day,
    to_instant,
    to_iso,
)

TARGET_FRESH_MS = 100.0
TARGET_WARM_US = 10.0
START = to_instant(datetime(2025, 3, 3, 10, tzinfo=timezone(timedelta(hours=7))))


def per_call_us(call: Callable[[], object], repeat: int, n: int = 20_000) -> float:
    """Best of `repeat` loops of `n` calls, in microseconds per call."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(n):
            call()
        best = min(best, time.perf_counter() - started)
    return best / n * 1e6


def fresh_run() -> Callable[[], int]:
    cal = WorkingCalendar()
    return lambda: cal.add_working_days(START, 3650)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    gc.collect()
    started = time.perf_counter()
    due = fresh_run()()
    cold_ms = (time.perf_counter() - started) * 1e3
    best, _, _ = best_of(fresh_run, args.repeat)
    fresh_ms = best * 1e3

    def whole_range() -> Callable[[], int]:
        cal = WorkingCalendar()
        return lambda: cal.working_days_between(FIRST_DAY, END_DAY)

    whole_ms = best_of(whole_range, 1)[0] * 1e3

    def refusal() -> Callable[[], None]:
        cal = WorkingCalendar()

        def run() -> None:
            try:
                cal.add_working_days(START, 99_999)
            except CalendarRangeError:
                return
            raise AssertionError("99,999 working days were not refused")

        return run

    refuse_us = best_of(refusal, args.repeat)[0] * 1e6

    cal = WorkingCalendar()
    cal.add_working_days(START, 3650)  # covers 2024–2041
    day = local_day(START)
    warm: dict[str, Callable[[], object]] = {
        "add_working_days(t, 10)": lambda: cal.add_working_days(START, 10),
        "add_working_days(t, 3650)": lambda: cal.add_working_days(START, 3650),
        "add_calendar_days(t, 30)": lambda: cal.add_calendar_days(START, 30),
        "is_working_day(day)": lambda: cal.is_working_day(day),
        "working_days_between(day, day + 3650)": lambda: cal.working_days_between(day, day + 3650),
        "previous_working_day(day)": lambda: cal.previous_working_day(day),
        "working_seconds_between(t, t + 30 d)": lambda: cal.working_seconds_between(
            START, START + 30 * DAY
        ),
        "add_working_seconds(t, 5 d)": lambda: cal.add_working_seconds(START, 5 * DAY),
        "add_working_hours(t, 8 h)": lambda: cal.add_working_hours(START, 8 * 3600),
        "add_working_hours(t, 20,000 h)": lambda: cal.add_working_hours(START, 20_000 * 3600),
        "working_hours_between(t, t + 10 y)": lambda: cal.working_hours_between(
            START, START + 3650 * DAY
        ),
        "next_working_instant(Fri 18:00)": lambda: cal.next_working_instant(
            START + 4 * DAY + 8 * 3600
        ),
        "start_of_next_working_day(t)": lambda: cal.start_of_next_working_day(START),
        "end_of_office_hours(t)": lambda: cal.end_of_office_hours(START),
    }
    warm_us = {name: per_call_us(call, args.repeat) for name, call in warm.items()}

    print(
        table(
            ["fresh calendar", "ms"],
            [
                ("add_working_days(t, 3650), first in process", cold_ms),
                (f"add_working_days(t, 3650), best of {args.repeat}", fresh_ms),
                ("all 301 years covered", whole_ms),
                ("add_working_days(t, 99,999) refused", refuse_us / 1e3),
            ],
        )
    )
    print()
    print(table(["warm call", "µs"], list(warm_us.items())))
    slowest = max(warm_us.values())
    meets_fresh = fresh_ms <= TARGET_FRESH_MS
    meets_warm = slowest <= TARGET_WARM_US
    print(
        f"\ntarget: fresh 3650 working days ≤ {TARGET_FRESH_MS:.0f} ms:"
        f" {'MET' if meets_fresh else 'NOT MET'} ({fresh_ms:.1f} ms; due {to_iso(due)})"
    )
    print(
        f"target: warm call ≤ {TARGET_WARM_US:.0f} µs:"
        f" {'MET' if meets_warm else 'NOT MET'} (slowest {slowest:.2f} µs)"
    )
    emit(
        {
            "bench": "calendar_cost",
            "fresh_3650_wd_ms": round(fresh_ms, 2),
            "fresh_3650_wd_first_ms": round(cold_ms, 2),
            "whole_range_ms": round(whole_ms, 1),
            "refuse_99999_wd_us": round(refuse_us, 1),
            "warm_us": {k: round(v, 3) for k, v in warm_us.items()},
            "target_fresh_ms": TARGET_FRESH_MS,
            "target_warm_us": TARGET_WARM_US,
            "meets_target": meets_fresh and meets_warm,
            **environment(),
        }
    )


if __name__ == "__main__":
    main()
