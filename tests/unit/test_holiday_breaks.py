"""The published calendar of 2025–2027 worked by hand: limits in working days and in
calendar days (Civil Code arts 147–148) across Tết, 30/4–1/5 and 2/9, make-up Saturdays,
the Saturday-morning hours a holiday break takes away, and the years the calendar has to
derive.  Every expected date is reasoned out in the test's docstring, from the days-off
table (streams/policy/holidays-vn.toml, as the built-in policies load it)."""

from __future__ import annotations

from datetime import date
from importlib import resources

import pytest
from helpers.story import at
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest

from streams.core import holidays
from streams.core.calendar import (
    DAY,
    CalendarSpec,
    WorkingCalendar,
    day_start,
    local_day,
    to_iso,
)
from streams.core.policy import Policy, PolicyBook
from streams.metrics import PipelineMetrics
from streams.policy import BUILTIN_POLICIES, builtin_book, holiday_table, load_policy_text

BOOK = builtin_book()
H = 3600
quick = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def policy_on(local: str) -> Policy:
    """The built-in policy in force on the local day of `local` ('2025-09-08T09:00')."""
    return BOOK[BOOK.index_for_day(local_day(at(local)))]


def working_days(received: str, n: int) -> str:
    return to_iso(policy_on(received).calendar.add_working_days(at(received), n))


def calendar_days(start: str, n: int) -> str:
    return to_iso(policy_on(start).calendar.add_calendar_days(at(start), n))


def one_stop_hours(a: str, b: str) -> float:
    """Office hours of the One-Stop Unit (it receives on Saturday 07:30–11:30) in [a, b)."""
    return policy_on(a).unit_calendar("ONE_STOP").working_hours_between(at(a), at(b)) / H


# -- working days (art 147: from the day after receipt, to 24:00 of the last one) ----------


def test_tet_2025_three_working_days() -> None:
    """Received Fri 24/1/2025: Sat 25 to Sun 2/2 is the Tết break (27–31/1 off), so day 1
    is Mon 3/2, day 3 Wed 5/2: due 24:00 5/2."""
    assert working_days("2025-01-24T10:00", 3) == "2025-02-06T00:00:00+07:00"


def test_tet_2026_five_working_days() -> None:
    """Received Wed 11/2/2026: Thu 12/2 (1), Fri 13/2 (2), then 14–22/2 off (16–20/2 Tết),
    Mon 23/2 (3), Tue 24/2 (4), Wed 25/2 (5): due 24:00 25/2."""
    assert working_days("2026-02-11T10:00", 5) == "2026-02-26T00:00:00+07:00"


def test_tet_2027_three_working_days() -> None:
    """Received Wed 3/2/2027: Thu 4/2 to Wed 10/2 is off (Tết is Sat 6/2; 4, 5, 8, 9, 10/2
    off), so Thu 11/2 (1), Fri 12/2 (2), Mon 15/2 (3): due 24:00 15/2."""
    assert working_days("2027-02-03T10:00", 3) == "2027-02-16T00:00:00+07:00"


def test_reunification_and_labour_day_2026() -> None:
    """Received Wed 29/4/2026: Thu 30/4 and Fri 1/5 are off, then the weekend, so Mon 4/5
    (1), Tue 5/5 (2): due 24:00 5/5."""
    assert working_days("2026-04-29T10:00", 2) == "2026-05-06T00:00:00+07:00"


def test_national_day_2025() -> None:
    """Received Fri 29/8/2025 with 1 working day: Sat, Sun, Mon 1/9 and Tue 2/9 are off,
    so Wed 3/9: due 24:00 3/9."""
    assert working_days("2025-08-29T10:00", 1) == "2025-09-04T00:00:00+07:00"


def test_national_day_2026() -> None:
    """Received Fri 28/8/2026 with 5 working days: Mon 31/8 (swapped with Sat 22/8), Tue 1/9
    and Wed 2/9 are off, so Thu 3/9 (1), Fri 4/9 (2), Mon 7 (3), Tue 8 (4), Wed 9/9 (5)."""
    assert working_days("2026-08-28T10:00", 5) == "2026-09-10T00:00:00+07:00"


