"""Working-day arithmetic, checked against dates worked out by hand from the calendar, and
the fast calendar checked against the day-by-day implementation it replaced."""

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any

import pytest
from helpers.story import at
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.core import holidays
from streams.core.calendar import (
    DAY,
    DEFAULT_HOURS,
    END_DAY,
    END_INSTANT,
    FIRST_DAY,
    FIRST_INSTANT,
    CalendarRangeError,
    CalendarSpec,
    Span,
    WorkingCalendar,
    date_to_day,
    day_start,
    day_to_date,
    local_day,
    to_instant,
    to_iso,
)
from streams.policy import builtin_book, vn_holidays

VN = vn_holidays()
"""The announced days off, as the policies load them."""
CAL = WorkingCalendar(CalendarSpec(holidays=VN))
H = 3600
LOCAL = timezone(timedelta(hours=7))
quick = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def due(received: str, n: int) -> str:
    return to_iso(CAL.add_working_days(at(received), n))


def test_tet_2025_days_off_are_skipped() -> None:
    """Received Friday 24/1/2025 with 3 working days: 27–31/1 are Tết, so due 24:00 5/2."""
    assert due("2025-01-24T10:00", 3) == "2025-02-06T00:00:00+07:00"


def test_tet_2026_days_off_are_skipped() -> None:
    """Received Thursday 12/2/2026 with 2 working days: Friday 13/2, then Monday 23/2."""
    assert due("2026-02-12T10:00", 2) == "2026-02-24T00:00:00+07:00"


def test_deadline_across_reunification_and_labour_day_2025() -> None:
    """From Friday 25/4/2025, 5 working days: Sat 26/4 (make-up), 28/4, 29/4, 5/5, 6/5."""
    assert due("2025-04-25T10:00", 5) == "2025-05-07T00:00:00+07:00"


def test_make_up_saturdays_are_working_days() -> None:
    """The announced make-up Saturdays work; ordinary Saturdays do not."""
    assert CAL.is_working_day(date(2026, 1, 10))
    assert CAL.is_working_day(date(2024, 5, 4))
    assert not CAL.is_working_day(date(2026, 1, 17))
    assert not CAL.is_working_day(date(2026, 11, 24))  # Culture Day from 2026


def test_counting_starts_the_next_day() -> None:
    """A dossier received at 08:00 on Monday with 1 working day is due at 24:00 Tuesday."""
    assert due("2025-09-08T08:00", 1) == "2025-09-10T00:00:00+07:00"


def test_calendar_days_rolling_over_from_sunday() -> None:
    """30 calendar days from Friday 7/2/2025 end on Sunday 9/3: rolled to 24:00 Monday 10/3."""
    assert to_iso(CAL.add_calendar_days(at("2025-02-07T10:00"), 30)) == "2025-03-11T00:00:00+07:00"


def test_calendar_days_rolling_over_a_holiday() -> None:
    """30 days from Saturday 2/8/2025 end on 1/9 (off), 2/9 (off): rolled to 24:00 3/9."""
    assert to_iso(CAL.add_calendar_days(at("2025-08-02T10:00"), 30)) == "2025-09-04T00:00:00+07:00"


def test_calendar_days_count_from_the_next_day() -> None:
    """30 calendar days from Monday 3/3/2025: day 1 is 4/3, day 30 is Wednesday 2/4 → 24:00 2/4."""
    assert to_iso(CAL.add_calendar_days(at("2025-03-03T10:00"), 30)) == "2025-04-03T00:00:00+07:00"
    assert to_iso(CAL.add_calendar_days(at("2025-03-03T10:00"), 1)) == "2025-03-05T00:00:00+07:00"


def test_working_hours_skip_lunch_and_the_weekend() -> None:
    """Friday 16:30 plus 8 office hours: half an hour on Friday, 7.5 on Monday → 16:30."""
    assert (
        to_iso(CAL.add_working_hours(at("2025-09-12T16:30"), 8 * 3600))
        == "2025-09-15T16:30:00+07:00"
    )
    assert CAL.working_hours_between(at("2025-09-12T16:30"), at("2025-09-15T16:30")) == 8 * 3600


