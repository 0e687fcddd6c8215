"""A synthetic province: dossier stories merged into one time-ordered CloudEvents stream.

(Over 400 lines on purpose: each behaviour's story is written out as a flow of events,
side by side, so a reader checks them against the rule each one trips.)

Pure and deterministic: no I/O, no wall clock, every random draw comes from a seeded
`random.Random`.  Each dossier gets its own generator seeded from (seed, counter), so a
dossier's story does not depend on the arrival process or on the other dossiers: a run
with `dossiers=100` is, dossier for dossier, a prefix of a run with `dossiers=1000`.

Only open dossiers are held in memory: a heap with one entry per open dossier (its
next event) merges the stories, so a year of simulated time costs no more memory than
a busy week.

Every behaviour's story is shaped so that it trips its own rule and nothing else under
the default policy (see the flow functions and `tests/unit/test_simulator.py`): every
event falls within office hours on a working day, and outside `slow_unit`,
`late_reschedule` and the citizen's supplement waits no two consecutive events of a
dossier are more than 16 office hours apart (less than the 3-working-day stall limit).
"""

from __future__ import annotations

import hashlib
import heapq
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from functools import lru_cache
from typing import Final

from streams.core.calendar import WorkingCalendar
from streams.policy import builtin_book

__all__ = ["Behaviours", "Procedure", "Province", "Simulation", "dossier_id", "simulate"]

Event = dict[str, object]

DAY: Final = 86400
HOUR: Final = 3600
_LOCAL_OFFSET: Final = 7 * HOUR  # Asia/Ho_Chi_Minh has had no daylight saving since 1975
_AM_START, _AM_END = 7 * HOUR + 1800, 11 * HOUR + 1800
_PM_START, _PM_END = 13 * HOUR, 17 * HOUR
_OFFICE_DAY: Final = 8 * HOUR
_TRANSFER_CUTOFF: Final = 15 * HOUR  # art 18(2): after 15:00, transfer next morning
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_MAX_QUIET: Final = 16 * HOUR
"""Longest office-hours gap between events of a dossier that is not meant to stall."""

# -- the civil-service calendar ------------------------------------------------------
# The detection core's own calendar, so that what the simulator schedules "within office
# hours on working days" is what the detectors count as such.  Instants below are "local
# seconds": epoch seconds + 7 h, so that `t // DAY` is the local day (the calendar's day
# number) and `t % DAY` the local time of day.


@lru_cache(maxsize=1)
def _calendar() -> WorkingCalendar:
    """The civil-service calendar of the policies in force (announced days off)."""
    return builtin_book()[-1].calendar


@lru_cache(maxsize=1 << 16)
def _working(day: int) -> bool:
    return _calendar().is_working_day(day)


def _nth_working_day(day: int, n: int) -> int:
    """The nth working day strictly after `day` (n ≥ 1)."""
    while n > 0:
        day += 1
        if _working(day):
            n -= 1
    return day


def _snap(t: int) -> int:
    """The first office-hours instant at or after t."""
    while True:
        day, sod = divmod(t, DAY)
        if _working(day):
            if sod < _AM_START:
                return day * DAY + _AM_START
            if sod < _AM_END:
                return t
            if sod < _PM_START:
                return day * DAY + _PM_START
            if sod < _PM_END:
                return t
        t = (day + 1) * DAY


def _add_wh(t: int, seconds: int) -> int:
    """The instant `seconds` of office hours after t (may end exactly at 11:30 or 17:00)."""
    t = _snap(t)
    while True:
        sod = t % DAY
        end = t - sod + (_AM_END if sod < _AM_END else _PM_END)
        if seconds <= end - t:
            return t + seconds
        seconds -= end - t
        t = _snap(end)


def _wh_between(a: int, b: int) -> int:
    """Office-hours seconds in [a, b)."""
    total = 0
    day = a // DAY
    while day * DAY < b:
        if _working(day):
            base = day * DAY
            for start, end in ((_AM_START, _AM_END), (_PM_START, _PM_END)):
                lo, hi = max(a, base + start), min(b, base + end)
                if hi > lo:
                    total += hi - lo
        day += 1
    return total


def _wdt_between(a: int, b: int) -> int:
    """Working-day time in [a, b): each working day weighs 24 h (how day limits count)."""
    total = 0
    day = a // DAY
    while day * DAY < b:
        if _working(day):
            total += min(b, (day + 1) * DAY) - max(a, day * DAY)
        day += 1
    return total


def _add_wdt(t: int, seconds: int) -> int:
    while True:
        day = t // DAY
        if _working(day):
            room = (day + 1) * DAY - t
            if seconds <= room:
                return t + seconds
            seconds -= room
        t = (day + 1) * DAY


