"""Policy files and the holiday table, read and checked into the core's typed rules.

The files are TOML; their shape is declared once as msgspec structs (unknown keys, wrong
types and out-of-range values are refused by msgspec itself), the few rules that tie two
keys together are checked after, and every failure is one `PolicyError` naming the file
and the dotted key.  The core (streams/core/policy.py) receives built `Policy` objects and
reads no file.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import msgspec

from streams.contract.errors import PolicyError
from streams.core.calendar import DEFAULT_HOURS, CalendarSpec, Span, hours_from_pairs, parse_clock
from streams.core.holidays import HolidayTable, YearDaysOff
from streams.core.policy import (
    FIRST_DAY,
    LAST_DAY,
    Bounds,
    Policy,
    PolicyBook,
    Procedure,
    TimeLimit,
)

BUILTIN_POLICIES = ("vn-2018-decree-61.toml", "vn-2025-decree-118.toml")
HOLIDAYS = "holidays-vn.toml"

Text = Annotated[str, msgspec.Meta(min_length=1)]
Positive = Annotated[float, msgspec.Meta(gt=0)]
Count = Annotated[int, msgspec.Meta(ge=0)]
Hours = list[tuple[str, str]]
_S = TypeVar("_S", bound=msgspec.Struct)


class _Strict(msgspec.Struct, forbid_unknown_fields=True):
    pass


class _Head(_Strict):
    name: Text
    effective_from: date


class _UnitCalendar(_Strict):
    monday_hours: Hours | None = None
    tuesday_hours: Hours | None = None
    wednesday_hours: Hours | None = None
    thursday_hours: Hours | None = None
    friday_hours: Hours | None = None
    saturday_hours: Hours | None = None
    sunday_hours: Hours | None = None
    extra_days_off: list[date] = []
    extra_working_days: list[date] = []


class _Calendar(_Strict):
    holidays: Literal["vn", "none"] = "vn"
    office_hours: Hours | None = None
    units: dict[str, object] = {}
    """Checked one by one (`_UnitCalendar`): msgspec does not name a mapping's keys."""


class _Deadline(_Strict):
    default_time_limit: str = "15wd"
    warning_fractions: Annotated[
        list[Annotated[float, msgspec.Meta(gt=0, lt=1)]], msgspec.Meta(max_length=4)
    ] = msgspec.field(default_factory=lambda: [0.75, 0.90])
    escalation_working_days: Annotated[
        list[Annotated[int, msgspec.Meta(gt=0)]], msgspec.Meta(max_length=4)
    ] = msgspec.field(default_factory=lambda: [1, 3, 5])

    def __post_init__(self) -> None:
        if self.warning_fractions != sorted(set(self.warning_fractions)):
            raise ValueError("warning_fractions: must increase")
        if self.escalation_working_days != sorted(set(self.escalation_working_days)):
            raise ValueError("escalation_working_days: must increase")


class _Stall(_Strict):
    working_days: Positive = 3.0
    groups: dict[str, object] = {}
    """Procedure group → its own working days; checked one by one (`_stall_groups`), so an
    error names the group."""


class _PingPong(_Strict):
    warning_bounces: Annotated[int, msgspec.Meta(ge=1)] = 1
    critical_bounces: int = 2
    max_distinct_units: Annotated[int, msgspec.Meta(ge=2)] = 4

    def __post_init__(self) -> None:
        if self.critical_bounces <= self.warning_bounces:
            raise ValueError("critical_bounces: must be more than warning_bounces")


class _Consultation(_Strict):
    max_per_dossier: Count = 2


class _OneStop(_Strict):
    unit: Text = "ONE_STOP"
    transfer_cutoff: str = "15:00"
    next_day_transfer_grace_minutes: Count = 0
    online_acceptance_working_hours: Annotated[float, msgspec.Meta(ge=0)] = 8.0
    online_notice_working_hours: Annotated[float, msgspec.Meta(ge=0)] = 2.0
    supplement_request_working_days: Count = 3
    paper_transfer_working_days: Annotated[int, msgspec.Meta(gt=0)] = 1
    supplement_wait_days: Annotated[int, msgspec.Meta(gt=0)] = 15
    max_supplement_requests: Count = 1
    reschedule_notice_working_days: Count = 1
    max_reschedules: Count = 1