def test_a_unit_with_saturday_reception_counts_saturday_hours() -> None:
    """The One-Stop Unit's Saturday-morning hours count; the centre's calendar skips them."""
    book = builtin_book()
    one_stop = book[1].unit_calendar("ONE_STOP")
    start = at("2025-09-13T08:00")  # Saturday
    assert to_iso(one_stop.add_working_hours(start, 2 * 3600)) == "2025-09-13T10:00:00+07:00"
    assert (
        to_iso(book[1].calendar.add_working_hours(start, 2 * 3600)) == "2025-09-15T09:30:00+07:00"
    )
    # Hours on Saturday do not make it a working day for time limits.
    assert not one_stop.is_working_day(date(2025, 9, 13))


def test_next_working_instant_and_start_of_next_day() -> None:
    """Lunch time waits for 13:00; a Friday evening waits for Monday's first hour."""
    assert to_iso(CAL.next_working_instant(at("2025-09-12T12:00"))) == "2025-09-12T13:00:00+07:00"
    assert (
        to_iso(CAL.start_of_next_working_day(at("2025-09-12T18:00"))) == "2025-09-15T07:30:00+07:00"
    )


@pytest.mark.parametrize(
    ("year", "tet", "hung_kings"),
    [
        (1985, date(1985, 1, 21), date(1985, 4, 29)),
        (2007, date(2007, 2, 17), date(2007, 4, 26)),
        (2024, date(2024, 2, 10), date(2024, 4, 18)),
        (2025, date(2025, 1, 29), date(2025, 4, 7)),
        (2026, date(2026, 2, 17), date(2026, 4, 26)),
        (2027, date(2027, 2, 6), date(2027, 4, 16)),
    ],
)
def test_lunar_dates_follow_vietnamese_time(year: int, tet: date, hung_kings: date) -> None:
    """Tết and Hùng Kings match Viet Nam's calendar, including years China differs (1985, 2007)."""
    assert holidays.tet(year) == tet
    assert holidays.lunar_to_solar(10, 3, year) == hung_kings


def test_unannounced_years_follow_the_labour_code_rule() -> None:
    """2023: New Year on Sunday gives Monday 2/1 off; Tết's weekend days move to Thursday/Friday."""
    off = VN.days_off(2023)
    assert not off.announced
    assert date(2023, 1, 2) in off.days_off
    assert {date(2023, 1, 23), date(2023, 1, 26), date(2023, 1, 27)} <= off.days_off
    assert all(d.weekday() < 5 for d in off.days_off)


def test_a_calendar_without_national_holidays_counts_plain_weekdays() -> None:
    """With national holidays off, 2/9 is an ordinary Tuesday."""
    plain = WorkingCalendar(CalendarSpec(national_holidays=False, holidays=VN))
    assert plain.is_working_day(date(2025, 9, 2))


@given(
    start=st.integers(min_value=at("2023-01-01T00:00"), max_value=at("2027-06-01T00:00")),
    seconds=st.integers(min_value=1, max_value=200 * 86400),
)
def test_adding_working_time_is_measured_back_exactly(start: int, seconds: int) -> None:
    """working_seconds_between(a, add_working_seconds(a, s)) == s for any a and s."""
    end = CAL.add_working_seconds(start, seconds)
    assert CAL.working_seconds_between(start, end) == seconds


@given(
    start=st.integers(min_value=at("2024-01-01T00:00"), max_value=at("2027-06-01T00:00")),
    n=st.integers(min_value=1, max_value=60),
)
def test_due_dates_end_a_working_day(start: int, n: int) -> None:
    """A due date in working days is always 24:00 of a working day, n of them after receipt."""
    due_at = CAL.add_working_days(start, n)
    assert (due_at + 7 * 3600) % 86400 == 0
    last_day = (due_at - 1 + 7 * 3600) // 86400
    assert CAL.is_working_day(last_day)
    first_day = (start + 7 * 3600) // 86400
    assert CAL.working_days_between(first_day + 1, last_day + 1) == n