def _office_instant(rng: random.Random, day: int) -> int:
    """A uniformly random instant of office hours on `day`."""
    x = rng.randrange(_OFFICE_DAY)
    return day * DAY + (_AM_START + x if x < 4 * HOUR else _PM_START + x - 4 * HOUR)


def _pick(rng: random.Random, lo: int, hi: int) -> int:
    """A random office-hours instant in [lo, hi], or lo when there is none."""
    span = _wh_between(lo, hi)
    return lo if span <= 0 else _add_wh(lo, rng.randrange(span))


_LIMIT: Final = re.compile(r"^([1-9][0-9]*)(wd|d|wh|h)$")


@lru_cache(maxsize=256)
def _parse_limit(text: str) -> tuple[int, str]:
    match = _LIMIT.match(text)
    if not match:
        raise ValueError(f"time limit {text!r} is not like 15wd, 30d, 8wh or 4h")
    return int(match.group(1)), match.group(2)


def _due(t: int, limit: str) -> int:
    """Civil Code arts 147–148: day limits count from the next day and end at 24:00; a
    calendar-day limit ending on a day off rolls to the end of the next working day."""
    n, kind = _parse_limit(limit)
    day = t // DAY
    if kind == "wd":
        return (_nth_working_day(day, n) + 1) * DAY
    if kind == "d":
        end = day + n
        return ((end if _working(end) else _nth_working_day(end, 1)) + 1) * DAY
    if kind == "wh":
        return _add_wh(t, n * HOUR)
    return t + n * HOUR


def _fraction_instant(start: int, due: int, limit: str, fraction: float) -> int:
    """When `fraction` of the time limit is used, measured the way the limit counts."""
    kind = _parse_limit(limit)[1]
    if kind == "wd":
        return _add_wdt(start, int(fraction * _wdt_between(start, due)))
    if kind == "wh":
        return _add_wh(start, int(fraction * _wh_between(start, due)))
    return start + int(fraction * (due - start))


@lru_cache(maxsize=4096)
def _day_prefix(day: int) -> str:
    return date.fromordinal(_EPOCH_ORDINAL + day).isoformat() + "T"


def _fmt(t: int) -> str:
    day, sod = divmod(t, DAY)
    hours, rest = divmod(sod, HOUR)
    minutes, seconds = divmod(rest, 60)
    return f"{_day_prefix(day)}{hours:02d}:{minutes:02d}:{seconds:02d}+07:00"


def _local(dt: datetime) -> float:
    if dt.tzinfo is None:
        raise ValueError(f"naive datetime {dt.isoformat()}: give a time zone offset")
    return dt.timestamp() + _LOCAL_OFFSET


# -- the province ----------------------------------------------------------------------


@dataclass(frozen=True)
class Procedure:
    """An administrative procedure as the simulator knows it (codes are illustrative)."""

    code: str
    name: str
    time_limit: str
    unit: str
    group: str
    weight: float = 1.0
    """Relative share of arrivals."""

    def __post_init__(self) -> None:
        _parse_limit(self.time_limit)
        if self.weight <= 0:
            raise ValueError(f"procedure {self.code}: weight must be positive")

    @property
    def capacity_wh(self) -> float:
        """Roughly how many office hours the limit allows (for choosing stories that fit)."""
        n, kind = _parse_limit(self.time_limit)
        return {"wd": 8.0 * n, "d": 8.0 * n * 5 / 7, "wh": float(n), "h": n / 3}[kind]

    @property
    def in_days(self) -> bool:
        return _parse_limit(self.time_limit)[1] in ("wd", "d")


DEFAULT_PROCEDURES: Final = (
    Procedure("1.001234", "construction permit", "20wd", "DEPT_CONSTRUCTION", "construction", 1.0),
    Procedure(
        "1.001235", "construction permit extension", "5wd", "DEPT_CONSTRUCTION", "construction", 0.6
    ),
    Procedure("1.002110", "first land-use right certificate", "30d", "DEPT_LAND", "land", 1.0),
    Procedure("1.002111", "land registration change", "10wd", "DEPT_LAND", "land", 1.4),
    Procedure("1.003020", "planning information", "15wd", "DEPT_PLANNING", "planning", 0.5),
    Procedure("1.003021", "detailed plan approval", "30d", "DEPT_PLANNING", "planning", 0.3),
    Procedure("1.004301", "tax code registration", "8wh", "DEPT_TAX", "tax", 1.5),
    Procedure("1.004302", "tax refund", "15wd", "DEPT_TAX", "tax", 0.6),
    Procedure("1.005120", "criminal record certificate", "10wd", "DEPT_JUSTICE", "justice", 1.5),
    Procedure("1.006010", "driving licence exchange", "5wd", "DEPT_TRANSPORT", "transport", 1.8),
    Procedure("1.007005", "industrial chemicals licence", "15wd", "DEPT_INDUSTRY", "industry", 0.4),
    Procedure("1.008030", "pharmacy practice certificate", "20wd", "DEPT_HEALTH", "health", 0.5),
)
DEFAULT_STAFF: Final = (
    ("ONE_STOP", 6),
    ("DEPT_PLANNING", 4),
    ("DEPT_CONSTRUCTION", 5),
    ("DEPT_LAND", 6),
    ("DEPT_TAX", 5),
    ("DEPT_JUSTICE", 3),
    ("DEPT_TRANSPORT", 4),
    ("DEPT_INDUSTRY", 3),
    ("DEPT_HEALTH", 4),
)


