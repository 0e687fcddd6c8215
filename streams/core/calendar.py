"""Working-day and working-hour arithmetic in Viet Nam's civil-service calendar.

(One module over 400 lines on purpose: the precomputed coverage and every query over it
share private arrays whose consistency is the point; split, they would leak.)

Instants are integer seconds since the Unix epoch (UTC).  Dates are local
(Asia/Ho_Chi_Minh, UTC+07:00 with no daylight saving since 1975, so a fixed offset
is exact).  The legal counting rules (Civil Code arts 147–148):

* a limit in days counts from the day after the event, so N working days end at
  24:00 of the Nth working day after the day of receipt;
* a due date on a day off rolls to 24:00 of the next working day.

"Working-day time" weighs every working day as a whole 24 hours, which is what a limit
in days measures; "working hours" follow the unit's office hours, which is what the
8-working-hour online acceptance rule measures.  A unit that receives on Saturday
(or Sunday) has those hours on an ordinary weekend but none on a weekend inside a
holiday break (a run of days off holding a national or extra day off, e.g. Tết).

The calendar answers for the local years FIRST_YEAR–LAST_YEAR only.  Events come from
outside: a date in year 1 or 9999, or a limit of 99,999 working days, is rejected with
`CalendarRangeError` (a `ValueError`) before anything is computed or cached, rather
than costing seconds of CPU or leaving a calendar half-extended.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from itertools import accumulate, compress

from streams.contract.errors import CalendarError
from streams.core.holidays import DERIVED_ONLY, HolidayTable

LOCAL_OFFSET = 7 * 3600
DAY = 86400
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

FIRST_YEAR = 1900
LAST_YEAR = 2200
FIRST_DAY = date(FIRST_YEAR, 1, 1).toordinal() - _EPOCH_ORDINAL
"""The first supported local day (days since 1970-01-01)."""
END_DAY = date(LAST_YEAR + 1, 1, 1).toordinal() - _EPOCH_ORDINAL
"""One past the last supported local day."""
FIRST_INSTANT = FIRST_DAY * DAY - LOCAL_OFFSET
END_INSTANT = END_DAY * DAY - LOCAL_OFFSET
"""24:00 of the last supported day: a due date can end there, so it is in range too."""
_RANGE = f"{FIRST_YEAR}-01-01 to {LAST_YEAR}-12-31"

_HOURS_HORIZON = 366 * 25
"""Days within which a limit in working hours must end: 25 years, beyond the longest limit
an event may state (policy bounds: 3,650 working days of 8 hours, about 15 years)."""
_STEP_YEARS = 4
"""The least a calendar's coverage grows by at a time, in years."""

Span = tuple[int, int]
"""Seconds after local midnight: (start, end) of one stretch of office hours."""

DEFAULT_HOURS: tuple[Span, ...] = ((7 * 3600 + 1800, 11 * 3600 + 1800), (13 * 3600, 17 * 3600))


class CalendarRangeError(CalendarError):
    """A date, instant or limit outside the local years FIRST_YEAR–LAST_YEAR."""


def local_day(instant: int) -> int:
    """Days since 1970-01-01 of the local date of `instant`."""
    return (instant + LOCAL_OFFSET) // DAY


def day_start(day: int) -> int:
    """The instant of local midnight starting `day`."""
    return day * DAY - LOCAL_OFFSET


def day_to_date(day: int) -> date:
    try:
        return date.fromordinal(day + _EPOCH_ORDINAL)
    except (ValueError, OverflowError):
        raise CalendarRangeError(
            f"local day {day} (days since 1970-01-01) is not a date; "
            f"the supported range is {_RANGE}"
        ) from None


def date_to_day(d: date) -> int:
    return d.toordinal() - _EPOCH_ORDINAL


_OFFSETS: dict[tzinfo, int] = {}
"""Fixed UTC offsets in whole seconds, by zone object: the decoder hands every event a
`timezone`, and the few offsets seen repeat."""