@given(st.lists(st.integers(-(2**33), 2**34), min_size=1, max_size=50))
def test_local_iso_text_matches_the_datetime_library_for_any_instant(instants: list[int]) -> None:
    """to_iso (cached, formatted by hand) says what datetime says, at +07:00, repeats included."""
    for instant in instants + instants[::-1]:
        expected = datetime.fromtimestamp(instant, timezone(timedelta(hours=7))).isoformat()
        assert to_iso(instant) == expected


# -- the supported range ------------------------------------------------------------


def instant_on(d: date, seconds: int = 10 * H) -> int:
    """An instant on local date `d`, built without to_instant (which refuses years outside)."""
    return day_start(date_to_day(d)) + seconds


@pytest.mark.parametrize(
    "when", [date(1, 1, 1), date(9999, 12, 31), date(1899, 12, 31), date(2201, 1, 1)]
)
def test_days_outside_the_supported_years_are_refused(when: date) -> None:
    """Every operation on a day of year 1, 9999, 1899 or 2201 raises CalendarRangeError."""
    cal = WorkingCalendar(CalendarSpec(holidays=VN))
    t, day = instant_on(when), date_to_day(when)
    calls: list[Callable[[], object]] = [
        lambda: cal.add_working_days(t, 3),
        lambda: cal.add_working_days(t, 0),
        lambda: cal.add_calendar_days(t, 3),
        lambda: cal.roll_to_working_end(t),
        lambda: cal.working_seconds_between(t, t + DAY),
        lambda: cal.add_working_seconds(t, DAY),
        lambda: cal.nth_working_day_after(day, 1),
        lambda: cal.working_days_between(day, day + 1),
        lambda: cal.previous_working_day(day + 1),
        lambda: cal.is_working_day(when),
        lambda: cal.add_working_hours(t, 8 * H),
        lambda: cal.add_working_hours(t, 0),
        lambda: cal.working_hours_between(t, t + DAY),
        lambda: cal.next_working_instant(t),
        lambda: cal.start_of_next_working_day(t),
        lambda: cal.end_of_office_hours(t),
    ]
    for call in calls:
        with pytest.raises(CalendarRangeError, match=r"1900-01-01 to 2200-12-31"):
            call()


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:00:00+07:00",
        "9999-12-31T23:59:59+07:00",
        "9999-12-31T23:00:00-12:00",
        "1899-12-31T23:59:59+07:00",
        "2201-01-01T00:00:01+07:00",
    ],
)
def test_to_instant_refuses_datetimes_outside_the_supported_years(text: str) -> None:
    """An event dated outside 1900–2200 (local time) is refused with CalendarRangeError."""
    with pytest.raises(CalendarRangeError, match=r"outside the supported range"):
        to_instant(datetime.fromisoformat(text))


def test_the_ends_of_the_supported_range_are_instants() -> None:
    """Midnight starting 1/1/1900 and 24:00 of 31/12/2200 (a due date's end) are accepted."""
    assert to_instant(datetime(1900, 1, 1, tzinfo=LOCAL)) == FIRST_INSTANT
    assert to_instant(datetime(2201, 1, 1, tzinfo=LOCAL)) == END_INSTANT
    assert to_iso(END_INSTANT) == "2201-01-01T00:00:00+07:00"
    with pytest.raises(ValueError, match="naive"):
        to_instant(datetime(2025, 1, 1))