@dataclass(frozen=True)
class Province:
    """Units, officers and procedures.  Officers are pseudonymous `O-<unit>-<n>`; officer 1
    of each department is its head (who signs), the others are specialists."""

    one_stop: str = "ONE_STOP"
    staff: tuple[tuple[str, int], ...] = DEFAULT_STAFF
    """(unit, number of officers); every unit but the One-Stop Unit is a department."""
    procedures: tuple[Procedure, ...] = DEFAULT_PROCEDURES
    _departments: list[str] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=list
    )
    _officers: dict[str, tuple[str, ...]] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict
    )
    _eligible: dict[tuple[float, bool], tuple[tuple[Procedure, ...], tuple[float, ...]]] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        units = dict(self.staff)
        self._departments.extend(u for u, _ in self.staff if u != self.one_stop)
        if self.one_stop not in units:
            raise ValueError(f"the One-Stop Unit {self.one_stop!r} needs staff")
        if len(self.departments) < 2:
            raise ValueError("a province needs at least two departments")
        # A head and two specialists: hand-overs and returns need a fresh specialist.
        short = [u for u in self.departments if units[u] < 3]
        if short:
            raise ValueError(f"departments need at least 3 officers: {short}")
        stray = [p.code for p in self.procedures if p.unit not in self.departments]
        if stray or not self.procedures:
            raise ValueError(f"procedures must be handled by a department: {stray}")
        # Looked up for every dossier: computed once here (hashing the province is dear).
        self._officers.update(
            {u: tuple(f"O-{u}-{n}" for n in range(1, count + 1)) for u, count in self.staff}
        )

    @property
    def departments(self) -> tuple[str, ...]:
        return tuple(self._departments)

    def officers(self, unit: str) -> tuple[str, ...]:
        return self._officers[unit]

    def eligible(
        self, min_capacity_wh: float, days_only: bool
    ) -> tuple[tuple[Procedure, ...], tuple[float, ...]]:
        """Procedures whose limit leaves room for a story, with cumulative weights."""
        key = (min_capacity_wh, days_only)
        found = self._eligible.get(key)
        if found is None:
            chosen = [
                p
                for p in self.procedures
                if p.capacity_wh >= min_capacity_wh and (p.in_days or not days_only)
            ] or list(self.procedures)  # a province without long procedures: stories run late
            cumulative, total = [], 0.0
            for p in chosen:
                total += p.weight
                cumulative.append(total)
            found = self._eligible[key] = (tuple(chosen), tuple(cumulative))
        return found


@dataclass(frozen=True)
class Behaviours:
    """Shares of dossiers that misbehave in one way each; the rest are handled promptly."""

    slow_unit: float = 0.08
    ping_pong: float = 0.05
    long_chain: float = 0.02
    consultation_loop: float = 0.04
    late_transfer: float = 0.05
    late_online_acceptance: float = 0.04
    second_supplement: float = 0.02
    late_reschedule: float = 0.03
    withdrawn: float = 0.01

    def __post_init__(self) -> None:
        shares = [getattr(self, f.name) for f in fields(self)]
        if any(not 0.0 <= s <= 1.0 for s in shares) or sum(shares) > 1.0 + 1e-9:
            raise ValueError("behaviour shares must lie in [0, 1] and add up to at most 1")


BEHAVIOURS: Final = tuple(f.name for f in fields(Behaviours))

# -- one dossier's story ---------------------------------------------------------------

_ONLINE_SHARE: Final = 0.45
_REFUSED_SHARE: Final = 0.07


