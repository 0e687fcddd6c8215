"""Detectors: each a small set of pure functions over (dossier, event or now, policy).

Event checks are plain functions called by the state machine at the transition they
watch.  A detector that waits for time is a `Timer` (below): the state machine fires
timers and schedules wake-ups from this one list, so a new timed rule is one entry here.

Each timer also says in which statuses it can be due at all, and whether it needs the
dossier's `Extra`: the state machine looks at a dossier's timers before every event and
after it, so it asks only the few that can concern the dossier as it stands
(`timers_for`), not all nine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from streams.core.context import Ctx
from streams.core.detectors import citizen, consultation, deadline, one_stop, routing, stall
from streams.core.dossier import OPEN, SUBMITTED, SUPPLEMENT, Dossier, Status
from streams.core.policy import Policy

Instant = Callable[[Dossier, Policy], int | None]


@dataclass(frozen=True, slots=True)
class Timer:
    """A rule that fires when time passes: the earliest it may fire (a cheap bound, no
    calendar arithmetic, None when it cannot), exactly when, and what firing does."""

    name: str
    earliest: Instant
    exact: Instant
    fire: Callable[[Ctx, Dossier, int], None]
    statuses: frozenset[Status] = frozenset(Status)
    """The statuses in which `earliest` can be other than None."""
    needs_extra: bool = False
    """True when `earliest` is None for a dossier without `Extra` (`Dossier.x`)."""


def _fire_deadline(ctx: Ctx, d: Dossier, at: int) -> None:
    d.deadline_next = deadline.fire(ctx, d, at + 1)


def _fire_stall(ctx: Ctx, d: Dossier, at: int) -> None:
    stall.fire(ctx, d, at + 1)


def _deadline_next(d: Dossier, p: Policy) -> int | None:
    return d.deadline_next  # the next level, kept exact in the state


def _consultation_next(d: Dossier, p: Policy) -> int | None:
    return consultation.next_at(d)


_OPEN = frozenset({OPEN})
_SUBMITTED = frozenset({SUBMITTED})

TIMERS: tuple[Timer, ...] = (
    # Every status: the cached instant is the whole test, and costs one attribute read.
    Timer("deadline", _deadline_next, _deadline_next, _fire_deadline),
    Timer("stall", stall.earliest, stall.next_at, _fire_stall, _OPEN),
    Timer(
        "transfer",
        one_stop.transfer_earliest,
        one_stop.transfer_due,
        one_stop.fire_transfer,
        _OPEN,
    ),
    Timer(
        "acceptance",
        one_stop.acceptance_earliest,
        one_stop.acceptance_due,
        one_stop.fire_acceptance,
        _SUBMITTED,
    ),
    Timer(
        "intake notice",
        one_stop.intake_earliest,
        one_stop.intake_due,
        one_stop.fire_intake,
        _SUBMITTED,
    ),
    Timer(
        "supplement expiry",
        citizen.expiry_earliest,
        citizen.expiry_due,
        citizen.fire_expiry,
        frozenset({SUPPLEMENT}),
        needs_extra=True,
    ),
    Timer(
        "consultation reply",
        _consultation_next,
        _consultation_next,
        consultation.fire_next,
        frozenset({OPEN, SUPPLEMENT}),
        needs_extra=True,
    ),
    Timer("routing step", routing.step_due, routing.step_due, routing.fire_step, _OPEN, True),
    Timer("paper file", routing.paper_due, routing.paper_due, routing.fire_paper, _OPEN, True),
)
"""Every timed rule, in the order equal instants fire."""

# Indexed by status (a small int), then by whether the dossier has its `Extra`.
_STATES: list[tuple[tuple[Timer, ...], tuple[Timer, ...]]] = [((), ())] * (max(Status) + 1)
for _status in Status:
    _STATES[_status] = (
        tuple(t for t in TIMERS if _status in t.statuses and not t.needs_extra),
        tuple(t for t in TIMERS if _status in t.statuses),
    )


def timers_for(d: Dossier) -> tuple[Timer, ...]:
    """The timers that can be due for the dossier as it stands, in the order of TIMERS:
    the others' `earliest` is None in its status (or without its `Extra`)."""
    return _STATES[d.status][d.x is not None]