def test_absurd_day_numbers_raise_a_range_error_not_an_overflow() -> None:
    """Day numbers no date can hold give CalendarRangeError, never OverflowError."""
    cal = WorkingCalendar(CalendarSpec(holidays=VN))
    with pytest.raises(CalendarRangeError):
        day_to_date(10**12)
    with pytest.raises(CalendarRangeError):
        day_to_date(-(10**6))
    with pytest.raises(CalendarRangeError, match="local day"):
        cal.is_working_day(10**15)
    with pytest.raises(CalendarRangeError):
        cal.nth_working_day_after(-(10**15), 1)
    with pytest.raises(CalendarRangeError):
        cal.working_days_between(0, 10**15)
    with pytest.raises(CalendarRangeError):
        cal.add_calendar_days(at("2025-01-01T10:00"), 10**15)
    with pytest.raises(CalendarRangeError, match="instant 1000000000000000000 "):
        cal.add_calendar_days(10**18, -(10**13))
    with pytest.raises(CalendarRangeError):
        cal.add_working_hours(10**18, 1)
    with pytest.raises(CalendarRangeError):
        cal.working_hours_between(-(10**18), 0)


def test_limits_reaching_past_2200_are_refused_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """99,999 working days raise CalendarRangeError without evaluating a single day."""
    calls = count_is_working(monkeypatch)
    cal = WorkingCalendar(CalendarSpec(holidays=VN))
    with pytest.raises(CalendarRangeError, match="99999 working days after 2025-03-03"):
        cal.add_working_days(at("2025-03-03T10:00"), 99_999)
    assert calls == []
    with pytest.raises(CalendarRangeError):
        cal.add_working_seconds(at("2025-03-03T10:00"), 99_999 * DAY)


def test_the_last_days_of_2200_are_reachable_and_no_further() -> None:
    """31/12/2200 (a Wednesday) is the last working day a limit can end on; one more is refused."""
    cal = WorkingCalendar(CalendarSpec(holidays=VN))
    start = at("2200-12-29T10:00")  # Monday
    assert to_iso(cal.add_working_days(start, 2)) == "2201-01-01T00:00:00+07:00"
    with pytest.raises(CalendarRangeError, match="3 working days after 2200-12-29"):
        cal.add_working_days(start, 3)
    hours_left = (1 * H + 1800) + 4 * H + 2 * 8 * H  # Monday from 10:00, Tuesday, Wednesday
    assert to_iso(cal.add_working_hours(start, hours_left)) == "2200-12-31T17:00:00+07:00"
    with pytest.raises(CalendarRangeError, match="working seconds after 2200-12-29"):
        cal.add_working_hours(start, hours_left + 1)
    with pytest.raises(CalendarRangeError, match="no office hours after"):
        cal.next_working_instant(at("2200-12-31T17:00"))
    assert cal.working_hours_between(start, END_INSTANT) == hours_left
    assert cal.working_seconds_between(start, END_INSTANT) == 3 * DAY - 10 * H
    assert cal.previous_working_day(END_DAY) == END_DAY - 1


def test_nothing_works_before_the_first_day_of_1900() -> None:
    """1/1/1900 is New Year's Day, so no working day before 2/1/1900 lies within the range."""
    cal = WorkingCalendar(CalendarSpec(holidays=VN))
    assert not cal.is_working_day(FIRST_DAY)
    assert cal.previous_working_day(FIRST_DAY + 2) == FIRST_DAY + 1
    with pytest.raises(CalendarRangeError, match="no working day before 1900-01-02"):
        cal.previous_working_day(FIRST_DAY + 1)


def test_two_years_off_make_the_calendar_look_further_than_its_estimates() -> None:
    """A unit closed through 2026–2027 gets the answer key's days and hours across the gap."""
    closed = frozenset(
        day_to_date(d) for d in range(date_to_day(date(2026, 1, 1)), date_to_day(date(2028, 1, 1)))
    )
    spec = CalendarSpec(weekly_hours=WEEKLY_VARIANTS[1], extra_days_off=closed, holidays=VN)
    start = at("2025-12-30T10:00")
    assert_agree(
        WorkingCalendar(spec),
        ReferenceCalendar(spec),
        [
            ("add_working_days", (start, 30)),
            ("next_working_instant", (at("2026-01-05T10:00"),)),
            ("add_working_hours", (start, 20 * H)),
            ("working_hours_between", (start, at("2028-01-10T10:00"))),
        ],
    )
    # The answer key never returns here: its year-at-a-time search stops growing.
    cal = WorkingCalendar(spec)
    for day, previous in [
        (date(2028, 1, 10), date(2028, 1, 7)),
        (date(2028, 1, 4), date(2025, 12, 31)),
    ]:
        assert day_to_date(cal.previous_working_day(date_to_day(day))) == previous


