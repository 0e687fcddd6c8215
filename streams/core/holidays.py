"""Vietnamese public holidays: the announced days off as data, the Labour Code rule otherwise.

Announced years are authoritative: a `HolidayTable` is given them as data (loaded by
streams.policy from streams/policy/holidays-vn.toml; the core reads no file).  For any
other year the days off are derived from Labour Code 2019 arts 112 and 111(3): 1/1; Tết
five days (the last day of the lunar year and the first four of the new one); Hùng Kings
10/3 lunar; 30/4; 1/5; 2/9 plus one adjacent day (see `_national_day_pair`); from 2026
Vietnamese Culture Day 24/11 — each year as the code then in force had them
(`statutory_days`: Tết 4 days and no Hùng Kings or second September day in earlier
codes); a holiday on a Saturday or Sunday gives the next working day off.  The yearly
swaps the government announces cannot be derived, so a replay over an unannounced year
is approximate, and the table records each year it answered that way
(`HolidayTable.derived_years_used`) so that an operator can be told.

The lunar calendar is Hồ Ngọc Đức's astronomical algorithm at UTC+7, which is what makes
the Vietnamese Tết differ from the Chinese New Year in some years (e.g. 1985, 2007).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

_TZ_HOURS = 7.0
_JD_OFFSET = 1721425  # Julian day number of date.fromordinal(0)


def _jd(d: date) -> int:
    return d.toordinal() + _JD_OFFSET


def _from_jd(jd: int) -> date:
    return date.fromordinal(jd - _JD_OFFSET)


def _new_moon(k: int) -> float:
    t = k / 1236.85
    t2, t3 = t * t, t * t * t
    dr = math.pi / 180
    jd1 = 2415020.75933 + 29.53058868 * k + 0.0001178 * t2 - 0.000000155 * t3
    jd1 += 0.00033 * math.sin((166.56 + 132.87 * t - 0.009173 * t2) * dr)
    m = 359.2242 + 29.10535608 * k - 0.0000333 * t2 - 0.00000347 * t3
    mpr = 306.0253 + 385.81691806 * k + 0.0107306 * t2 + 0.00001236 * t3
    f = 21.2964 + 390.67050646 * k - 0.0016528 * t2 - 0.00000239 * t3
    c1 = (0.1734 - 0.000393 * t) * math.sin(m * dr) + 0.0021 * math.sin(2 * dr * m)
    c1 -= 0.4068 * math.sin(mpr * dr) - 0.0161 * math.sin(dr * 2 * mpr)
    c1 -= 0.0004 * math.sin(dr * 3 * mpr)
    c1 += 0.0104 * math.sin(dr * 2 * f) - 0.0051 * math.sin(dr * (m + mpr))
    c1 -= 0.0074 * math.sin(dr * (m - mpr)) + 0.0004 * math.sin(dr * (2 * f + m))
    c1 -= 0.0004 * math.sin(dr * (2 * f - m)) - 0.0006 * math.sin(dr * (2 * f + mpr))
    c1 += 0.0010 * math.sin(dr * (2 * f - mpr)) + 0.0005 * math.sin(dr * (2 * mpr + m))
    if t < -11:
        deltat = 0.001 + 0.000839 * t + 0.0002261 * t2 - 0.00000845 * t3 - 0.000000081 * t * t3
    else:
        deltat = -0.000278 + 0.000265 * t + 0.000262 * t2
    return jd1 + c1 - deltat


def _new_moon_day(k: int) -> int:
    return math.floor(_new_moon(k) + 0.5 + _TZ_HOURS / 24)


def _sun_longitude_sector(day_number: int) -> int:
    """Which of the 12 thirty-degree sectors the sun is in at local midnight."""
    jdn = day_number - 0.5 - _TZ_HOURS / 24
    t = (jdn - 2451545.0) / 36525
    t2 = t * t
    dr = math.pi / 180
    m = 357.52910 + 35999.05030 * t - 0.0001559 * t2 - 0.00000048 * t * t2
    l0 = 280.46645 + 36000.76983 * t + 0.0003032 * t2
    dl = (1.914600 - 0.004817 * t - 0.000014 * t2) * math.sin(dr * m)
    dl += (0.019993 - 0.000101 * t) * math.sin(dr * 2 * m) + 0.000290 * math.sin(dr * 3 * m)
    lon = (l0 + dl) * dr
    lon -= math.pi * 2 * math.floor(lon / (math.pi * 2))
    return math.floor(lon / math.pi * 6)


def _lunar_month_11(year: int) -> int:
    off = _jd(date(year, 12, 31)) - 2415021
    k = math.floor(off / 29.530588853)
    nm = _new_moon_day(k)
    if _sun_longitude_sector(nm) >= 9:
        nm = _new_moon_day(k - 1)
    return nm


def _leap_month_offset(a11: int) -> int:
    k = math.floor((a11 - 2415021.076998695) / 29.530588853 + 0.5)
    i = 1
    arc = _sun_longitude_sector(_new_moon_day(k + i))
    while True:
        last = arc
        i += 1
        arc = _sun_longitude_sector(_new_moon_day(k + i))
        if not (arc != last and i < 14):
            return i - 1


def lunar_to_solar(day: int, month: int, year: int) -> date:
    """The solar date of a (non-leap) lunar day in Viet Nam's calendar (UTC+7)."""
    if month < 11:
        a11, b11 = _lunar_month_11(year - 1), _lunar_month_11(year)
    else:
        a11, b11 = _lunar_month_11(year), _lunar_month_11(year + 1)
    k = math.floor(0.5 + (a11 - 2415021.076998695) / 29.530588853)
    off = (month - 11) % 12
    if b11 - a11 > 365:
        leap_off = _leap_month_offset(a11)
        if off >= leap_off:
            off += 1
    return _from_jd(_new_moon_day(k + off) + day - 1)