def test_national_day_2027() -> None:
    """Received Wed 1/9/2027 with 2 working days: Thu 2/9 and Fri 3/9 are off, so Mon 6/9
    (1), Tue 7/9 (2): due 24:00 7/9."""
    assert working_days("2027-09-01T10:00", 2) == "2027-09-08T00:00:00+07:00"


@pytest.mark.parametrize(
    ("received", "due"),
    [
        ("2025-04-25T10:00", "2025-04-27T00:00:00+07:00"),
        ("2026-01-09T10:00", "2026-01-11T00:00:00+07:00"),
        ("2026-08-21T10:00", "2026-08-23T00:00:00+07:00"),
    ],
)
def test_one_working_day_from_friday_ends_on_the_make_up_saturday(received: str, due: str) -> None:
    """Sat 26/4/2025, 10/1/2026 and 22/8/2026 are make-up working days: 1 working day from
    the Friday before is due at 24:00 that Saturday, not on Monday."""
    assert working_days(received, 1) == due


# -- calendar days (art 148: the last day off rolls to 24:00 of the next working day) ------


def test_thirty_days_ending_on_a_sunday() -> None:
    """30 days from Fri 10/10/2025: day 1 is 11/10, day 30 Sun 9/11; a Sunday rolls to
    24:00 of Mon 10/11."""
    assert calendar_days("2025-10-10T10:00", 30) == "2025-11-11T00:00:00+07:00"


def test_supplement_window_ending_on_a_saturday() -> None:
    """A supplement requested Fri 5/9/2025: the 15th day is Sat 20/9, rolled past the
    weekend to 24:00 Mon 22/9."""
    assert calendar_days("2025-09-05T09:00", 15) == "2025-09-23T00:00:00+07:00"


@pytest.mark.parametrize(
    ("requested", "closes"),
    [
        # 15th day Tue 28/1/2025 (Tết, 27–31/1 off), the weekend: first working day Mon 3/2.
        ("2025-01-13T09:00", "2025-02-04T00:00:00+07:00"),
        # 15th day Tue 17/2/2026 (Tết, 16–20/2 off), the weekend: Mon 23/2.
        ("2026-02-02T09:00", "2026-02-24T00:00:00+07:00"),
        # 15th day Fri 5/2/2027 (off; 4/2 to 10/2 is the break): Thu 11/2.
        ("2027-01-21T09:00", "2027-02-12T00:00:00+07:00"),
    ],
)
def test_supplement_window_ending_in_tet(requested: str, closes: str) -> None:
    """A 15-day supplement window whose last day falls in Tết closes at 24:00 of the first
    working day after the whole break (the day and weekend that follow included)."""
    assert calendar_days(requested, 15) == closes


@pytest.mark.parametrize(
    ("requested", "closes"),
    [
        ("2025-04-11T09:00", "2025-04-27T00:00:00+07:00"),
        ("2025-12-26T09:00", "2026-01-11T00:00:00+07:00"),
        ("2026-08-07T09:00", "2026-08-23T00:00:00+07:00"),
    ],
)
def test_supplement_window_ending_on_a_make_up_saturday(requested: str, closes: str) -> None:
    """15 days from Fri 11/4/2025, Fri 26/12/2025 and Fri 7/8/2026 end on Sat 26/4/2025,
    10/1/2026 and 22/8/2026: make-up working days, so nothing rolls (24:00 that Saturday)."""
    assert calendar_days(requested, 15) == closes


def test_calendar_days_starting_late_at_night() -> None:
    """An event at 23:59 on Mon 3/3/2025 still counts from Tue 4/3: 1 day ends 24:00 4/3;
    one at 00:00 on Tue 4/3 belongs to the 4th, so 1 day ends 24:00 5/3."""
    assert calendar_days("2025-03-03T23:59", 1) == "2025-03-05T00:00:00+07:00"
    assert calendar_days("2025-03-04T00:00", 1) == "2025-03-06T00:00:00+07:00"


# -- office hours of a unit that receives on Saturday morning ---------------------------