def test_a_calendar_without_office_hours_refuses_hour_limits() -> None:
    """With no office hours at all, hour limits are refused as out of range (a ValueError,
    as the old ten-year search raised), after a 25-year search."""
    spec = CalendarSpec(weekly_hours={0: ()}, holidays=VN)
    assert_agree(
        WorkingCalendar(spec),
        ReferenceCalendar(spec),
        [
            ("next_working_instant", (at("2025-01-01T10:00"),)),
            ("add_working_hours", (at("2025-01-01T10:00"), H)),
            ("working_hours_between", (at("2025-01-01T10:00"), at("2035-01-01T10:00"))),
        ],
    )
    with pytest.raises(CalendarRangeError, match="25 years"):
        WorkingCalendar(spec).add_working_hours(at("2025-01-01T10:00"), H)


def test_a_refused_event_leaves_the_calendar_answering_as_a_fresh_one() -> None:
    """After every kind of range error the same calendar gives a fresh calendar's answers."""
    cal = WorkingCalendar(CalendarSpec(holidays=VN))
    assert to_iso(cal.add_working_days(at("2025-01-24T10:00"), 3)) == "2025-02-06T00:00:00+07:00"
    year_1, year_9999 = instant_on(date(1, 1, 1)), instant_on(date(9999, 12, 31))
    refused: list[Callable[[], object]] = [
        lambda: cal.add_working_days(year_1, 5),
        lambda: cal.add_working_days(year_9999, 5),
        lambda: cal.working_seconds_between(at("2025-01-01T00:00"), year_9999),
        lambda: cal.working_hours_between(year_1, at("2025-01-01T00:00")),
        lambda: cal.add_working_days(at("2025-01-01T00:00"), 99_999),
        lambda: cal.add_working_days(at("1950-01-01T00:00"), 70_000),
        lambda: cal.add_working_hours(at("2195-01-01T00:00"), 3650 * 8 * H),
        lambda: cal.previous_working_day(FIRST_DAY + 1),
    ]
    for call in refused:
        with pytest.raises(CalendarRangeError):
            call()
    assert_same_answers(cal, WorkingCalendar(CalendarSpec(holidays=VN)))