def to_instant(dt: datetime) -> int:
    """An aware datetime as integer epoch seconds (sub-second precision is dropped)."""
    zone = dt.tzinfo
    if zone is None:
        raise ValueError(f"naive datetime {dt.isoformat()}: a time zone offset is required")
    offset = _OFFSETS.get(zone)
    if offset is None:
        offset = _fixed_offset(zone)
    if offset is None:
        instant = int(dt.timestamp())  # fine for any aware datetime, even year 1 east of UTC
    else:
        # What `int(dt.timestamp())` says, from the fields: `timestamp` builds a timedelta
        # and a float, three times the cost, on every event.
        instant = (
            (dt.toordinal() - _EPOCH_ORDINAL) * DAY
            + dt.hour * 3600
            + dt.minute * 60
            + dt.second
            - offset
        )
        if instant < 0 and dt.microsecond:
            instant += 1  # int() of a negative float rounds towards zero
    if not FIRST_INSTANT <= instant <= END_INSTANT:
        raise CalendarRangeError(
            f"{dt.isoformat()} is outside the supported range {_RANGE} (local time)"
        )
    return instant


def _fixed_offset(zone: tzinfo) -> int | None:
    """The zone's offset in whole seconds if it is a fixed one (a `timezone`), kept for
    the next datetime in it; None for zones whose offset depends on the date."""
    if type(zone) is not timezone:
        return None
    delta = zone.utcoffset(None)
    if delta.microseconds:
        return None
    if len(_OFFSETS) >= 1024:
        _OFFSETS.clear()
    offset = _OFFSETS[zone] = delta.days * DAY + delta.seconds
    return offset


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
    holidays: HolidayTable = DERIVED_ONLY
    """The national days off by year (announced ones loaded by streams.policy)."""


@dataclass(frozen=True, slots=True)
class _Coverage:
    """The precomputed local days [base, end) of one calendar.

    Prefix sums count from an arbitrary origin (only differences mean anything), so
    days added before `base` take values below it and nothing already there is
    renumbered: extending costs the new days, and an amount computed before an
    extension stays valid after it.
    """

    base: int
    end: int
    flags: bytes
    """flags[i]: 1 if day base + i is a working day."""
    cum: array[int]
    """cum[i]: working days before day base + i."""
    working: array[int]
    """The working days in order: the first at or after base + i is working[cum[i] - cum[0]]."""
    secs: array[int]
    """secs[i]: office-hour seconds before day base + i."""
    spans: list[tuple[Span, ...]]
    """Each day's office hours, as `WorkingCalendar._hours` gives them."""


def _empty_coverage() -> _Coverage:
    return _Coverage(0, 0, b"", array("q", [0]), array("q"), array("q", [0]), [])