@pytest.mark.parametrize(
    ("friday", "monday"),
    [
        ("2025-01-24T17:00", "2025-02-03T07:30"),  # Sat 25/1 and Sat 1/2/2025, Tết
        ("2026-02-13T17:00", "2026-02-23T07:30"),  # Sat 14/2 and Sat 21/2/2026, Tết
        ("2027-02-03T17:00", "2027-02-11T07:30"),  # Sat 6/2/2027, Tết's first day
        ("2025-05-02T17:00", "2025-05-05T07:30"),  # Sat 3/5/2025, after 30/4–2/5
        ("2026-04-24T17:00", "2026-04-28T07:30"),  # Sat 25/4/2026, Hùng Kings (Mon 27/4 off)
        ("2025-08-29T17:00", "2025-09-03T07:30"),  # Sat 30/8/2025, before 1–2/9
        ("2026-08-28T17:00", "2026-09-03T07:30"),  # Sat 29/8/2026, before 31/8–2/9
    ],
)
def test_no_saturday_reception_in_a_holiday_break(friday: str, monday: str) -> None:
    """From the last office hour before a break to the first after it, the One-Stop Unit has
    no office hours: its Saturdays there are in a run of days off holding a holiday."""
    assert one_stop_hours(friday, monday) == 0


def test_an_ordinary_weekend_keeps_saturday_morning() -> None:
    """Fri 12/9/2025 17:00 to Mon 15/9 07:30: no day off near, so Saturday 07:30–11:30, 4 h;
    the same for Sat 17/1/2026, three weeks before Tết."""
    assert one_stop_hours("2025-09-12T17:00", "2025-09-15T07:30") == 4
    assert one_stop_hours("2026-01-16T17:00", "2026-01-19T07:30") == 4


def test_eight_working_hours_across_a_tet_saturday_and_an_ordinary_one() -> None:
    """8 office hours from Fri 13/2/2026 16:00: 1 h on Friday, none in the Tết break, 7 h from
    Mon 23/2 07:30 (4 h, lunch, 3 h) end at 16:00.  From Fri 12/9/2025 16:00: 1 h, Saturday's
    4 h, 3 h on Monday from 07:30, ending at 10:30."""
    one_stop = policy_on("2026-02-13T16:00").unit_calendar("ONE_STOP")
    assert to_iso(one_stop.add_working_hours(at("2026-02-13T16:00"), 8 * H)) == (
        "2026-02-23T16:00:00+07:00"
    )
    assert to_iso(one_stop.add_working_hours(at("2025-09-12T16:00"), 8 * H)) == (
        "2025-09-15T10:30:00+07:00"
    )


def test_a_break_across_the_edge_of_the_coverage() -> None:
    """Sat 30/12/2028 and Sun 31/12 lead into New Year (Mon 1/1/2029): no Saturday hours,
    whether the calendar reaches 2028 first or backwards from 2030 (the run is followed past
    the end of the years being computed)."""
    spec = BOOK[1].unit_calendar("ONE_STOP").spec
    fresh, backwards = WorkingCalendar(spec), WorkingCalendar(spec)
    backwards.is_working_day(date(2030, 6, 3))  # covers 2029–2031 first
    a, b = at("2028-12-29T17:00"), at("2029-01-02T07:30")
    assert backwards.working_hours_between(a, b) == 0
    assert fresh.working_hours_between(a, b) == 0


SEVEN_DAYS = {wd: ((7 * H + 1800, 11 * H + 1800),) for wd in range(7)}


def test_a_make_up_saturday_cuts_a_break() -> None:
    """A unit open every morning that works Sat 3/5/2025 itself: the 30/4–2/5 break ends on
    Friday, so Sunday 4/5 keeps its morning (4 h); without the extra working day the whole
    weekend is in the break."""
    vn = BOOK[1].holidays
    cut = WorkingCalendar(
        CalendarSpec(SEVEN_DAYS, extra_working_days=frozenset({date(2025, 5, 3)}), holidays=vn)
    )
    plain = WorkingCalendar(CalendarSpec(SEVEN_DAYS, holidays=vn))
    sunday, monday = at("2025-05-04T00:00"), at("2025-05-05T00:00")
    assert cut.working_hours_between(sunday, monday) == 4 * H
    assert plain.working_hours_between(at("2025-05-03T00:00"), monday) == 0