def test_a_failure_half_way_through_extending_keeps_the_previous_coverage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An exception while new years are computed leaves the calendar as it was before."""
    cal = WorkingCalendar(CalendarSpec(holidays=VN))
    start = at("2025-03-03T10:00")
    before = cal.add_working_days(start, 10)
    coverage = cal._cov
    real = WorkingCalendar._is_working
    calls = 0

    def failing(self: WorkingCalendar, d: date) -> bool:
        nonlocal calls
        calls += 1
        if calls > 500:
            raise RuntimeError("disk on fire")
        return real(self, d)

    monkeypatch.setattr(WorkingCalendar, "_is_working", failing)
    with pytest.raises(RuntimeError):
        cal.add_working_days(start, 3000)
    assert cal._cov is coverage
    monkeypatch.undo()
    assert cal.add_working_days(start, 10) == before
    assert_same_answers(cal, WorkingCalendar(CalendarSpec(holidays=VN)))


def assert_same_answers(cal: WorkingCalendar, fresh: WorkingCalendar) -> None:
    for t in range(at("1990-01-01T09:17"), at("2100-01-01T00:00"), 97 * DAY + 3 * H):
        day = local_day(t)
        assert cal.add_working_days(t, 15) == fresh.add_working_days(t, 15)
        assert cal.previous_working_day(day) == fresh.previous_working_day(day)
        assert cal.add_working_hours(t, 20 * H) == fresh.add_working_hours(t, 20 * H)
        end = t + 40 * DAY
        assert cal.working_hours_between(t, end) == fresh.working_hours_between(t, end)
        assert cal.working_seconds_between(t, end) == fresh.working_seconds_between(t, end)


# -- cost ---------------------------------------------------------------------------


def count_is_working(monkeypatch: pytest.MonkeyPatch) -> list[date]:
    """Record every date a calendar evaluates (one `_is_working` call each)."""
    seen: list[date] = []
    real = WorkingCalendar._is_working

    def counting(self: WorkingCalendar, d: date) -> bool:
        seen.append(d)
        return real(self, d)

    monkeypatch.setattr(WorkingCalendar, "_is_working", counting)
    return seen


def test_3650_working_days_evaluate_the_years_reached_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ten years of working days evaluate each day once, about the days reached; warm calls none."""
    seen = count_is_working(monkeypatch)
    cal = WorkingCalendar(CalendarSpec(holidays=VN))
    start = at("2025-03-03T10:00")
    due_at = cal.add_working_days(start, 3650)
    # Derived years from 2028 on: Culture Day 24/11 is one more day off each year (11 by
    # October 2039), hence 27/10 rather than the 12/10 of the rule without it.
    assert to_iso(due_at) == "2039-10-27T00:00:00+07:00"
    assert len(seen) == len(set(seen))
    # The days reached, plus a year's margin either side, whole years, and the estimate
    # of how far 3650 working days reach (the year-at-a-time growth took ~55,000).
    assert len(seen) <= local_day(due_at) - local_day(start) + 4 * 366
    seen.clear()
    assert cal.add_working_days(start, 3650) == due_at
    cal.add_working_hours(start, 2000 * H)
    cal.working_hours_between(start, due_at)
    cal.next_working_instant(due_at)
    assert seen == []


def test_a_replay_walking_through_a_century_evaluates_each_day_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Limits asked week by week from 2000 to 2100 cost O(days), not O(years²)."""
    seen = count_is_working(monkeypatch)
    cal = WorkingCalendar(CalendarSpec(holidays=VN))
    first, last = at("2000-01-03T10:00"), at("2100-01-04T10:00")
    for t in range(first, last, 7 * DAY):
        cal.add_working_days(t, 20)
        cal.add_working_hours(t, 8 * H)
    assert len(seen) == len(set(seen))
    # Growing by as much as is covered can overshoot by up to the century itself.
    assert len(seen) <= 2 * (local_day(last) - local_day(first)) + 2 * 366


# -- the day-by-day implementation, as the answer key -------------------------------


class ReferenceCalendar:
    """The calendar as it was before the prefix sums of office hours: coverage grown a year
    at a time, working hours walked day by day.  Kept verbatim as the answer key, but for
    the holiday-break rule (a weekend in a run of days off holding a day off has no
    office hours), walked here day by day."""

    def __init__(self, spec: CalendarSpec | None = None) -> None:
        self.spec = spec or CalendarSpec(holidays=VN)
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
        national = self.spec.holidays.days_off(d.year)
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
            if d.weekday() >= 5 and not self._in_holiday_break(day):
                return self.spec.weekly_hours.get(d.weekday(), ())
            return ()
        weekday = day_to_date(day).weekday()
        monday = self.spec.weekly_hours.get(0, DEFAULT_HOURS)
        if weekday >= 5:
            return monday  # a make-up Saturday is worked like a weekday, whatever its own hours
        return self.spec.weekly_hours.get(weekday) or monday

    def _is_holiday(self, d: date) -> bool:
        if d in self.spec.extra_days_off:
            return True
        return self.spec.national_holidays and d in self.spec.holidays.days_off(d.year).days_off

    def _in_holiday_break(self, day: int) -> bool:
        """Whether the run of non-working days around `day` holds a day off (walked by hand,
        within the supported years)."""
        for step in (-1, 1):
            other = day
            while FIRST_DAY <= other < END_DAY and not self.is_working_day(other):
                if self._is_holiday(day_to_date(other)):
                    return True
                other += step
        return False

    def add_working_hours(self, a: int, seconds: int) -> int:
        """The instant at which `seconds` of office hours have passed since `a`."""
        day = local_day(a)
        left = seconds
        for _ in range(366 * 25):  # the production horizon (was ten years)
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
        for _ in range(366 * 25):
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


# -- the fast calendar against the answer key ---------------------------------------

SATURDAY_MORNING: tuple[Span, ...] = ((7 * H + 1800, 11 * H + 1800),)
WEEKLY_VARIANTS: list[dict[int, tuple[Span, ...]]] = [
    {wd: DEFAULT_HOURS for wd in range(5)},
    {**{wd: DEFAULT_HOURS for wd in range(5)}, 5: SATURDAY_MORNING},
    {
        **{wd: ((8 * H, 12 * H), (13 * H + 1800, 17 * H + 1800)) for wd in range(5)},
        5: ((8 * H, 11 * H),),
        6: ((9 * H, 10 * H),),
    },
    {wd: ((0, DAY),) for wd in range(5)},  # round the clock, to 24:00
    {0: DEFAULT_HOURS},  # the other working days borrow Monday's hours
    {0: ((8 * H, 12 * H), (20 * H, DAY)), 2: ((13 * H, 14 * H),), 6: ((22 * H, DAY),)},
]
CLOCKS = [0, 1, 7 * H + 1799, 7 * H + 1800, 11 * H + 1800, 12 * H, 13 * H, 17 * H, DAY - 1]
FIRST, LAST = date_to_day(date(1990, 1, 1)), date_to_day(date(2100, 12, 31))


def instants(first: int = FIRST, last: int = LAST) -> st.SearchStrategy[int]:
    """Instants on local days [first, last], often exactly at a span's edge."""
    clock = st.one_of(st.sampled_from(CLOCKS), st.integers(0, DAY - 1))
    return st.builds(lambda d, s: day_start(d) + s, st.integers(first, last), clock)