def tet(year: int) -> date:
    """Lunar New Year's day (1/1 lunar) falling in solar `year`."""
    return lunar_to_solar(1, 1, year)


@dataclass(frozen=True, slots=True)
class YearDaysOff:
    days_off: frozenset[date]
    makeup_saturdays: frozenset[date]
    announced: bool


CULTURE_DAY_FROM = 2026
"""Vietnamese Culture Day, 24/11, is a paid day off from 1 July 2026 (Resolution
28/2026/QH16, as reported; the announced 2026 and 2027 rows list it)."""


def _national_day_pair(year: int) -> date:
    """The day the Prime Minister adds to 2/9 (Labour Code 2019 art 112(1)(đ)).

    The code says only "one day before or after".  Every announcement since the code took
    effect picks the side that joins the holiday to a weekend, and the day before when 2/9
    is a Wednesday: 2021 Thu → Fri 3/9; 2022 Fri → Thu 1/9; 2023 Sat → Fri 1/9; 2024
    Mon → Tue 3/9; 2025 Tue → Mon 1/9; 2026 Wed → Tue 1/9 (Mon 31/8 swapped on top);
    2027 Thu → Fri 3/9.  On a Sunday 2/9 the day after is taken: either side then gives
    Monday 3/9 and Tuesday 4/9 off once the weekend rule moves the Saturday or Sunday.
    """
    national = date(year, 9, 2)
    after = national.weekday() in (0, 3, 6)  # Monday, Thursday, Sunday
    return national + timedelta(days=1 if after else -1)


LABOUR_CODE_2012_FROM = 2013
"""Labour Code 2012 (in force 1 May 2013, so from Tết 2014 in practice; 2013's Tết had
passed) gave Tết 5 days; before it, Tết was 4 days (Labour Code 1994 art 73)."""
LABOUR_CODE_2019_FROM = 2021
"""Labour Code 2019 (in force 1 January 2021) added a day next to 2/9 (art 112(1)(đ))."""
HUNG_KINGS_FROM = 2007
"""The Hùng Kings' commemoration became a paid day off in 2007 (Labour Code amended 2007)."""


def statutory_days(year: int) -> tuple[date, ...]:
    """The Labour Code's holidays of `year` as the code in force that year had them, in
    order, before a weekend moves any of them (a day twice when two holidays coincide):
    an inspector replaying 2018 is judged by 2018's days off, not today's."""
    new_year = tet(year)
    tet_days = 5 if year > LABOUR_CODE_2012_FROM else 4  # the last day of the year, then 3 or 4
    days = [
        date(year, 1, 1),
        *(new_year + timedelta(days=i) for i in range(-1, tet_days - 1)),
        date(year, 4, 30),
        date(year, 5, 1),
        date(year, 9, 2),
    ]
    if year >= HUNG_KINGS_FROM:
        days.append(lunar_to_solar(10, 3, year))
    if year >= LABOUR_CODE_2019_FROM:
        days.append(_national_day_pair(year))
    if year >= CULTURE_DAY_FROM:
        days.append(date(year, 11, 24))
    # Not deduplicated: Hùng Kings can fall on 30/4 or 1/5, and each holiday is a day off.
    return tuple(sorted(days))


def _derived(year: int) -> YearDaysOff:
    statutory = statutory_days(year)
    off: set[date] = set()
    for day in statutory:
        if day.weekday() < 5 and day not in off:
            off.add(day)
            continue
        # A holiday on the weekly rest day (or already taken) moves to the next working day.
        nxt = day + timedelta(days=1)
        while nxt.weekday() >= 5 or nxt in off or nxt in statutory:
            nxt += timedelta(days=1)
        off.add(nxt)
    return YearDaysOff(frozenset(off), frozenset(), announced=False)


@cache
def derived(year: int) -> YearDaysOff:
    """The Labour Code's days off of `year`, when no announcement is known."""
    return _derived(year)


class HolidayTable:
    """The days off of every year: the announced ones as given, the others derived.

    It remembers which years it had to derive (`derived_years_used`): a calendar asked
    about such a year counts in approximate days off, and the metrics say so.
    """

    __slots__ = ("_announced", "_derived_used")

    def __init__(self, announced: Mapping[int, YearDaysOff] | None = None) -> None:
        self._announced = dict(announced or {})
        self._derived_used: set[int] = set()

    def days_off(self, year: int) -> YearDaysOff:
        """The weekday days off and make-up Saturdays of civil servants in `year`."""
        found = self._announced.get(year)
        if found is not None:
            return found
        self._derived_used.add(year)
        return derived(year)

    def derived_years_used(self) -> tuple[int, ...]:
        """The years answered so far by the Labour Code's rule instead of the table, in order.

        A calendar asks for every year it precomputes (a year's margin around the dates it
        is asked about, growing in steps of years), so a year can appear here shortly
        before any dossier's dates reach it: early enough to load its table.
        """
        return tuple(sorted(self._derived_used.copy()))  # copy: a scrape may run in a thread


DERIVED_ONLY = HolidayTable()
"""No announced year: the Labour Code's rule everywhere (streams.policy loads the real
table; a calendar built without it is approximate and says so)."""