@dataclass
class _Builder:
    rng: random.Random
    province: Province
    dossier: str
    t: int
    events: list[tuple[int, str, Event]] = field(default_factory=list)
    label: str = "prompt"
    proc: Procedure = DEFAULT_PROCEDURES[0]
    received: int = 0
    start: int = 0  # when the time limit runs from: receipt, or the supplement's arrival
    due: int = 0
    unit: str = ""
    officer: str | None = None
    held: set[str] = field(default_factory=set)  # officers who held it: never handed back

    def add(self, kind: str, data: Event, at: int | None = None) -> None:
        at = self.t if at is None else at
        if self.events and at < self.events[-1][0]:
            raise RuntimeError(f"story of {self.dossier} goes back in time at {kind}")
        self.events.append((at, "dossier." + kind, data))

    def later(self, lo_hours: float, hi_hours: float) -> int:
        """An instant lo..hi office hours after the cursor."""
        return _add_wh(self.t, self.rng.randint(int(lo_hours * HOUR), int(hi_hours * HOUR)))

    def fresh_specialist(self, unit: str) -> str:
        specialists = self.province.officers(unit)[1:]
        fresh = [o for o in specialists if o not in self.held]
        return self.rng.choice(fresh or [o for o in specialists if o != self.officer])

    def assign(self, officer: str, lag: tuple[float, float] = (0.1, 2.0)) -> None:
        self.t = self.later(*lag)
        self.add("assigned", {"unit": self.unit, "officer": officer})
        self.officer = officer
        self.held.add(officer)

    def move(self, kind: str, to_unit: str, reason: str, hop: tuple[float, float]) -> None:
        """Transfer or return to another unit, where a specialist who never held it takes it."""
        self.t = self.later(*hop)
        self.add(kind, {"from_unit": self.unit, "to_unit": to_unit, "reason": reason})
        self.unit = to_unit
        self.assign(self.fresh_specialist(to_unit))

    def other_department(self, *exclude: str) -> str:
        return self.rng.choice([u for u in self.province.departments if u not in exclude])