@st.composite
def cases(draw: st.DrawFn) -> tuple[CalendarSpec, int]:
    """A start instant and a unit's calendar whose local changes fall near it."""
    start = draw(instants())
    day = local_day(start)
    dates = st.one_of(st.integers(-30, 400), st.integers(-400, 6000)).map(
        lambda k: day_to_date(day + k)
    )
    spec = CalendarSpec(
        weekly_hours=draw(st.sampled_from(WEEKLY_VARIANTS)),
        extra_days_off=frozenset(draw(st.lists(dates, max_size=30))),
        extra_working_days=frozenset(draw(st.lists(dates, max_size=10))),
        national_holidays=draw(st.booleans()),
        holidays=VN,
    )
    return spec, start


def outcome(call: Callable[..., Any], *args: Any) -> Any:
    try:
        return call(*args)
    except ValueError:  # both refuse a limit that cannot fit
        return "ValueError"


def assert_agree(
    fast: WorkingCalendar, ref: ReferenceCalendar, calls: Iterable[tuple[str, tuple[int, ...]]]
) -> None:
    for name, args in calls:
        got, expected = outcome(getattr(fast, name), *args), outcome(getattr(ref, name), *args)
        assert got == expected, f"{name}{args}: {got} != {expected}"


HOUR_AMOUNTS = st.one_of(
    st.integers(0, 3650 * 8 * H),
    st.integers(0, 60 * H),
    st.sampled_from([0, 1, 4 * H, 8 * H, 2 * 3600 * 24]),
    st.integers(-8 * H, 0),
)


@quick
@given(case=cases(), n=st.integers(0, 4000), later=st.integers(0, 4000 * DAY))
def test_day_limits_agree_with_the_day_by_day_calendar(
    case: tuple[CalendarSpec, int], n: int, later: int
) -> None:
    """Working and calendar days, working-day time: the same answers for any unit's calendar."""
    spec, start = case
    day, end = local_day(start), start + later
    assert_agree(
        WorkingCalendar(spec),
        ReferenceCalendar(spec),
        [
            ("add_working_days", (start, n)),
            ("add_calendar_days", (start, n)),
            ("roll_to_working_end", (start,)),
            ("nth_working_day_after", (day, max(n, 1))),
            ("working_days_between", (day, local_day(end))),
            ("previous_working_day", (day,)),
            ("is_working_day", (day,)),
            ("working_seconds_between", (start, end)),
            ("add_working_seconds", (start, later)),
            ("add_working_seconds", (start, n * DAY)),
        ],
    )


