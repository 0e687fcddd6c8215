"""Working-day and working-hour arithmetic in Viet Nam's civil-service calendar.

Instants are integer seconds since the Unix epoch (UTC).  Dates are local
(Asia/Ho_Chi_Minh, UTC+07:00 with no daylight saving since 1975, so a fixed offset
is exact).  The legal counting rules (Civil Code arts 147–148):

* a limit in days counts from the day after the event, so N working days end at
  24:00 of the Nth working day after the day of receipt;
* a due date on a day off rolls to 24:00 of the next working day.

"Working-day time" weighs every working day as a whole 24 hours, which is what a limit
in days measures; "working hours" follow the unit's office hours, which is what the
8-working-hour online acceptance rule measures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from streams.core import holidays

LOCAL_OFFSET = 7 * 3600
DAY = 86400
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

Span = tuple[int, int]
"""Seconds after local midnight: (start, end) of one stretch of office hours."""

DEFAULT_HOURS: tuple[Span, ...] = ((7 * 3600 + 1800, 11 * 3600 + 1800), (13 * 3600, 17 * 3600))


def local_day(instant: int) -> int:
    """Days since 1970-01-01 of the local date of `instant`."""
    return (instant + LOCAL_OFFSET) // DAY


def day_start(day: int) -> int:
    """The instant of local midnight starting `day`."""
    return day * DAY - LOCAL_OFFSET


def day_to_date(day: int) -> date:
    return date.fromordinal(day + _EPOCH_ORDINAL)


def date_to_day(d: date) -> int:
    return d.toordinal() - _EPOCH_ORDINAL


def to_instant(dt: datetime) -> int:
    """An aware datetime as integer epoch seconds (sub-second precision is dropped)."""
    if dt.tzinfo is None:
        raise ValueError(f"naive datetime {dt.isoformat()}: a time zone offset is required")
    return int(dt.timestamp())


_ISO_DAYS: dict[int, str] = {}
_ISO: dict[int, str] = {}
"""Recent instants already formatted: alerts repeat a few (due dates at 24:00, the instant
a timer fired, the event's own time) several times each."""


def to_iso(instant: int) -> str:
    """Local ISO-8601 with the +07:00 offset, as staff read it."""
    text = _ISO.get(instant)
    if text is None:
        if len(_ISO) >= 16384:
            _ISO.clear()
        text = _ISO[instant] = _format_iso(instant)
    return text


def _format_iso(instant: int) -> str:
    day, seconds = divmod(instant + LOCAL_OFFSET, DAY)
    prefix = _ISO_DAYS.get(day)
    if prefix is None:
        if len(_ISO_DAYS) > 4096:  # a replay walks forward through the days
            _ISO_DAYS.clear()
        prefix = _ISO_DAYS[day] = day_to_date(day).isoformat() + "T"
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{prefix}{hours:02d}:{minutes:02d}:{seconds:02d}+07:00"


def parse_clock(text: str) -> int:
    """'15:00' → seconds after midnight."""
    hours, _, minutes = text.partition(":")
    value = int(hours) * 3600 + int(minutes or 0) * 60
    if not (0 <= value <= DAY) or not minutes:
        raise ValueError(f"not a time of day (HH:MM): {text!r}")
    return value


@dataclass(frozen=True)
class CalendarSpec:
    """What makes one unit's calendar: the national days off plus local changes."""

    weekly_hours: Mapping[int, tuple[Span, ...]] = field(
        default_factory=lambda: {wd: DEFAULT_HOURS for wd in range(5)}
    )
    """Office hours per weekday (0 = Monday).  A weekday with hours but off by law
    (e.g. Saturday-morning reception) has hours without being a working *day*."""
    extra_days_off: frozenset[date] = frozenset()
    extra_working_days: frozenset[date] = frozenset()
    national_holidays: bool = True


class WorkingCalendar:
    """Working days and hours for one unit; precomputed per year on first use.

    Day operations are O(1): over the covered years, `_cum[i]` counts the working days
    before day `base + i` and `_working` lists them in order, so "the nth working day
    after" and "working days between" are an index and a subtraction, and a deadline
    across the years of a replay costs the same as one tomorrow.
    """

    def __init__(self, spec: CalendarSpec | None = None) -> None:
        self.spec = spec or CalendarSpec()
        self._years: set[int] = set()
        self._working: list[int] = []  # local day numbers of the working days, in order
        self._cum: list[int] = [0]  # working days in [base, base + i)
        self._base = 0  # the first covered local day
        self._lo = self._hi = 0  # local days [lo, hi) are covered, with a year's margin

    # -- days ---------------------------------------------------------------------

    def _ensure(self, day: int) -> None:
        if self._lo <= day < self._hi:
            return
        year = day_to_date(day).year
        years = {year - 1, year, year + 1}
        if self._years:  # keep the covered years contiguous, so one range test suffices
            years |= set(range(min(*self._years, year - 1), max(*self._years, year + 1) + 1))
        self._years |= years
        first, last = min(self._years), max(self._years)
        self._base = date_to_day(date(first, 1, 1))
        flags = [self._is_working(d) for d in _dates(date(first, 1, 1), date(last + 1, 1, 1))]
        cum = [0]
        for working in flags:
            cum.append(cum[-1] + working)
        self._cum = cum
        self._working = [self._base + i for i, working in enumerate(flags) if working]
        self._lo = date_to_day(date(first + 1, 1, 1))
        self._hi = date_to_day(date(last, 1, 1))

    def _is_working(self, d: date) -> bool:
        spec = self.spec
        if d in spec.extra_working_days:
            return True
        if d in spec.extra_days_off:
            return False
        if not spec.national_holidays:
            return d.weekday() < 5
        national = holidays.days_off(d.year)
        return (d.weekday() < 5 and d not in national.days_off) or d in national.makeup_saturdays

    def is_working_day(self, d: date | int) -> bool:
        day = d if isinstance(d, int) else date_to_day(d)
        if not self._lo <= day < self._hi:
            self._ensure(day)
        i = day - self._base
        return self._cum[i + 1] != self._cum[i]

    def nth_working_day_after(self, day: int, n: int) -> int:
        """The local day that is the nth working day strictly after `day` (n ≥ 1)."""
        if n < 1:
            raise ValueError("n must be at least 1")
        if not self._lo <= day < self._hi:
            self._ensure(day)
        idx = self._cum[day - self._base + 1] + n - 1
        while idx >= len(self._working) - 260:  # keep a year's margin after the answer
            self._ensure(self._working[-1] + 366)
            idx = self._cum[day - self._base + 1] + n - 1
        return self._working[idx]

    def working_days_between(self, first: int, last: int) -> int:
        """How many working days lie in the local days [first, last)."""
        if last <= first:
            return 0
        self._ensure(first)
        self._ensure(last)
        return self._cum[last - self._base] - self._cum[first - self._base]

    def previous_working_day(self, day: int) -> int:
        """The last working day strictly before `day`."""
        self._ensure(day)
        idx = self._cum[day - self._base] - 1
        while idx < 260:  # keep a year's margin before the answer
            self._ensure(self._working[0] - 366)
            idx = self._cum[day - self._base] - 1
        return self._working[idx]

    # -- limits in days -------------------------------------------------------------

    def add_working_days(self, instant: int, n: int) -> int:
        """24:00 of the nth working day after the local day of `instant` (art 147)."""
        if n <= 0:
            return self.roll_to_working_end(instant)
        return day_start(self.nth_working_day_after(local_day(instant), n) + 1)

    def add_calendar_days(self, instant: int, n: int) -> int:
        """24:00 of the nth calendar day after, rolled forward off a day off (art 148)."""
        return self.roll_to_working_end(day_start(local_day(instant) + n + 1))

    def roll_to_working_end(self, instant: int) -> int:
        """24:00 of the local day of `instant` if it is a working day, else of the next one.

        An instant at exactly midnight belongs to the day that just ended.
        """
        day = local_day(instant - 1)
        if self.is_working_day(day):
            return day_start(day + 1)
        return day_start(self.nth_working_day_after(day, 1) + 1)

    def working_seconds_between(self, a: int, b: int) -> int:
        """Working-day time in [a, b): each working day weighs its full 24 hours."""
        if b <= a:
            return 0
        da, db = local_day(a), local_day(b)
        if da == db:
            return b - a if self.is_working_day(da) else 0
        total = 0
        if self.is_working_day(da):
            total += day_start(da + 1) - a
        total += self.working_days_between(da + 1, db) * DAY
        if self.is_working_day(db):
            total += b - day_start(db)
        return total

    def add_working_seconds(self, a: int, seconds: int) -> int:
        """The instant at which `seconds` of working-day time have passed since `a`."""
        if seconds <= 0:
            return a
        da = local_day(a)
        if self.is_working_day(da):
            left_today = day_start(da + 1) - a
            if seconds <= left_today:
                return a + seconds
            seconds -= left_today
        full, rest = divmod(seconds, DAY)
        if rest == 0:
            return day_start(self.nth_working_day_after(da, full) + 1)
        return day_start(self.nth_working_day_after(da, full + 1)) + rest

    # -- working hours --------------------------------------------------------------

    def _hours(self, day: int) -> tuple[Span, ...]:
        if not self.is_working_day(day):
            # Days off by law still have hours where a unit receives on them, e.g.
            # Saturday morning; a holiday never does.
            d = day_to_date(day)
            if d.weekday() >= 5 and not self._is_holiday(d):
                return self.spec.weekly_hours.get(d.weekday(), ())
            return ()
        weekday = day_to_date(day).weekday()
        # A make-up Saturday is worked like a weekday.
        return self.spec.weekly_hours.get(weekday) or self.spec.weekly_hours.get(0, DEFAULT_HOURS)

    def _is_holiday(self, d: date) -> bool:
        if d in self.spec.extra_days_off:
            return True
        return self.spec.national_holidays and d in holidays.days_off(d.year).days_off

    def add_working_hours(self, a: int, seconds: int) -> int:
        """The instant at which `seconds` of office hours have passed since `a`."""
        day = local_day(a)
        left = seconds
        for _ in range(3660):  # ten years of days: a limit in hours never reaches that
            base = day_start(day)
            for start, end in self._hours(day):
                lo = max(base + start, a)
                hi = base + end
                if hi <= lo:
                    continue
                if left <= hi - lo:
                    return lo + left
                left -= hi - lo
            day += 1
        raise ValueError(f"{seconds} working seconds do not fit in ten years of office hours")

    def working_hours_between(self, a: int, b: int) -> int:
        """Office-hour seconds in [a, b)."""
        total = 0
        for day in range(local_day(a), local_day(b) + 1):
            base = day_start(day)
            for start, end in self._hours(day):
                lo, hi = max(base + start, a), min(base + end, b)
                if hi > lo:
                    total += hi - lo
        return total

    def next_working_instant(self, a: int) -> int:
        """`a` if it is within office hours, else the start of the next stretch of them."""
        day = local_day(a)
        for _ in range(3660):
            base = day_start(day)
            for start, end in self._hours(day):
                if a < base + end:
                    return max(a, base + start)
            day += 1
        raise ValueError("no office hours in ten years")

    def start_of_next_working_day(self, instant: int) -> int:
        """When office hours begin on the first working day after the local day of `instant`."""
        day = self.nth_working_day_after(local_day(instant), 1)
        hours = self._hours(day)
        return day_start(day) + (hours[0][0] if hours else 0)

    def end_of_office_hours(self, instant: int) -> int:
        """When office hours end on the local day of `instant` (its midnight if it has none)."""
        day = local_day(instant)
        hours = self._hours(day)
        return day_start(day) + (hours[-1][1] if hours else DAY)


def _dates(first: date, end: date) -> Iterable[date]:
    d = first
    while d < end:
        yield d
        d += timedelta(days=1)


def hours_from_pairs(pairs: Iterable[Sequence[str]]) -> tuple[Span, ...]:
    """[["07:30", "11:30"], ...] → spans, checked to be increasing and non-overlapping."""
    spans: list[Span] = []
    for pair in pairs:
        if len(pair) != 2:
            raise ValueError(f"office hours need [start, end] pairs, got {list(pair)!r}")
        start, end = parse_clock(pair[0]), parse_clock(pair[1])
        if end <= start or (spans and start < spans[-1][1]):
            raise ValueError(f"office hours must increase and not overlap: {list(pair)!r}")
        spans.append((start, end))
    return tuple(spans)
