"""Rules as data: policy files with an effective date, checked strictly at load.

A dossier is judged by the policy in force on the day it was received, because the
legal basis changes (Decree 61/2018 → Decree 118/2025 on 1 July 2025).  A bad file
fails at load with a `PolicyError` naming the file and the key.
"""

from __future__ import annotations

import re
import tomllib
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar

from streams.core.calendar import (
    DAY,
    DEFAULT_HOURS,
    CalendarSpec,
    Span,
    WorkingCalendar,
    date_to_day,
    hours_from_pairs,
    parse_clock,
)
from streams.core.events import MAX_EVENT_BYTES, MAX_JSON_DEPTH

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2200, 12, 31)
"""What the calendar can count in at all (bounds must lie within)."""

LimitKind = Literal["wd", "d", "wh", "h"]
_LIMIT = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(wd|d|wh|h)$")
BUILTIN_POLICIES = ("vn-2018-decree-61.toml", "vn-2025-decree-118.toml")


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and the key."""


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
    warning_bounces: int = 1
    critical_bounces: int = 2
    max_distinct_units: int = 4
    max_consultations: int = 2
    one_stop_unit: str = "ONE_STOP"
    transfer_cutoff: int = 15 * 3600
    next_day_transfer_grace: int = 3600
    online_acceptance_working_hours: float = 8
    supplement_request_working_days: int = 3
    supplement_wait_days: int = 15
    max_supplement_requests: int = 1
    reschedule_notice_working_days: int = 1
    max_reschedules: int = 1
    procedures: Mapping[str, Procedure] = field(default_factory=dict)
    office_hours: tuple[Span, ...] = DEFAULT_HOURS
    unit_calendars: Mapping[str, CalendarSpec] = field(default_factory=dict)
    national_holidays: bool = True
    bounds: Bounds = Bounds()
    stall_seconds: int = field(init=False, default=0)
    """`stall_working_days` as working-day seconds, read on every event."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "stall_seconds", int(self.stall_working_days * DAY))
        base = CalendarSpec(
            weekly_hours={wd: self.office_hours for wd in range(5)},
            national_holidays=self.national_holidays,
        )
        object.__setattr__(self, "_calendar", WorkingCalendar(base))
        object.__setattr__(
            self, "_unit_calendars", {u: WorkingCalendar(s) for u, s in self.unit_calendars.items()}
        )

    @property
    def calendar(self) -> WorkingCalendar:
        """The centre's calendar: what time limits count in."""
        return self._calendar  # type: ignore[attr-defined,no-any-return]

    def unit_calendar(self, unit: str | None) -> WorkingCalendar:
        """A unit's own office hours where it has them (e.g. Saturday-morning reception)."""
        found: WorkingCalendar | None = self._unit_calendars.get(unit)  # type: ignore[attr-defined]
        return found or self.calendar

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

    @classmethod
    def builtin(cls) -> PolicyBook:
        folder = resources.files("streams.policy")
        return cls(
            load_policy_text(folder.joinpath(name).read_text("utf-8"), name)
            for name in BUILTIN_POLICIES
        )

    @classmethod
    def from_paths(cls, paths: Iterable[str | Path]) -> PolicyBook:
        return cls(load_policy(p) for p in paths)


def load_policy(path: str | Path) -> Policy:
    try:
        text = Path(path).read_text("utf-8")
    except OSError as err:
        raise PolicyError(f"{path}: cannot read policy file: {err.strerror}") from None
    return load_policy_text(text, str(path))


T = TypeVar("T")