def _begin(
    b: _Builder,
    *,
    min_capacity_wh: float = 0.0,
    days_only: bool = False,
    online: bool | None = None,
    acceptance: tuple[float, float] = (0.25, 3.5),
    transfer_delay: tuple[float, float] | None = None,
) -> None:
    """Submission, receipt at the One-Stop Unit, transfer, and a specialist takes it."""
    rng = b.rng
    procs, cumulative = b.province.eligible(min_capacity_wh, days_only)
    b.proc = proc = rng.choices(procs, cum_weights=cumulative)[0]
    one_stop = b.province.one_stop
    if online is None:
        online = rng.random() < _ONLINE_SHARE
    if online:
        b.add("submitted", {"unit": one_stop, "channel": "online"})
        # Art 17(2): accept within 8 working hours.  Prompt acceptances take at most 3.5
        # weekday office hours, so they stay within 8 even where a One-Stop Unit's
        # Saturday-morning hours (4 h) are counted; late ones (≥ 9) are late either way.
        b.t = b.later(*acceptance)
    b.received = b.start = b.t
    b.due = _due(b.t, proc.time_limit)
    b.add(
        "received",
        {
            "procedure": proc.code,
            "unit": one_stop,
            "channel": "online" if online else "direct",
            "time_limit": proc.time_limit,
            "due": _fmt(b.due),
            "procedure_group": proc.group,
        },
    )
    b.unit = one_stop
    if transfer_delay is not None:
        b.t = b.later(*transfer_delay)
    elif b.t % DAY < _TRANSFER_CUTOFF:  # art 18(2): the same working day…
        room = _wh_between(b.t, b.t - b.t % DAY + _PM_END)
        b.t = _add_wh(b.t, rng.randint(60, max(60, min(2 * HOUR, room - 60))))
    else:  # …or at the start of the next one when received after 15:00: as it opens
        b.t = _nth_working_day(b.t // DAY, 1) * DAY + _AM_START
    b.add("transferred", {"from_unit": one_stop, "to_unit": proc.unit, "reason": "for_handling"})
    b.unit = proc.unit
    b.assign(b.fresh_specialist(proc.unit), (0.1, 0.5) if proc.capacity_wh < 40 else (0.1, 2.0))


def _citizen_reply(b: _Builder, lo_days: int, hi_days: int) -> int:
    """When the citizen comes back: some calendar days later, during office hours."""
    day = b.t // DAY + b.rng.randint(lo_days, hi_days)
    if not _working(day):
        day = _nth_working_day(day, 1)
    return _office_instant(b.rng, day)


def _request_supplement(b: _Builder, at: int) -> None:
    b.t = at
    b.add("supplement_requested", {"unit": b.unit, "reason": "missing_documents"})


def _supplement_arrives(b: _Builder) -> None:
    b.t = _citizen_reply(b, 1, 7)  # well inside the 15 days before the dossier is closed
    b.add("supplement_received", {})
    b.start = b.t  # the time limit restarts from zero (art 19(5))
    b.due = _due(b.t, b.proc.time_limit)


def _timely_supplement_instant(b: _Builder) -> int | None:
    """Within 2 office days of receipt: inside the 3-working-day window by any reading."""
    lo, hi = _add_wh(b.t, 360), _add_wh(b.received, 16 * HOUR)
    return _pick(b.rng, lo, hi) if lo < hi else None


def _consult_once(b: _Builder) -> None:
    """One opinion asked of another department, answered well before its deadline."""
    b.t = b.later(0.2, 4.0)
    consulted = b.other_department(b.unit)
    reply_due = _nth_working_day(b.t // DAY, b.rng.randint(2, 3)) * DAY + _PM_END
    cid = f"{b.dossier}-C1"
    b.add(
        "consultation_requested",
        {"consulted_unit": consulted, "reply_due": _fmt(reply_due), "consultation_id": cid},
    )
    b.t = _pick(b.rng, _add_wh(b.t, 1800), min(_add_wh(b.t, 14 * HOUR), reply_due - 1800))
    b.add("consultation_answered", {"consulted_unit": consulted, "consultation_id": cid})


def _finish(b: _Builder, *, cap_hours: float = _MAX_QUIET / HOUR) -> None:
    """The head signs (sometimes as a separate step), the result is ready and handed over,
    all before 60% of the time limit is used (so no near-due warning)."""
    rng = b.rng
    latest = min(
        _fraction_instant(b.start, b.due, b.proc.time_limit, 0.6),
        _add_wh(b.t, int(cap_hours * HOUR)),
    )
    lo = _add_wh(b.t, 360)
    done = _pick(rng, lo, latest) if lo < latest else lo
    head = b.province.officers(b.unit)[0]
    if b.officer != head and rng.random() < 0.7:
        b.add("assigned", {"unit": b.unit, "officer": head}, at=_pick(rng, b.t, done))
        b.officer = head
    b.t = done
    outcome = "refused" if rng.random() < _REFUSED_SHARE else "approved"
    b.add("completed", {"outcome": outcome})
    b.t = b.later(0.1, 16.0)
    b.add("delivered", {})


def _prompt_body(b: _Builder) -> None:
    if b.proc.in_days and b.rng.random() < 0.10:
        at = _timely_supplement_instant(b)
        if at is not None:
            _request_supplement(b, at)
            _supplement_arrives(b)
    if b.proc.capacity_wh >= 120 and b.rng.random() < 0.15:
        _consult_once(b)
    _finish(b)


# Each flow below states its event sequence; `…` is the shared ending of `_finish`:
# [assigned(head)] completed delivered.  "specialist" = an officer not yet holding it.


def _flow_prompt(b: _Builder) -> None:
    """[submitted] received transferred(ONE_STOP→A) assigned [supplement_requested
    supplement_received] [consultation_requested consultation_answered] …"""
    _begin(b)
    _prompt_body(b)


def _flow_slow_unit(b: _Builder) -> None:
    """… assigned, then nothing for ≥ 6 working days and until 1–5 working days after the
    due date: completed on day max(assignment day + 6 wd, due day + k wd), no apology."""
    _begin(b)
    due_day = (b.due - 1) // DAY
    day = max(_nth_working_day(b.t // DAY, 6), _nth_working_day(due_day, b.rng.randint(1, 5)))
    b.t = _office_instant(b.rng, day)
    b.add("completed", {"outcome": "refused" if b.rng.random() < _REFUSED_SHARE else "approved"})
    b.t = b.later(0.1, 16.0)
    b.add("delivered", {})


def _flow_ping_pong(b: _Builder) -> None:
    """Units A→B→A(→B) by transferred / returned / transferred (each followed by an
    assignment to a specialist who never held it, so officers never bounce), or
    officers o1→o2→o1(→o2) by assigned within A; then …"""
    _begin(b, min_capacity_wh=120)
    rng, hop = b.rng, (1.0, 8.0)
    twice = rng.random() < 0.45
    if rng.random() < 0.6:
        a, other = b.unit, b.other_department(b.unit)
        b.move("transferred", other, "outside_competence", hop)
        b.move("returned", a, "belongs_to_sender", hop)
        if twice:
            b.move("transferred", other, "outside_competence", hop)
        b.label = "ping_pong:units_ABAB" if twice else "ping_pong:units_ABA"
    else:
        first = b.officer or ""
        second = b.fresh_specialist(b.unit)
        for officer in (second, first, second) if twice else (second, first):
            b.assign(officer, hop)
        b.label = "ping_pong:officers_ABAB" if twice else "ping_pong:officers_ABA"
    _finish(b)


def _flow_long_chain(b: _Builder) -> None:
    """transferred ONE_STOP→A, then transferred to 4–5 more departments, never revisiting
    one (5–6 distinct departments, 6–7 units with ONE_STOP), assigned in each; then …"""
    _begin(b, min_capacity_wh=120)
    length = min(b.rng.choice((5, 5, 6)), len(b.province.departments))
    chain = b.rng.sample([u for u in b.province.departments if u != b.unit], length - 1)
    for unit in chain:
        b.move("transferred", unit, "next_step", (1.0, 6.0))
    b.label = f"long_chain:{length}"
    _finish(b)


def _flow_consultation_loop(b: _Builder) -> None:
    """3–5 consultations one after the other (request, then its answer), each with a reply
    deadline 4 or 8 office hours ahead; a quarter of the answers come 0.5–2 office hours
    after it; then …"""
    _begin(b, min_capacity_wh=120)
    rng, late_any = b.rng, False
    for n in range(1, rng.randint(3, 5) + 1):
        b.t = b.later(0.5, 2.0)
        consulted = b.other_department(b.unit)
        reply_due = _add_wh(b.t, rng.choice((4, 8)) * HOUR) // 60 * 60
        cid = f"{b.dossier}-C{n}"
        b.add(
            "consultation_requested",
            {"consulted_unit": consulted, "reply_due": _fmt(reply_due), "consultation_id": cid},
        )
        if rng.random() < 0.25:
            late_any = True
            b.t = _add_wh(reply_due, rng.randint(1800, 2 * HOUR))
        else:
            b.t = _pick(rng, _add_wh(b.t, 1800), reply_due - 900)
        b.add("consultation_answered", {"consulted_unit": consulted, "consultation_id": cid})
    b.label = "consultation_loop:late_reply" if late_any else "consultation_loop:on_time"
    _finish(b)


def _flow_late_transfer(b: _Builder) -> None:
    """received at ONE_STOP, transferred 9–16 office hours later (the next working day
    or the one after), then as prompt."""
    _begin(b, min_capacity_wh=120, transfer_delay=(9.0, 16.0))
    _prompt_body(b)


def _flow_late_online_acceptance(b: _Builder) -> None:
    """submitted, received 9–16 office hours later, then as prompt."""
    _begin(b, online=True, acceptance=(9.0, 16.0))
    _prompt_body(b)


def _flow_second_supplement(b: _Builder) -> None:
    """supplement_requested supplement_received supplement_requested supplement_received,
    then … .  The first request is timely (≤ 16 office hours after receipt) or, for 40%,
    on the 4th working day after the receipt day (after hand-overs to fresh officers of the
    unit keep the dossier moving); the second comes 1–12 office hours after the first
    supplement arrived."""
    _begin(b, min_capacity_wh=40, days_only=True)
    rng = b.rng
    at = _timely_supplement_instant(b)
    if at is None or rng.random() < 0.4:
        at = _nth_working_day(b.received // DAY, 4) * DAY + _AM_START + rng.randint(0, 2 * HOUR)
        # Fresh specialists first and the head last, so that nobody gets it back.
        head, *specialists = b.province.officers(b.unit)
        fresh = [head, *rng.sample(specialists, len(specialists))]
        fresh = [o for o in fresh if o not in b.held]
        while _wh_between(b.t, at) > 14 * HOUR and fresh:
            b.assign(fresh.pop(), (11.0, 14.0))
        b.label = "second_supplement:first_late"
    else:
        b.label = "second_supplement"
    _request_supplement(b, at)
    _supplement_arrives(b)
    _request_supplement(b, b.later(1.0, 12.0))
    _supplement_arrives(b)
    _finish(b)


def _flow_late_reschedule(b: _Builder) -> None:
    """… assigned, quiet, then rescheduled on the due day itself (60%) or 1–2 working days
    after it, new_due = 24:00 of 5–10 working days later; a quarter are rescheduled again
    the next working day (new_due 3–8 working days after the first new_due); then …
    within 16 office hours."""
    _begin(b, days_only=True)
    rng = b.rng
    due_day = (b.due - 1) // DAY
    after = rng.random() < 0.4
    day = _nth_working_day(due_day, rng.randint(1, 2)) if after else due_day
    twice = rng.random() < 0.25
    new_due = (_nth_working_day(day, rng.randint(5, 10)) + 1) * DAY
    b.t = max(_office_instant(rng, day), _add_wh(b.t, 600))
    b.add("rescheduled", {"new_due": _fmt(new_due), "reason": "awaiting_appraisal"})
    if twice:
        day = _nth_working_day(day, 1)
        new_due = (_nth_working_day((new_due - 1) // DAY, rng.randint(3, 8)) + 1) * DAY
        b.t = max(_office_instant(rng, day), _add_wh(b.t, 600))
        b.add("rescheduled", {"new_due": _fmt(new_due), "reason": "awaiting_appraisal"})
    b.start, b.due = b.t, new_due
    b.label = (
        "late_reschedule:" + ("after_due" if after else "on_due_day") + (":twice" if twice else "")
    )
    _finish(b)


def _flow_withdrawn(b: _Builder) -> None:
    """… assigned, then withdrawn 0.5–14 office hours later (before 60% of the limit);
    or (half of those with a day limit) supplement_requested in time, then withdrawn 1–10
    days later instead of supplying it.  Never completed nor delivered."""
    _begin(b)
    at = _timely_supplement_instant(b) if b.proc.in_days and b.rng.random() < 0.5 else None
    if at is not None:
        _request_supplement(b, at)
        b.t = _citizen_reply(b, 1, 10)
        b.label = "withdrawn:awaiting_supplement"
    else:
        latest = min(
            _fraction_instant(b.start, b.due, b.proc.time_limit, 0.6), _add_wh(b.t, 14 * HOUR)
        )
        b.t = _pick(b.rng, _add_wh(b.t, 1800), latest)
        b.label = "withdrawn"
    b.add("withdrawn", {})


_FLOWS: Final = {
    "slow_unit": _flow_slow_unit,
    "ping_pong": _flow_ping_pong,
    "long_chain": _flow_long_chain,
    "consultation_loop": _flow_consultation_loop,
    "late_transfer": _flow_late_transfer,
    "late_online_acceptance": _flow_late_online_acceptance,
    "second_supplement": _flow_second_supplement,
    "late_reschedule": _flow_late_reschedule,
    "withdrawn": _flow_withdrawn,
}
if set(_FLOWS) != set(BEHAVIOURS):  # a behaviour added without its flow, or the reverse
    raise RuntimeError(f"flows {sorted(_FLOWS)} do not match behaviours {sorted(BEHAVIOURS)}")


def _story(
    seed: int,
    counter: int,
    arrival: int,
    province: Province,
    behaviours: Behaviours,
    id_seed: int | None = None,
) -> tuple[str, list[tuple[int, str, Event]], str]:
    dossier = dossier_id(seed if id_seed is None else id_seed, counter)
    rng = random.Random(f"dossier:{seed}:{counter}")
    b = _Builder(rng, province, dossier, arrival)
    u, flow = rng.random(), _flow_prompt
    for name in BEHAVIOURS:
        u -= getattr(behaviours, name)
        if u < 0:
            flow = _FLOWS[name]
            b.label = name
            break
    flow(b)
    return dossier, b.events, b.label


# -- dossier ids -----------------------------------------------------------------------


@lru_cache(maxsize=64)
def _feistel_keys(seed: int) -> tuple[bytes, ...]:
    return tuple(hashlib.blake2b(f"{seed}:{r}".encode(), digest_size=8).digest() for r in range(4))


def dossier_id(seed: int, counter: int) -> str:
    """`HS-` + 10 hex digits: a keyed permutation of the counter (a 4-round Feistel network
    on 40 bits), so ids look random, reveal nothing, and never collide within a run."""
    if not 0 <= counter < 1 << 40:
        raise ValueError("counter out of range")
    left, right = counter >> 20, counter & 0xFFFFF
    for key in _feistel_keys(seed):
        mixed = hashlib.blake2b(right.to_bytes(3, "big"), key=key, digest_size=3).digest()
        left, right = right, left ^ (int.from_bytes(mixed, "big") & 0xFFFFF)
    return f"HS-{left << 20 | right:010x}"


# -- arrivals and the merged stream ----------------------------------------------------

_SLOT = 1800
_SLOT_WEIGHTS: Final = (
    *(0.9, 1.3, 1.5, 1.5, 1.4, 1.3, 1.1, 0.8),  # 07:30–11:30: the morning rush
    *(0.6, 0.9, 1.0, 1.0, 0.9, 0.8, 0.6, 0.4),  # 13:00–17:00
)


class _Arrivals:
    """A Poisson process whose rate follows the half-hour of the working day."""

    def __init__(self, rng: random.Random, t: float, per_working_day: float) -> None:
        total = sum(_SLOT_WEIGHTS)
        self._rng, self._t = rng, t
        self._rates = [per_working_day * w / total / _SLOT for w in _SLOT_WEIGHTS]

    def next(self) -> float:
        t = self._t
        while True:
            day = int(t // DAY)
            sod = t - day * DAY
            if not _working(day) or sod >= _PM_END:
                t = float((day + 1) * DAY)
                continue
            if sod < _AM_START:
                t = float(day * DAY + _AM_START)
                continue
            if _AM_END <= sod < _PM_START:
                t = float(day * DAY + _PM_START)
                continue
            slot = (
                int((sod - _AM_START) // _SLOT)
                if sod < _AM_END
                else 8 + int((sod - _PM_START) // _SLOT)
            )
            slot_end = day * DAY + (
                _AM_START + (slot + 1) * _SLOT if slot < 8 else _PM_START + (slot - 7) * _SLOT
            )
            # Memoryless: a draw that overshoots the slot restarts at the next one.
            t += self._rng.expovariate(self._rates[slot])
            if t < slot_end:
                self._t = t
                return t
            t = float(slot_end)


class _Open:
    __slots__ = ("dossier", "events", "pos")

    def __init__(self, dossier: str, events: list[tuple[int, str, Event]]) -> None:
        self.dossier, self.events, self.pos = dossier, events, 0


class Simulation(Iterator[Event]):
    """The event stream of `simulate`; also reports how much it holds in memory."""

    def __init__(
        self,
        *,
        seed: int,
        start: datetime,
        dossiers: int | None,
        until: datetime | None,
        per_working_day: float,
        province: Province,
        behaviours: Behaviours,
        source: str,
        record_labels: bool,
        run: str | None = None,
    ) -> None:
        if per_working_day <= 0:
            raise ValueError("per_working_day must be positive")
        if dossiers is not None and dossiers < 0:
            raise ValueError("dossiers must not be negative")
        if behaviours.long_chain > 0 and len(province.departments) < 5:
            raise ValueError("long chains need at least 5 departments")
        self._seed, self._province, self._behaviours = seed, province, behaviours
        # A run anchored to the present gets dossier ids of its own: a restarted simulator
        # must not send old dossiers' ids with new times (conflicting duplicates).
        self._id_seed = (
            None
            if run is None
            else int.from_bytes(hashlib.blake2b(f"{seed}:{run}".encode(), digest_size=6).digest())
        )
        self._source, self._limit = source, dossiers
        self._until = None if until is None else _local(until)
        self._arrivals = _Arrivals(
            random.Random(f"arrivals:{seed}"), _local(start), per_working_day
        )
        self._heap: list[tuple[int, int, _Open]] = []
        self._tie = 0
        self.started = 0
        """Dossiers started so far."""
        self.max_pending = 0
        """The largest number of open dossiers held at once."""
        self.labels: dict[str, str] | None = {} if record_labels else None
        """Dossier id → behaviour label (e.g. "ping_pong:units_ABA"), if asked for; it grows
        with the run, so leave it off for long runs."""
        self._next_arrival = self._draw_arrival()

    @property
    def pending(self) -> int:
        """Open dossiers held now: one heap entry each (its next event)."""
        return len(self._heap)

    def _draw_arrival(self) -> int | None:
        if self._limit is not None and self.started >= self._limit:
            return None
        t = self._arrivals.next()
        if self._until is not None and t >= self._until:
            return None
        return int(t)

    def _push(self, story: _Open) -> None:
        heapq.heappush(self._heap, (story.events[story.pos][0], self._tie, story))
        self._tie += 1

    def __iter__(self) -> Simulation:
        return self

    def __next__(self) -> Event:
        heap = self._heap
        while not heap or (self._next_arrival is not None and heap[0][0] > self._next_arrival):
            arrival = self._next_arrival
            if arrival is None:
                raise StopIteration
            dossier, events, label = _story(
                self._seed, self.started, arrival, self._province, self._behaviours, self._id_seed
            )
            self.started += 1
            if self.labels is not None:
                self.labels[dossier] = label
            self._push(_Open(dossier, events))
            self.max_pending = max(self.max_pending, len(heap))
            self._next_arrival = self._draw_arrival()
        story = heap[0][2]
        at, kind, data = story.events[story.pos]
        story.pos += 1
        if story.pos < len(story.events):
            heapq.heapreplace(heap, (story.events[story.pos][0], self._tie, story))
            self._tie += 1
        else:
            heapq.heappop(heap)
        return {
            "specversion": "1.0",
            "id": f"{story.dossier}-{story.pos}",
            "source": self._source,
            "type": kind,
            "time": _fmt(at),
            "subject": story.dossier,
            "datacontenttype": "application/json",
            "data": data,
        }


def simulate(
    *,
    seed: int,
    start: datetime,
    dossiers: int | None = None,
    until: datetime | None = None,
    per_working_day: float = 200.0,
    province: Province | None = None,
    behaviours: Behaviours | None = None,
    source: str = "dossierwatch-simulator",
    record_labels: bool = False,
    run: str | None = None,
) -> Simulation:
    """CloudEvents dicts for a province's dossiers, in non-decreasing `time` order.

    Arrivals start at `start` (aware) on working days, busier in the morning, about
    `per_working_day` a day; they stop after `dossiers` dossiers or at `until` (the
    dossiers already started still run to their end).  With neither, the stream is
    endless.  The same arguments give the same events, byte for byte.
    """
    return Simulation(
        seed=seed,
        start=start,
        dossiers=dossiers,
        until=until,
        per_working_day=per_working_day,
        province=province or Province(),
        behaviours=behaviours or Behaviours(),
        source=source,
        record_labels=record_labels,
        run=run,
    )