def test_a_units_own_day_off_makes_a_break_too() -> None:
    """A unit closed on Mon 15/9/2025 (an extra day off) has no hours on Sat 13 or Sun 14/9."""
    spec = CalendarSpec(
        SEVEN_DAYS, extra_days_off=frozenset({date(2025, 9, 15)}), holidays=BOOK[1].holidays
    )
    cal = WorkingCalendar(spec)
    assert cal.working_hours_between(at("2025-09-13T00:00"), at("2025-09-16T00:00")) == 0
    assert cal.working_hours_between(at("2025-09-20T00:00"), at("2025-09-22T00:00")) == 8 * H


# -- derived years ----------------------------------------------------------------------


@pytest.mark.parametrize("year", [2024, 2025, 2026, 2027])
def test_the_derivation_misses_no_announced_holiday(year: int) -> None:
    """Every statutory holiday the Labour Code rule derives for an announced year (before
    weekends move them) is a day off or a weekend day in the published table."""
    announced = BOOK[1].holidays.days_off(year)
    assert announced.announced
    for day in holidays.statutory_days(year):
        assert day.weekday() >= 5 or day in announced.days_off, day
        assert day not in announced.makeup_saturdays, day


def test_culture_day_is_derived_from_2026_only() -> None:
    """24/11 is off in derived years from 2026: Fri 24/11/2028; Sat 24/11/2029 gives Mon 26/11;
    not in 2025 (the resolution takes effect on 1/7/2026)."""
    assert date(2025, 11, 24) not in holidays.statutory_days(2025)
    assert date(2028, 11, 24) in holidays.derived(2028).days_off
    assert date(2029, 11, 26) in holidays.derived(2029).days_off


@pytest.mark.parametrize(
    ("year", "days_off"),
    [
        (2021, {date(2021, 9, 2), date(2021, 9, 3)}),  # Thu → Fri
        (2022, {date(2022, 9, 1), date(2022, 9, 2)}),  # Fri → Thu
        (2023, {date(2023, 9, 1), date(2023, 9, 4)}),  # Sat → Fri, Saturday moves to Mon
        (2028, {date(2028, 9, 1), date(2028, 9, 4)}),  # Sat, as 2023
        (2029, {date(2029, 9, 3), date(2029, 9, 4)}),  # Sun: Mon 3/9 and Sunday's Tue 4/9
        (2030, {date(2030, 9, 2), date(2030, 9, 3)}),  # Mon → Tue, as 2024
        (2031, {date(2031, 9, 1), date(2031, 9, 2)}),  # Tue → Mon, as 2025
        (2037, {date(2037, 9, 1), date(2037, 9, 2)}),  # Wed → Tue, as 2026
        (2032, {date(2032, 9, 2), date(2032, 9, 3)}),  # Thu → Fri, as 2027
        (2033, {date(2033, 9, 1), date(2033, 9, 2)}),  # Fri → Thu, as 2022
    ],
)
def test_national_day_pair_joins_the_weekend(year: int, days_off: set[date]) -> None:
    """The day added to 2/9 is the one toward the weekend (Tue/Wed/Fri/Sat: the day before;
    Mon/Thu/Sun: the day after), as announced 2021–2027; derived days off around 2/9 follow."""
    derived = holidays.derived(year).days_off
    assert {d for d in derived if date(year, 8, 28) <= d <= date(year, 9, 8)} == days_off