class _Reader:
    """Walks the TOML tree, remembering every key it used, to reject unknown keys."""

    def __init__(self, source: str, raw: Mapping[str, Any]) -> None:
        self.source = source
        self.raw = raw

    def fail(self, key: str, message: str) -> PolicyError:
        return PolicyError(f"{self.source}: {key}: {message}")

    def table(self, key: str, *, required: bool = False) -> Mapping[str, Any]:
        node: Any = self.raw
        for part in key.split("."):
            if not isinstance(node, Mapping):
                raise self.fail(key, "is not a table")
            if part not in node:
                if required:
                    raise self.fail(key, "is missing")
                return {}
            node = node[part]
        if not isinstance(node, Mapping):
            raise self.fail(key, "must be a table")
        return node

    def check_keys(self, key: str, node: Mapping[str, Any], allowed: Iterable[str]) -> None:
        unknown = sorted(set(node) - set(allowed))
        if unknown:
            where = f"{key}.{unknown[0]}" if key else unknown[0]
            raise self.fail(where, f"unknown key (known: {', '.join(sorted(allowed))})")

    def value(
        self,
        node: Mapping[str, Any],
        key: str,
        name: str,
        convert: Callable[[Any], T],
        default: T,
        check: Callable[[T], bool] = lambda _: True,
        expect: str = "",
    ) -> T:
        if name not in node:
            return default
        try:
            out = convert(node[name])
        except (TypeError, ValueError) as err:
            raise self.fail(f"{key}.{name}", str(err) or f"expected {expect}") from None
        if not check(out):
            raise self.fail(f"{key}.{name}", f"expected {expect}, got {node[name]!r}")
        return out


