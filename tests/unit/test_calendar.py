"""Working-day arithmetic, checked against dates worked out by hand from the calendar."""

from datetime import date, datetime, timedelta, timezone

import pytest
from helpers.story import at
from hypothesis import given
from hypothesis import strategies as st

from streams.core import holidays
from streams.core.calendar import CalendarSpec, WorkingCalendar, to_iso
from streams.core.policy import PolicyBook

CAL = WorkingCalendar()


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
    book = PolicyBook.builtin()
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
    off = holidays.days_off(2023)
    assert not off.announced
    assert date(2023, 1, 2) in off.days_off
    assert {date(2023, 1, 23), date(2023, 1, 26), date(2023, 1, 27)} <= off.days_off
    assert all(d.weekday() < 5 for d in off.days_off)


def test_a_calendar_without_national_holidays_counts_plain_weekdays() -> None:
    """With national holidays off, 2/9 is an ordinary Tuesday."""
    plain = WorkingCalendar(CalendarSpec(national_holidays=False))
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
