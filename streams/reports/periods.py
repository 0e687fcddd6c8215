"""Reporting periods: a month (`2025-10`), a quarter (`2025-Q4`) or a year (`2025`),
as local days in the centre's time zone (Asia/Ho_Chi_Minh, +07:00, as every date in
DossierWatch is judged): [local midnight of the first day, local midnight after the last).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from streams.contract.errors import DossierWatchError
from streams.core.calendar import FIRST_YEAR, LAST_YEAR, date_to_day, day_start

_PATTERN = re.compile(r"(?P<year>\d{4})(?:-(?:(?P<month>\d{2})|[Qq](?P<quarter>[1-4])))?")

ROMAN = ("I", "II", "III", "IV")
"""Quarters as Vietnamese official documents write them: Quý IV/2025."""


MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
"""English month names, fixed (strftime's follow the process's locale)."""


class PeriodError(DossierWatchError, ValueError):
    """A period that is not YYYY-MM, YYYY-Qn or YYYY, or outside the supported years."""


@dataclass(frozen=True)
class Period:
    label: str
    """As given, normalised: `2025-10`, `2025-Q4`, `2025` (file names, the API's query)."""
    start: int
    """Local midnight starting the first day (epoch seconds)."""
    end: int
    """Local midnight after the last day: the period is [start, end)."""
    title_vi: str
    title_en: str

    @property
    def days(self) -> int:
        return (self.end - self.start) // 86400


def parse_period(text: str) -> Period:
    """The period a label names; PeriodError says what is wrong with a bad one."""
    found = _PATTERN.fullmatch(text.strip())
    if found is None:
        raise PeriodError(
            f"period must be YYYY-MM (a month), YYYY-Qn (a quarter) or YYYY (a year), got {text!r}"
        )
    year = int(found["year"])
    if not FIRST_YEAR <= year < LAST_YEAR:
        raise PeriodError(f"period {text!r}: the year must be {FIRST_YEAR}–{LAST_YEAR - 1}")
    if found["month"]:
        month = int(found["month"])
        if not 1 <= month <= 12:
            raise PeriodError(f"period {text!r}: no month {month}")
        first, after = date(year, month, 1), _next_month(year, month)
        return _period(
            f"{year}-{month:02d}",
            first,
            after,
            f"Tháng {month:02d}/{year}",
            f"{MONTHS[month - 1]} {year}",
        )
    if found["quarter"]:
        q = int(found["quarter"])
        first, after = date(year, 3 * q - 2, 1), _next_month(year, 3 * q)
        return _period(f"{year}-Q{q}", first, after, f"Quý {ROMAN[q - 1]}/{year}", f"Q{q} {year}")
    return _period(str(year), date(year, 1, 1), date(year + 1, 1, 1), f"Năm {year}", str(year))


def _next_month(year: int, month: int) -> date:
    return date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)


def _period(label: str, first: date, after: date, vi: str, en: str) -> Period:
    return Period(label, day_start(date_to_day(first)), day_start(date_to_day(after)), vi, en)


def judged_until(period: Period, now: int) -> int:
    """The instant a live source's figures for `period` are judged at: its end, or `now`
    while it runs.  PeriodError for a period that has not begun."""
    if now <= period.start:
        raise PeriodError(f"period {period.label} has not begun yet")
    return min(period.end, now)