class _Procedure(_Strict):
    time_limit: str
    group: Text = "other"


class _Bounds(_Strict):
    earliest_event_day: date = Bounds().earliest
    latest_event_day: date = Bounds().latest
    max_time_limit_working_days: Annotated[int, msgspec.Meta(gt=0)] = 3650
    max_time_limit_working_hours: Annotated[int, msgspec.Meta(gt=0)] = 3650 * 8
    max_time_limit_hours: Annotated[int, msgspec.Meta(gt=0)] = 3650 * 24
    max_events_per_dossier: Annotated[int, msgspec.Meta(gt=0)] = 5000
    max_event_bytes: Annotated[int, msgspec.Meta(gt=0)] = Bounds().max_event_bytes
    max_json_depth: Annotated[int, msgspec.Meta(ge=3)] = Bounds().max_json_depth

    def __post_init__(self) -> None:
        for day in (self.earliest_event_day, self.latest_event_day):
            if not FIRST_DAY <= day <= LAST_DAY:
                raise ValueError(f"event days: must lie between {FIRST_DAY} and {LAST_DAY}")
        if self.latest_event_day <= self.earliest_event_day:
            raise ValueError("latest_event_day: must be after earliest_event_day")


class _PolicyFile(_Strict):
    policy: _Head
    calendar: _Calendar = msgspec.field(default_factory=_Calendar)
    deadline: _Deadline = msgspec.field(default_factory=_Deadline)
    stall: _Stall = msgspec.field(default_factory=_Stall)
    ping_pong: _PingPong = msgspec.field(default_factory=_PingPong)
    consultation: _Consultation = msgspec.field(default_factory=_Consultation)
    one_stop: _OneStop = msgspec.field(default_factory=_OneStop)
    procedures: dict[str, object] = {}
    """Checked one by one (`_Procedure`): msgspec does not name a mapping's keys."""
    bounds: _Bounds = msgspec.field(default_factory=_Bounds)


class _Year(_Strict):
    days_off: list[str] = []
    makeup_saturdays: list[str] = []


class _HolidayFile(_Strict):
    years: dict[str, _Year]


# -- errors that name the key -----------------------------------------------------------

_AT = re.compile(r"^(.*?)(?: - at `\$(.*)`)?$", re.S)
_FIELD = re.compile(r"`([^`]+)`")


def _dotted(path: str) -> str:
    """msgspec's `.procedures['1.1'].time_limit` as the file's `procedures.1.1.time_limit`."""
    return re.sub(r"\['([^']*)'\]", r".\1", path).lstrip(".")


def _key_error(source: str, err: msgspec.ValidationError) -> PolicyError:
    found = _AT.match(str(err))
    text, path = (found.group(1), _dotted(found.group(2) or "")) if found else (str(err), "")
    field = _FIELD.search(text)
    if text.startswith("Object missing required field") and field:
        key, reason = f"{path}.{field.group(1)}".lstrip("."), "is missing"
    elif text.startswith("Object contains unknown field") and field:
        key, reason = f"{path}.{field.group(1)}".lstrip("."), "unknown key"
    elif (named := re.match(r"^(\w[\w ]*): (.*)$", text, re.S)) is not None:
        key, reason = f"{path}.{named.group(1)}".lstrip("."), named.group(2)
    else:
        key, reason = path or "(file)", text
    return PolicyError(f"{source}: {key}: {reason}")


def _entry(source: str, key: str, raw: object, kind: type[_S]) -> _S:
    """One entry of a mapping, checked with its key in the errors' path."""
    try:
        return msgspec.convert(raw, kind)
    except msgspec.ValidationError as err:
        inner = _key_error(source, err)
        rest = str(inner).removeprefix(f"{source}: ")
        where = key if rest.startswith("(file)") else f"{key}.{rest}"
        raise PolicyError(f"{source}: {where.replace('(file): ', '')}") from None