def test_the_table_records_the_years_it_derived_and_the_gauge_reports_them() -> None:
    """A calendar reaching 2030 answers from the Labour Code rule there: the table records
    it (and never an announced year), and /metrics shows dossierwatch_calendar_year_derived
    with year="2030" at 1."""
    text = resources.files("streams.policy").joinpath("holidays-vn.toml").read_text("utf-8")
    table = holiday_table(text, "holidays-vn.toml")
    policy_text = resources.files("streams.policy").joinpath(BUILTIN_POLICIES[1])
    policy = load_policy_text(policy_text.read_text("utf-8"), "p", holidays=table)
    registry = CollectorRegistry()
    PipelineMetrics(registry, PolicyBook([policy]))
    assert table.derived_years_used() == ()
    assert "year=" not in generate_latest(registry).decode()
    policy.calendar.add_working_days(at("2025-12-01T10:00"), 10)  # covers 2024–2026
    assert table.derived_years_used() == ()
    policy.unit_calendar("ONE_STOP").add_working_days(at("2030-03-01T10:00"), 10)
    used = table.derived_years_used()
    assert 2030 in used
    assert not set(used) & {2024, 2025, 2026, 2027}  # the years the table publishes
    exported = generate_latest(registry).decode()
    assert 'dossierwatch_calendar_year_derived{year="2030"} 1.0' in exported
    assert "holidays-vn.toml" in exported  # the HELP says where the table goes


# -- properties -------------------------------------------------------------------------

CAL = BOOK[1].calendar
instants = st.integers(min_value=at("2023-06-01T00:00"), max_value=at("2031-12-31T23:59"))


@quick
@given(start=instants, n=st.integers(min_value=1, max_value=400))
def test_working_days_counted_forward_are_counted_back(start: int, n: int) -> None:
    """n working days from any instant end at 24:00 of a working day, and the working days
    from the day after the event to that day, both included, are exactly n."""
    due = CAL.add_working_days(start, n)
    assert due == day_start(local_day(due))
    last = local_day(due - 1)
    assert CAL.is_working_day(last)
    assert CAL.working_days_between(local_day(start) + 1, last + 1) == n


@quick
@given(start=instants, n=st.integers(min_value=1, max_value=400))
def test_calendar_days_end_at_the_first_working_midnight_from_the_nth_day(
    start: int, n: int
) -> None:
    """add_calendar_days(t, n) is a local midnight ending a working day, never before 24:00 of
    the nth day after t's day (so never less than n × 24 h after t), and every day between the
    nth and that working day is off: the roll stops at the first working day."""
    end = CAL.add_calendar_days(start, n)
    nth = local_day(start) + n
    last = local_day(end - 1)
    assert end == day_start(last + 1)
    assert CAL.is_working_day(last)
    assert end >= day_start(nth + 1)
    assert end - start >= n * DAY  # what the detectors' cheap lower bound relies on
    assert CAL.working_days_between(nth, last) == 0


def test_derived_holidays_are_weekdays_and_cover_every_statutory_day() -> None:
    """Over 2028–2060 each derived day off is a weekday of that year, and there are as many
    as statutory days (a holiday on a weekend moves to a weekday, none is lost)."""
    for year in range(2028, 2061):
        off = holidays.derived(year).days_off
        assert all(d.weekday() < 5 for d in off)
        assert len(off) == len(holidays.statutory_days(year))
        assert all(d.year == year for d in off)


def test_a_make_up_saturday_is_a_full_weekday_for_a_saturday_reception_unit() -> None:
    """Sat 26/4/2025 is a make-up working day: the One-Stop Unit works its weekday hours
    (8 h), not only its Saturday-morning reception (4 h) — under Decree 61, in force then."""
    cal = builtin_book()[0].unit_calendar("ONE_STOP")
    assert cal.working_hours_between(at("2025-04-26T00:00"), at("2025-04-27T00:00")) == 8 * 3600


def test_derived_years_follow_the_labour_code_in_force_that_year() -> None:
    """2006 (Labour Code 1994): Tết 4 days, no Hùng Kings; 2018 (Labour Code 2012): Tết 5
    days, Hùng Kings, 2/9 alone; 2028 (Labour Code 2019): a day next to 2/9 and, from
    2026, Culture Day 24/11."""
    y2006, y2018, y2028 = (holidays.statutory_days(y) for y in (2006, 2018, 2028))
    assert len(y2006) == 8 and date(2006, 4, 7) not in y2006  # Hùng Kings 2006 was 7/4
    assert len(y2018) == 10 and date(2018, 4, 25) in y2018 and date(2018, 9, 3) not in y2018
    assert len(y2028) == 12 and date(2028, 11, 24) in y2028
    assert sum(1 for d in y2028 if d.month == 9) == 2