@quick
@given(case=cases(), seconds=HOUR_AMOUNTS, later=st.integers(-DAY, 4000 * DAY))
def test_working_hours_agree_with_the_day_by_day_calendar(
    case: tuple[CalendarSpec, int], seconds: int, later: int
) -> None:
    """Office hours added, measured and waited for: the same answers for any unit's calendar."""
    spec, start = case
    fast, ref = WorkingCalendar(spec), ReferenceCalendar(spec)
    assert_agree(
        fast,
        ref,
        [
            ("add_working_hours", (start, seconds)),
            ("working_hours_between", (start, start + later)),
            ("next_working_instant", (start,)),
            ("next_working_instant", (start + later,)),
            ("start_of_next_working_day", (start,)),
            ("end_of_office_hours", (start,)),
        ],
    )
    end = fast.add_working_hours(start, seconds) if 0 < seconds <= 60 * H else None
    if end is not None:
        assert fast.working_hours_between(start, end) == seconds


SHARED_REFERENCES = [
    ReferenceCalendar(CalendarSpec(weekly_hours=w, holidays=VN)) for w in WEEKLY_VARIANTS
]
"""Grown across examples: the answer key is right in any order, and slow to grow."""


@quick
@given(
    variant=st.integers(0, len(WEEKLY_VARIANTS) - 1),
    queries=st.lists(
        st.tuples(instants(), st.integers(0, 4000), HOUR_AMOUNTS), min_size=1, max_size=6
    ),
)
def test_one_calendar_asked_across_the_years_agrees_in_any_order(
    variant: int, queries: list[tuple[int, int, int]]
) -> None:
    """Coverage grown backwards and forwards in any order gives the answer key's answers."""
    fast = WorkingCalendar(CalendarSpec(weekly_hours=WEEKLY_VARIANTS[variant], holidays=VN))
    ref = SHARED_REFERENCES[variant]
    for start, n, seconds in queries:
        day = local_day(start)
        assert_agree(
            fast,
            ref,
            [
                ("add_working_days", (start, n)),
                ("previous_working_day", (day,)),
                ("working_days_between", (day - n, day + n)),
                ("add_working_hours", (start, seconds)),
                ("working_hours_between", (start - seconds, start + seconds)),
                ("working_seconds_between", (start - n * H, start + n * DAY)),
            ],
        )


@quick
@given(
    st.datetimes(
        min_value=datetime(1900, 1, 2), max_value=datetime(2200, 12, 30), allow_imaginary=False
    ),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_an_instant_from_the_fields_is_what_timestamp_says(when: datetime, minutes: int) -> None:
    """to_instant of a datetime in any fixed offset (before 1970 and with microseconds
    too) is int(timestamp()), which it no longer calls."""
    aware = when.replace(tzinfo=timezone(timedelta(minutes=minutes)))
    assert to_instant(aware) == int(aware.timestamp())


class _Summer(tzinfo):
    """UTC+2 from April to September, UTC+1 otherwise: an offset that depends on the date."""

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return timedelta(hours=2 if dt is not None and 4 <= dt.month <= 9 else 1)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)


def test_an_instant_in_a_zone_with_daylight_saving_follows_the_zone() -> None:
    """A zone whose offset depends on the date is read through the zone, not a cached
    offset: noon is 10:00 UTC in July and 11:00 UTC in January."""
    zone = _Summer()
    utc = UTC
    assert to_instant(datetime(2025, 7, 1, 12, tzinfo=zone)) == to_instant(
        datetime(2025, 7, 1, 10, tzinfo=utc)
    )
    assert to_instant(datetime(2025, 1, 1, 12, tzinfo=zone)) == to_instant(
        datetime(2025, 1, 1, 11, tzinfo=utc)
    )