def _number(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise TypeError(f"expected a number, got {v!r}")
    return float(v)


def _integer(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"expected a whole number, got {v!r}")
    return v


def _text(v: Any) -> str:
    if not isinstance(v, str) or not v:
        raise TypeError(f"expected a non-empty string, got {v!r}")
    return v


def _date(v: Any) -> date:
    if not isinstance(v, date) or isinstance(v, datetime):
        raise TypeError(f"expected a date like 2100-12-31, got {v!r}")
    return v


def _limit(v: Any) -> TimeLimit:
    return TimeLimit.parse(_text(v))


def _list(item: Callable[[Any], T]) -> Callable[[Any], tuple[T, ...]]:
    def convert(v: Any) -> tuple[T, ...]:
        if not isinstance(v, list):
            raise TypeError(f"expected a list, got {v!r}")
        return tuple(item(x) for x in v)

    return convert


def _hours(v: Any) -> tuple[Span, ...]:
    if not isinstance(v, list) or not all(isinstance(p, list) for p in v):
        raise TypeError(f'expected [["07:30", "11:30"], ...], got {v!r}')
    return hours_from_pairs(v)


def _dates(v: Any) -> frozenset[date]:
    if not isinstance(v, list) or not all(isinstance(d, date) for d in v):
        raise TypeError(f"expected a list of dates (2026-01-02), got {v!r}")
    return frozenset(v)


def load_policy_text(text: str, source: str = "<policy>") -> Policy:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise PolicyError(f"{source}: not valid TOML: {err}") from None
    r = _Reader(source, raw)
    sections = (
        "policy",
        "calendar",
        "deadline",
        "stall",
        "ping_pong",
        "consultation",
        "one_stop",
        "procedures",
        "bounds",
    )
    r.check_keys("", raw, sections)

    head = r.table("policy", required=True)
    r.check_keys("policy", head, ("name", "effective_from"))
    if "name" not in head:
        raise r.fail("policy.name", "is missing")
    if "effective_from" not in head:
        raise r.fail("policy.effective_from", "is missing")
    name = r.value(head, "policy", "name", _text, "")
    effective = head["effective_from"]
    if not isinstance(effective, date):
        raise r.fail("policy.effective_from", f"expected a date like 2025-07-01, got {effective!r}")

    cal = r.table("calendar")
    r.check_keys("calendar", cal, ("holidays", "office_hours", "units"))
    holidays_name = r.value(
        cal, "calendar", "holidays", _text, "vn", lambda v: v in ("vn", "none"), '"vn" or "none"'
    )
    office = r.value(cal, "calendar", "office_hours", _hours, DEFAULT_HOURS, bool, "some hours")
    national = holidays_name == "vn"
    unit_specs: dict[str, CalendarSpec] = {}
    units = r.table("calendar.units")
    for unit, spec in units.items():
        key = f"calendar.units.{unit}"
        if not isinstance(spec, Mapping):
            raise r.fail(key, "must be a table")
        day_keys = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        allowed = [f"{d}_hours" for d in day_keys] + ["extra_days_off", "extra_working_days"]
        r.check_keys(key, spec, allowed)
        weekly = {wd: office for wd in range(5)}
        for wd, day_name in enumerate(day_keys):
            weekly[wd] = r.value(spec, key, f"{day_name}_hours", _hours, weekly.get(wd, ()))
        unit_specs[unit] = CalendarSpec(
            weekly_hours={wd: h for wd, h in weekly.items() if h},
            extra_days_off=r.value(spec, key, "extra_days_off", _dates, frozenset()),
            extra_working_days=r.value(spec, key, "extra_working_days", _dates, frozenset()),
            national_holidays=national,
        )

    dl = r.table("deadline")
    r.check_keys(
        "deadline", dl, ("default_time_limit", "warning_fractions", "escalation_working_days")
    )
    fractions: tuple[float, ...] = r.value(
        dl,
        "deadline",
        "warning_fractions",
        _list(_number),
        (0.75, 0.90),
        lambda fs: all(0 < f < 1 for f in fs) and list(fs) == sorted(set(fs)) and len(fs) <= 4,
        "at most 4 increasing fractions between 0 and 1",
    )
    escalations: tuple[int, ...] = r.value(
        dl,
        "deadline",
        "escalation_working_days",
        _list(_integer),
        (1, 3, 5),
        lambda es: all(e > 0 for e in es) and list(es) == sorted(set(es)) and len(es) <= 4,
        "at most 4 increasing whole numbers of working days",
    )
    default_limit = r.value(dl, "deadline", "default_time_limit", _limit, TimeLimit(15, "wd"))

    st = r.table("stall")
    r.check_keys("stall", st, ("working_days",))
    stall = r.value(st, "stall", "working_days", _number, 3.0, lambda v: v > 0, "more than 0")

    pp = r.table("ping_pong")
    r.check_keys("ping_pong", pp, ("warning_bounces", "critical_bounces", "max_distinct_units"))
    warn_b = r.value(pp, "ping_pong", "warning_bounces", _integer, 1, lambda v: v >= 1, "≥ 1")
    crit_b = r.value(
        pp,
        "ping_pong",
        "critical_bounces",
        _integer,
        2,
        lambda v: v > warn_b,
        "more than warning_bounces",
    )
    max_units = r.value(pp, "ping_pong", "max_distinct_units", _integer, 4, lambda v: v >= 2, "≥ 2")

    co = r.table("consultation")
    r.check_keys("consultation", co, ("max_per_dossier",))
    max_cons = r.value(co, "consultation", "max_per_dossier", _integer, 2, lambda v: v >= 0, "≥ 0")

    os_ = r.table("one_stop")
    os_keys = (
        "unit",
        "transfer_cutoff",
        "next_day_transfer_grace_minutes",
        "online_acceptance_working_hours",
        "supplement_request_working_days",
        "supplement_wait_days",
        "max_supplement_requests",
        "reschedule_notice_working_days",
        "max_reschedules",
    )
    r.check_keys("one_stop", os_, os_keys)
    nonneg: Callable[[int], bool] = lambda v: v >= 0  # noqa: E731

    bo = r.table("bounds")
    bounds_keys = (
        "earliest_event_day",
        "latest_event_day",
        "max_time_limit_working_days",
        "max_time_limit_working_hours",
        "max_time_limit_hours",
        "max_events_per_dossier",
        "max_event_bytes",
        "max_json_depth",
    )
    r.check_keys("bounds", bo, bounds_keys)
    positive: Callable[[int], bool] = lambda v: v > 0  # noqa: E731
    in_range: Callable[[date], bool] = lambda v: FIRST_DAY <= v <= LAST_DAY  # noqa: E731
    span = f"a date between {FIRST_DAY} and {LAST_DAY}"
    default = Bounds()
    bounds = Bounds(
        earliest=r.value(
            bo, "bounds", "earliest_event_day", _date, default.earliest, in_range, span
        ),
        latest=r.value(bo, "bounds", "latest_event_day", _date, default.latest, in_range, span),
        max_working_days=r.value(
            bo, "bounds", "max_time_limit_working_days", _integer, 3650, positive, "> 0"
        ),
        max_working_hours=r.value(
            bo, "bounds", "max_time_limit_working_hours", _integer, 3650 * 8, positive, "> 0"
        ),
        max_hours=r.value(
            bo, "bounds", "max_time_limit_hours", _integer, 3650 * 24, positive, "> 0"
        ),
        max_events_per_dossier=r.value(
            bo, "bounds", "max_events_per_dossier", _integer, 5000, positive, "> 0"
        ),
        max_event_bytes=r.value(
            bo, "bounds", "max_event_bytes", _integer, MAX_EVENT_BYTES, positive, "> 0"
        ),
        max_json_depth=r.value(
            bo, "bounds", "max_json_depth", _integer, MAX_JSON_DEPTH, lambda v: v >= 3, "≥ 3"
        ),
    )
    if bounds.latest <= bounds.earliest:
        raise r.fail("bounds.latest_event_day", "must be after earliest_event_day")

    procedures: dict[str, Procedure] = {}
    for code, spec in r.table("procedures").items():
        key = f"procedures.{code}"
        if not isinstance(spec, Mapping):
            raise r.fail(key, "must be a table with time_limit and group")
        r.check_keys(key, spec, ("time_limit", "group"))
        if "time_limit" not in spec:
            raise r.fail(f"{key}.time_limit", "is missing")
        procedures[code] = Procedure(
            time_limit=r.value(spec, key, "time_limit", _limit, default_limit),
            group=r.value(spec, key, "group", _text, "other"),
        )

    return Policy(
        name=name,
        effective_from=effective,
        default_time_limit=default_limit,
        warning_fractions=fractions,
        escalation_working_days=escalations,
        stall_working_days=stall,
        warning_bounces=warn_b,
        critical_bounces=crit_b,
        max_distinct_units=max_units,
        max_consultations=max_cons,
        one_stop_unit=r.value(os_, "one_stop", "unit", _text, "ONE_STOP"),
        transfer_cutoff=r.value(
            os_, "one_stop", "transfer_cutoff", lambda v: parse_clock(_text(v)), 15 * 3600
        ),
        next_day_transfer_grace=60
        * r.value(os_, "one_stop", "next_day_transfer_grace_minutes", _integer, 60, nonneg, "≥ 0"),
        online_acceptance_working_hours=r.value(
            os_,
            "one_stop",
            "online_acceptance_working_hours",
            _number,
            8.0,
            lambda v: v >= 0,
            "≥ 0",
        ),
        supplement_request_working_days=r.value(
            os_, "one_stop", "supplement_request_working_days", _integer, 3, nonneg, "≥ 0"
        ),
        supplement_wait_days=r.value(
            os_, "one_stop", "supplement_wait_days", _integer, 15, lambda v: v > 0, "> 0"
        ),
        max_supplement_requests=r.value(
            os_, "one_stop", "max_supplement_requests", _integer, 1, nonneg, "≥ 0"
        ),
        reschedule_notice_working_days=r.value(
            os_, "one_stop", "reschedule_notice_working_days", _integer, 1, nonneg, "≥ 0"
        ),
        max_reschedules=r.value(os_, "one_stop", "max_reschedules", _integer, 1, nonneg, "≥ 0"),
        procedures=procedures,
        office_hours=office,
        unit_calendars=unit_specs,
        national_holidays=national,
        bounds=bounds,
    )
