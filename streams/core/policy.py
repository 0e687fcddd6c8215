"""Rules as data: the policies in force over time, as typed values.

A dossier is judged by the policy in force on the day it was received, because the
legal basis changes (Decree 61/2018 → Decree 118/2025 on 1 July 2025).  The policies are
read from their files by streams.policy (which checks them and names the file and key of
a mistake); here they are only values.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Literal

from streams.contract.errors import PolicyError
from streams.contract.events import MAX_EVENT_BYTES, MAX_JSON_DEPTH
from streams.core.calendar import (
    DAY,
    DEFAULT_HOURS,
    CalendarSpec,
    Span,
    WorkingCalendar,
    date_to_day,
)
from streams.core.holidays import DERIVED_ONLY, HolidayTable

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2200, 12, 31)
"""What the calendar can count in at all (bounds must lie within)."""

LimitKind = Literal["wd", "d", "wh", "h"]
_LIMIT = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(wd|d|wh|h)$")


@dataclass(frozen=True, slots=True)
class TimeLimit:
    """A statutory time limit: `15wd` working days, `30d` calendar days, `8wh` working hours."""

    amount: float
    kind: LimitKind

    @classmethod
    def parse(cls, text: str) -> TimeLimit:
        match = _LIMIT.match(text.strip())
        if not match or float(match.group(1)) <= 0:
            raise ValueError(
                f"time limit {text!r} is not like 15wd (working days), 30d (calendar days),"
                " 8wh (working hours) or 4h (hours)"
            )
        return cls(float(match.group(1)), match.group(2))  # type: ignore[arg-type]

    def __str__(self) -> str:
        amount = int(self.amount) if self.amount.is_integer() else self.amount
        return f"{amount}{self.kind}"


@lru_cache(maxsize=256)
def parse_limit(text: str) -> TimeLimit:
    """TimeLimit.parse, cached: the same few limits are read for every dossier."""
    return TimeLimit.parse(text)


@dataclass(frozen=True, slots=True)
class Bounds:
    """What an event may say at all: anything outside is rejected before it reaches a
    dossier, so no value an outsider writes can make one event cost more than another
    (calendar arithmetic over 10**20 working days) or reach dates the calendar refuses."""

    earliest: date = date(1990, 1, 1)
    """Events, due dates and reply deadlines before this day are "time out of range"."""
    latest: date = date(2100, 12, 31)
    max_working_days: int = 3650
    """The longest time limit in working days (about 14 years) — and in calendar days."""
    max_working_hours: int = 3650 * 8
    max_hours: int = 3650 * 24
    max_event_bytes: int = MAX_EVENT_BYTES
    max_json_depth: int = MAX_JSON_DEPTH
    max_events_per_dossier: int = 5000
    """Far beyond any real dossier; what keeps one dossier's state (12 bytes per event
    for its identities) and its duplicate check bounded."""

    def limit_ok(self, limit: TimeLimit) -> bool:
        if limit.amount <= 0:
            return False
        if limit.kind in ("wd", "d"):
            return limit.amount <= self.max_working_days
        if limit.kind == "wh":
            return limit.amount <= self.max_working_hours
        return limit.amount <= self.max_hours


@dataclass(frozen=True, slots=True)
class Procedure:
    time_limit: TimeLimit
    group: str


@dataclass(frozen=True)
class Policy:
    name: str
    effective_from: date
    default_time_limit: TimeLimit = TimeLimit(15, "wd")
    warning_fractions: tuple[float, ...] = (0.75, 0.90)
    escalation_working_days: tuple[int, ...] = (1, 3, 5)
    stall_working_days: float = 3
    stall_group_working_days: Mapping[str, float] = field(default_factory=dict)
    """Per procedure group (`Procedure.group`, `Dossier.group`): its own stall threshold,
    where its work normally pauses longer (land: field checks) or should not pause at all
    (civil status: registered at once).  Groups not named take `stall_working_days`."""
    warning_bounces: int = 1
    critical_bounces: int = 2
    max_distinct_units: int = 4
    max_consultations: int = 2
    one_stop_unit: str = "ONE_STOP"
    transfer_cutoff: int = 15 * 3600
    next_day_transfer_grace: int = 0
    online_acceptance_working_hours: float = 8
    online_notice_working_hours: float = 2
    supplement_request_working_days: int = 3
    paper_transfer_working_days: int = 1
    supplement_wait_days: int = 15
    max_supplement_requests: int = 1
    reschedule_notice_working_days: int = 1
    max_reschedules: int = 1
    procedures: Mapping[str, Procedure] = field(default_factory=dict)
    office_hours: tuple[Span, ...] = DEFAULT_HOURS
    unit_calendars: Mapping[str, CalendarSpec] = field(default_factory=dict)
    national_holidays: bool = True
    holidays: HolidayTable = DERIVED_ONLY
    """The announced days off (streams.policy loads them); else the Labour Code's rule."""
    bounds: Bounds = Bounds()
    stall_seconds: int = field(init=False, default=0)
    """`stall_working_days` as working-day seconds, read on every event."""
    # Derived in __post_init__; declared (not set ad hoc) so that a compiled class has them.
    _stall_group_seconds: dict[str, int] = field(init=False, repr=False, compare=False)
    _calendar: WorkingCalendar = field(init=False, repr=False, compare=False)
    _unit_calendars: dict[str, WorkingCalendar] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "stall_seconds", int(self.stall_working_days * DAY))
        object.__setattr__(
            self,
            "_stall_group_seconds",
            {g: int(days * DAY) for g, days in self.stall_group_working_days.items()},
        )
        base = CalendarSpec(
            weekly_hours={wd: self.office_hours for wd in range(5)},
            national_holidays=self.national_holidays,
            holidays=self.holidays,
        )
        object.__setattr__(self, "_calendar", WorkingCalendar(base))
        object.__setattr__(
            self, "_unit_calendars", {u: WorkingCalendar(s) for u, s in self.unit_calendars.items()}
        )

    @property
    def calendar(self) -> WorkingCalendar:
        """The centre's calendar: what time limits count in."""
        return self._calendar

    def unit_calendar(self, unit: str | None) -> WorkingCalendar:
        """A unit's own office hours where it has them (e.g. Saturday-morning reception)."""
        found = self._unit_calendars.get(unit) if unit is not None else None
        return found or self.calendar

    def stall_days(self, group: str) -> float:
        """The stall threshold of a procedure group, in working days."""
        return self.stall_group_working_days.get(group, self.stall_working_days)

    def stall_seconds_for(self, group: str) -> int:
        """`stall_days(group)` as working-day seconds (a dict look-up: read on every event)."""
        return self._stall_group_seconds.get(group, self.stall_seconds)

    def procedure(self, code: str) -> Procedure | None:
        return self.procedures.get(code)


class PolicyBook:
    """The policies in force over time; picks the one for a dossier's receipt date."""

    def __init__(self, policies: Iterable[Policy]) -> None:
        ordered = sorted(policies, key=lambda p: p.effective_from)
        if not ordered:
            raise PolicyError("no policy given")
        self.policies: tuple[Policy, ...] = tuple(ordered)
        self._starts = [date_to_day(p.effective_from) for p in ordered]
        # An event is checked before anyone knows which policy will judge its dossier:
        # the bounds of the newest policy are the contract's.
        self.bounds: Bounds = ordered[-1].bounds

    def index_for_day(self, local_day: int) -> int:
        """Index of the policy in force on that local day (the earliest for older days)."""
        return max(0, bisect_right(self._starts, local_day) - 1)

    def __getitem__(self, index: int) -> Policy:
        return self.policies[index]