class WorkingCalendar:
    """Working days and hours for one unit; precomputed over a span of years on first use.

    Day operations are O(1) and hour operations O(log days): over the covered days,
    prefix counts of working days and of office-hour seconds turn "the nth working day
    after", "working days between", "office hours between" and "when N office hours
    have passed" into a subtraction, an index or a bisection, so a limit across the
    years of a replay costs the same as one tomorrow.  The coverage grows in steps of
    years (at least as many as it already has), so reaching far ahead costs the days
    reached once, and it is replaced whole, so a rejected date never leaves it half-built.
    """

    def __init__(self, spec: CalendarSpec | None = None) -> None:
        self.spec = spec or CalendarSpec()
        self._cov = _empty_coverage()

    # -- coverage -----------------------------------------------------------------

    def _extend(self, first: int, end: int) -> _Coverage:
        """Cover the local days [first, end) too; raise before changing anything if it can't."""
        if first < FIRST_DAY or end > END_DAY:
            bad = first if first < FIRST_DAY else end - 1
            raise CalendarRangeError(f"{_day_text(bad)} is outside the supported range {_RANGE}")
        old = self._cov
        # A year's margin either side: the next calls usually land near this one.
        lo, hi = _year_of(first) - 1, _year_of(end - 1) + 1
        if old.end > old.base:
            # Grow by at least as much as is covered: a replay walking through the
            # years then costs O(years), not O(years²).
            old_lo, old_hi = _year_of(old.base), _year_of(old.end - 1)
            step = max(_STEP_YEARS, old_hi - old_lo + 1)
            lo = old_lo if lo >= old_lo else min(lo, old_lo - step)
            hi = old_hi if hi <= old_hi else max(hi, old_hi + step)
        base = _year_start(max(lo, FIRST_YEAR))
        new_end = _year_start(min(hi, LAST_YEAR) + 1)
        if old.end <= old.base:
            flags, spans, secs = self._days(base, new_end)
            cov = _Coverage(
                base,
                new_end,
                bytes(flags),
                array("q", accumulate(flags, initial=0)),
                array("q", compress(range(base, new_end), flags)),
                array("q", accumulate(secs, initial=0)),
                spans,
            )
        else:
            # Everything is computed into locals first and swapped in at the end, so an
            # exception half-way leaves the previous, consistent coverage.
            b_flags, b_spans, b_secs = self._days(base, old.base)
            a_flags, a_spans, a_secs = self._days(old.end, new_end)
            cum_before = accumulate(b_flags, initial=old.cum[0] - sum(b_flags))
            secs_before = accumulate(b_secs, initial=old.secs[0] - sum(b_secs))
            cov = _Coverage(
                base,
                new_end,
                bytes(b_flags) + old.flags + bytes(a_flags),
                array("q", cum_before)[:-1]
                + old.cum
                + array("q", accumulate(a_flags, initial=old.cum[-1]))[1:],
                array("q", compress(range(base, old.base), b_flags))
                + old.working
                + array("q", compress(range(old.end, new_end), a_flags)),
                array("q", secs_before)[:-1]
                + old.secs
                + array("q", accumulate(a_secs, initial=old.secs[-1]))[1:],
                b_spans + old.spans + a_spans,
            )
        self._cov = cov
        return cov

    def _covering(self, day: int) -> _Coverage:
        cov = self._cov
        if cov.base <= day < cov.end:
            return cov
        return self._extend(day, day + 1)

    def _days(self, first: int, end: int) -> tuple[list[bool], list[tuple[Span, ...]], list[int]]:
        """Working or not, office hours, and office seconds of each local day in [first, end)."""
        weekly = self.spec.weekly_hours
        weekday_hours = weekly.get(0, DEFAULT_HOURS)
        totals: dict[tuple[Span, ...], int] = {}
        one = timedelta(days=1)
        d = day_to_date(first)
        dates: list[date] = []
        for _ in range(end - first):
            dates.append(d)
            d += one
        flags = [self._is_working(d) for d in dates]
        closed = self._holiday_breaks(dates, flags)
        spans: list[tuple[Span, ...]] = []
        secs: list[int] = []
        for d, working, in_break in zip(dates, flags, closed, strict=True):
            weekday = d.weekday()
            if working:
                # A make-up Saturday is worked like a weekday, whatever the unit's own
                # Saturday (reception) hours are.
                hours = weekday_hours if weekday >= 5 else weekly.get(weekday) or weekday_hours
            elif weekday >= 5 and not in_break:
                # Days off by law still have hours where a unit receives on them, e.g.
                # Saturday morning; a holiday break never does.
                hours = weekly.get(weekday, ())
            else:
                hours = ()
            total = totals.get(hours)
            if total is None:
                total = totals[hours] = sum(end_ - start for start, end_ in hours)
            spans.append(hours)
            secs.append(total)
        return flags, spans, secs

    def _holiday_breaks(self, dates: list[date], flags: list[bool]) -> list[bool]:
        """Which of `dates` (consecutive, `flags` their working days) lie in a holiday break.

        A break is a maximal run of consecutive days that are not working days containing
        at least one day off (national or the unit's own), e.g. Tết from the Saturday
        before to the Sunday after.  Only a Saturday or Sunday with office hours needs the
        answer, so only runs holding one are examined; a run cut by the ends of `dates` is
        followed outside them through `_is_working`, not through the coverage.
        """
        out = [False] * len(dates)
        weekly = self.spec.weekly_hours
        if not (weekly.get(5) or weekly.get(6)):
            return out
        n, i = len(dates), 0
        while i < n:
            if flags[i]:
                i += 1
                continue
            j = i
            while j < n and not flags[j]:
                j += 1
            run = dates[i:j]
            if any(d.weekday() >= 5 and weekly.get(d.weekday()) for d in run) and (
                any(self._is_holiday(d) for d in run)
                or (i == 0 and self._run_has_day_off(run[0], -1))
                or (j == n and self._run_has_day_off(run[-1], 1))
            ):
                out[i:j] = [True] * (j - i)
            i = j
        return out

    def _run_has_day_off(self, d: date, step: int) -> bool:
        """Whether a day off lies among the non-working days next to `d`, walking by `step`
        days until a working day or the end of the supported years."""
        one = timedelta(days=step)
        first, last = date(FIRST_YEAR, 1, 1), date(LAST_YEAR, 12, 31)
        d += one
        while first <= d <= last and not self._is_working(d):
            if self._is_holiday(d):
                return True
            d += one
        return False

    # -- days ---------------------------------------------------------------------

    def _is_working(self, d: date) -> bool:
        spec = self.spec
        if d in spec.extra_working_days:
            return True
        if d in spec.extra_days_off:
            return False
        if not spec.national_holidays:
            return d.weekday() < 5
        national = spec.holidays.days_off(d.year)
        return (d.weekday() < 5 and d not in national.days_off) or d in national.makeup_saturdays

    def is_working_day(self, d: date | int) -> bool:
        day = d if isinstance(d, int) else date_to_day(d)
        cov = self._cov
        if not cov.base <= day < cov.end:
            cov = self._extend(day, day + 1)
        return cov.flags[day - cov.base] == 1

    def nth_working_day_after(self, day: int, n: int) -> int:
        """The local day that is the nth working day strictly after `day` (n ≥ 1)."""
        if n < 1:
            raise ValueError("n must be at least 1")
        cov = self._cov
        if cov.base <= day < cov.end:
            idx = cov.cum[day - cov.base + 1] - cov.cum[0] + n - 1
            if idx < len(cov.working):
                return cov.working[idx]
        return self._nth_beyond(day, n)

    def _nth_beyond(self, day: int, n: int) -> int:
        """`nth_working_day_after` past the coverage: cover once as far as n working days reach."""
        if day + n >= END_DAY:  # at most one working day a day
            raise self._too_far(day, n)
        # Five working days a week less a dozen holidays a year is 1.46 days per working
        # day; a month more for bad luck.  A unit with many extra days off grows it below.
        cov = self._extend(day, min(day + 1 + n * 3 // 2 + 31, END_DAY))
        while True:
            idx = cov.cum[day - cov.base + 1] - cov.cum[0] + n - 1
            if idx < len(cov.working):
                return cov.working[idx]
            if cov.end >= END_DAY:
                raise self._too_far(day, n)
            cov = self._extend(day, cov.end + 1)  # at least doubles, so this loop is short

    @staticmethod
    def _too_far(day: int, n: int) -> CalendarRangeError:
        return CalendarRangeError(
            f"{n} working days after {_day_text(day)} end after {LAST_YEAR}-12-31, "
            f"outside the supported range {_RANGE}"
        )

    def working_days_between(self, first: int, last: int) -> int:
        """How many working days lie in the local days [first, last)."""
        if last <= first:
            return 0
        cov = self._cov
        if not (cov.base <= first and last <= cov.end):
            cov = self._extend(first, last)
        return cov.cum[last - cov.base] - cov.cum[first - cov.base]

    def previous_working_day(self, day: int) -> int:
        """The last working day strictly before `day`."""
        cov = self._cov
        if not cov.base < day <= cov.end:
            cov = self._extend(day - 1, day)
        while True:
            idx = cov.cum[day - cov.base] - cov.cum[0] - 1
            if idx >= 0:
                return cov.working[idx]
            if cov.base <= FIRST_DAY:
                raise CalendarRangeError(
                    f"no working day before {_day_text(day)} within the supported range {_RANGE}"
                )
            cov = self._extend(cov.base - 1, day)

    # -- limits in days -------------------------------------------------------------

    def add_working_days(self, instant: int, n: int) -> int:
        """24:00 of the nth working day after the local day of `instant` (art 147)."""
        if n <= 0:
            return self.roll_to_working_end(instant)
        return day_start(self.nth_working_day_after(local_day(instant), n) + 1)

    def add_calendar_days(self, instant: int, n: int) -> int:
        """24:00 of the nth calendar day after the local day of `instant`, rolled to 24:00 of
        the next working day when that day is not a working day (Civil Code arts 147–148).

        The one function for every period in days (a `30d` time limit, the 15-day wait
        for a supplement): art 147 leaves out the day of the event, so day 1 is the day
        after; art 148 ends the period at 24:00 of its last day, or, when that day is a
        weekly rest day or a holiday, at 24:00 of the working day after it.  A make-up
        Saturday is a working day, so a period can end on one.  The result is never
        before 24:00 of the nth day, hence never less than n × 24 hours after `instant`.
        """
        if not FIRST_INSTANT <= instant <= END_INSTANT:
            # Only the last day is looked up, so check the first: year 1 plus a million
            # days is no deadline.
            raise CalendarRangeError(
                f"{_instant_text(instant)} is outside the supported range {_RANGE}"
            )
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
        # b at midnight takes nothing from its day, which may be the one after the range.
        if b > day_start(db) and self.is_working_day(db):
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
        """The office hours of local `day`: a working day's, or a weekend day's where a unit
        receives on it (e.g. Saturday morning, not in a holiday break); see `_days`."""
        cov = self._covering(day)
        return cov.spans[day - cov.base]

    def _is_holiday(self, d: date) -> bool:
        if d in self.spec.extra_days_off:
            return True
        spec = self.spec
        return spec.national_holidays and d in spec.holidays.days_off(d.year).days_off

    def add_working_hours(self, a: int, seconds: int) -> int:
        """The instant at which `seconds` of office hours have passed since `a`."""
        if seconds <= 0:
            # What the day-by-day search always answered: the first office instant, moved
            # back by a negative amount.
            return self.next_working_instant(a) + seconds
        day = local_day(a)
        cov = self._covering(day)
        target = _office_seconds(cov, a) + seconds
        limit = min(day + _HOURS_HORIZON, END_DAY)
        while cov.secs[min(cov.end, limit) - cov.base] < target:
            if cov.end >= limit:
                if limit < day + _HOURS_HORIZON:
                    raise CalendarRangeError(
                        f"{seconds} working seconds after {to_iso(a)} end after "
                        f"{LAST_YEAR}-12-31, outside the supported range {_RANGE}"
                    )
                raise CalendarRangeError(
                    f"{seconds} working seconds do not fit in 25 years of office hours"
                )
            cov = self._extend(day, cov.end + 1)  # at least doubles, so this loop is short
        # The first day whose office hours reach the target, then the stretch within it.
        i = bisect_left(cov.secs, target, day - cov.base + 1, min(cov.end, limit) - cov.base) - 1
        left = target - cov.secs[i]
        midnight = day_start(cov.base + i)
        for start, end in cov.spans[i]:
            if left <= end - start:
                return midnight + start + left
            left -= end - start
        raise AssertionError("office-hour prefix sums disagree with the day's hours")

    def working_hours_between(self, a: int, b: int) -> int:
        """Office-hour seconds in [a, b)."""
        if b <= a:
            return 0
        first, last = local_day(a), local_day(b - 1)
        cov = self._cov
        if not (cov.base <= first and last < cov.end):
            cov = self._extend(first, last + 1)
        return _office_seconds(cov, b) - _office_seconds(cov, a)

    def next_working_instant(self, a: int) -> int:
        """`a` if it is within office hours, else the start of the next stretch of them."""
        day = local_day(a)
        cov = self._covering(day)
        midnight = day_start(day)
        for start, end in cov.spans[day - cov.base]:
            if a < midnight + end:
                return max(a, midnight + start)
        # The first later day with office hours is where their prefix sums step up.
        before = cov.secs[day - cov.base + 1]
        limit = min(day + _HOURS_HORIZON, END_DAY)
        while cov.secs[min(cov.end, limit) - cov.base] <= before:
            if cov.end >= limit:
                if limit < day + _HOURS_HORIZON:
                    raise CalendarRangeError(
                        f"no office hours after {to_iso(a)} within the supported range {_RANGE}"
                    )
                raise CalendarRangeError("no office hours in 25 years")
            cov = self._extend(day, cov.end + 1)
        i = bisect_right(cov.secs, before, day - cov.base + 1, min(cov.end, limit) - cov.base) - 1
        return day_start(cov.base + i) + cov.spans[i][0][0]

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


def _office_seconds(cov: _Coverage, instant: int) -> int:
    """Office-hour seconds before `instant` (from cov.secs' origin); its day must be covered,
    or `instant` the midnight ending the coverage."""
    day, seconds = divmod(instant + LOCAL_OFFSET, DAY)
    i = day - cov.base
    total = cov.secs[i]
    if seconds:
        for start, end in cov.spans[i]:
            if seconds <= start:
                break
            total += min(seconds, end) - start
    return total


def _year_of(day: int) -> int:
    return date.fromordinal(day + _EPOCH_ORDINAL).year


def _year_start(year: int) -> int:
    return date(year, 1, 1).toordinal() - _EPOCH_ORDINAL


def _day_text(day: int) -> str:
    """A local day for a message: its date, or its number if it is not a date at all."""
    try:
        return day_to_date(day).isoformat()
    except CalendarRangeError:
        return f"local day {day} (days since 1970-01-01)"


def _instant_text(instant: int) -> str:
    try:
        return _format_iso(instant)
    except CalendarRangeError:
        return f"instant {instant} (seconds since 1970-01-01)"


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