# -- policies ---------------------------------------------------------------------------


def load_policy_text(
    text: str, source: str = "<policy>", holidays: HolidayTable | None = None
) -> Policy:
    """One policy file's text as the core's `Policy`; `PolicyError` naming file and key."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise PolicyError(f"{source}: not valid TOML: {err}") from None
    try:
        f = msgspec.convert(raw, _PolicyFile)
    except msgspec.ValidationError as err:
        raise _key_error(source, err) from None
    return _build(f, source, vn_holidays() if holidays is None else holidays)


def _limit(source: str, key: str, text: str) -> TimeLimit:
    try:
        return TimeLimit.parse(text)
    except ValueError as err:
        raise PolicyError(f"{source}: {key}: {err}") from None


def _hours(
    source: str, key: str, pairs: Hours | None, default: tuple[Span, ...]
) -> tuple[Span, ...]:
    if pairs is None:
        return default
    try:
        spans = hours_from_pairs(pairs)
    except ValueError as err:
        raise PolicyError(f"{source}: {key}: {err}") from None
    if not spans and key.endswith("office_hours"):
        raise PolicyError(f"{source}: {key}: expected some hours")
    return spans


def _build(f: _PolicyFile, source: str, holidays: HolidayTable) -> Policy:
    national = f.calendar.holidays == "vn"
    office = _hours(source, "calendar.office_hours", f.calendar.office_hours, DEFAULT_HOURS)
    units: dict[str, CalendarSpec] = {}
    days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    for unit, raw_spec in f.calendar.units.items():
        spec = _entry(source, f"calendar.units.{unit}", raw_spec, _UnitCalendar)
        weekly = {wd: office for wd in range(5)}
        for wd, day in enumerate(days):
            key = f"calendar.units.{unit}.{day}_hours"
            weekly[wd] = _hours(source, key, getattr(spec, f"{day}_hours"), weekly.get(wd, ()))
        units[unit] = CalendarSpec(
            weekly_hours={wd: h for wd, h in weekly.items() if h},
            extra_days_off=frozenset(spec.extra_days_off),
            extra_working_days=frozenset(spec.extra_working_days),
            national_holidays=national,
            holidays=holidays,
        )
    default_limit = _limit(source, "deadline.default_time_limit", f.deadline.default_time_limit)
    try:
        cutoff = parse_clock(f.one_stop.transfer_cutoff)
    except ValueError as err:
        raise PolicyError(f"{source}: one_stop.transfer_cutoff: {err}") from None
    b = f.bounds
    return Policy(
        name=f.policy.name,
        effective_from=f.policy.effective_from,
        default_time_limit=default_limit,
        warning_fractions=tuple(f.deadline.warning_fractions),
        escalation_working_days=tuple(f.deadline.escalation_working_days),
        stall_working_days=f.stall.working_days,
        stall_group_working_days=_stall_groups(source, f.stall.groups, f.bounds),
        warning_bounces=f.ping_pong.warning_bounces,
        critical_bounces=f.ping_pong.critical_bounces,
        max_distinct_units=f.ping_pong.max_distinct_units,
        max_consultations=f.consultation.max_per_dossier,
        one_stop_unit=f.one_stop.unit,
        transfer_cutoff=cutoff,
        next_day_transfer_grace=60 * f.one_stop.next_day_transfer_grace_minutes,
        online_acceptance_working_hours=f.one_stop.online_acceptance_working_hours,
        online_notice_working_hours=f.one_stop.online_notice_working_hours,
        supplement_request_working_days=f.one_stop.supplement_request_working_days,
        paper_transfer_working_days=f.one_stop.paper_transfer_working_days,
        supplement_wait_days=f.one_stop.supplement_wait_days,
        max_supplement_requests=f.one_stop.max_supplement_requests,
        reschedule_notice_working_days=f.one_stop.reschedule_notice_working_days,
        max_reschedules=f.one_stop.max_reschedules,
        procedures=_procedures(source, f.procedures),
        office_hours=office,
        unit_calendars=units,
        national_holidays=national,
        holidays=holidays,
        bounds=Bounds(
            earliest=b.earliest_event_day,
            latest=b.latest_event_day,
            max_working_days=b.max_time_limit_working_days,
            max_working_hours=b.max_time_limit_working_hours,
            max_hours=b.max_time_limit_hours,
            max_events_per_dossier=b.max_events_per_dossier,
            max_event_bytes=b.max_event_bytes,
            max_json_depth=b.max_json_depth,
        ),
    )


def _stall_groups(source: str, raw: dict[str, object], b: _Bounds) -> dict[str, float]:
    """`[stall.groups]`: a positive number of working days per procedure group, within the
    longest time limit an event may state (a stall never due is no stall)."""
    out: dict[str, float] = {}
    for group, days in raw.items():
        key = "stall.groups." + (group or '""')
        if not group.strip():
            raise PolicyError(f"{source}: {key}: a group name cannot be empty")
        if isinstance(days, bool) or not isinstance(days, int | float):
            raise PolicyError(f"{source}: {key}: Expected a number of working days, got {days!r}")
        if not 0 < days <= b.max_time_limit_working_days:
            raise PolicyError(
                f"{source}: {key}: Expected working days > 0 and <="
                f" {b.max_time_limit_working_days}, got {days!r}"
            )
        out[group] = float(days)
    return out


def _procedures(source: str, raw: dict[str, object]) -> dict[str, Procedure]:
    out: dict[str, Procedure] = {}
    for code, entry in raw.items():
        p = _entry(source, f"procedures.{code}", entry, _Procedure)
        out[code] = Procedure(
            _limit(source, f"procedures.{code}.time_limit", p.time_limit), p.group
        )
    return out


def load_policy(path: str | Path) -> Policy:
    try:
        text = Path(path).read_text("utf-8")
    except OSError as err:
        raise PolicyError(f"{path}: cannot read policy file: {err.strerror}") from None
    return load_policy_text(text, str(path))


@cache
def builtin_book() -> PolicyBook:
    """Decree 61/2018 and Decree 118/2025, as shipped (read once per process)."""
    folder = resources.files("streams.policy")
    return PolicyBook(
        load_policy_text(folder.joinpath(name).read_text("utf-8"), name)
        for name in BUILTIN_POLICIES
    )


def book_from_paths(paths: Iterable[str | Path]) -> PolicyBook:
    return PolicyBook(load_policy(p) for p in paths)


def policy_book(paths: Iterable[str | Path] | None) -> PolicyBook:
    """The policies at `paths`, or the built-in ones when none are given."""
    paths = list(paths or ())
    return book_from_paths(paths) if paths else builtin_book()


# -- holidays -------------------------------------------------------------------------


@cache
def vn_holidays() -> HolidayTable:
    """The announced days off of Viet Nam's civil servants (streams/policy/holidays-vn.toml)."""
    text = resources.files("streams.policy").joinpath(HOLIDAYS).read_text("utf-8")
    return holiday_table(text, HOLIDAYS)


def holiday_table(text: str, source: str) -> HolidayTable:
    try:
        f = msgspec.convert(tomllib.loads(text), _HolidayFile)
    except tomllib.TOMLDecodeError as err:
        raise PolicyError(f"{source}: not valid TOML: {err}") from None
    except msgspec.ValidationError as err:
        raise _key_error(source, err) from None
    years: dict[int, YearDaysOff] = {}
    for year_text, spec in f.years.items():
        try:
            year = int(year_text)
            years[year] = YearDaysOff(
                _days(year, spec.days_off), _days(year, spec.makeup_saturdays), announced=True
            )
        except ValueError as err:
            raise PolicyError(f"{source}: years.{year_text}: {err}") from None
    return HolidayTable(years)


def _days(year: int, month_days: Iterable[str]) -> frozenset[date]:
    return frozenset(date.fromisoformat(f"{year}-{md}") for md in month_days)


__all__ = [
    "BUILTIN_POLICIES",
    "book_from_paths",
    "builtin_book",
    "holiday_table",
    "load_policy",
    "load_policy_text",
    "policy_book",
    "vn_holidays",
]
