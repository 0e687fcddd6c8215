"""Detectors: each a small set of pure functions over (dossier, event or now, policy).

Event checks are plain functions called by the state machine at the transition they
watch.  A detector that waits for time is a `Timer` (below): the state machine fires
timers and schedules wake-ups from this one list, so a new timed rule is one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from streams.core.context import Ctx
from streams.core.detectors import citizen, consultation, deadline, one_stop, routing, stall
from streams.core.dossier import Dossier
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


def _fire_deadline(ctx: Ctx, d: Dossier, at: int) -> None:
    d.deadline_next = deadline.fire(ctx, d, at + 1)


def _fire_stall(ctx: Ctx, d: Dossier, at: int) -> None:
    stall.fire(ctx, d, at + 1)


def _deadline_next(d: Dossier, p: Policy) -> int | None:
    return d.deadline_next  # the next level, kept exact in the state


def _consultation_next(d: Dossier, p: Policy) -> int | None:
    return consultation.next_at(d)


TIMERS: tuple[Timer, ...] = (
    Timer("deadline", _deadline_next, _deadline_next, _fire_deadline),
    Timer("stall", stall.earliest, stall.next_at, _fire_stall),
    Timer("transfer", one_stop.transfer_earliest, one_stop.transfer_due, one_stop.fire_transfer),
    Timer(
        "acceptance",
        one_stop.acceptance_earliest,
        one_stop.acceptance_due,
        one_stop.fire_acceptance,
    ),
    Timer("intake notice", one_stop.intake_earliest, one_stop.intake_due, one_stop.fire_intake),
    Timer("supplement expiry", citizen.expiry_earliest, citizen.expiry_due, citizen.fire_expiry),
    Timer("consultation reply", _consultation_next, _consultation_next, consultation.fire_next),
    Timer("routing step", routing.step_due, routing.step_due, routing.fire_step),
    Timer("paper file", routing.paper_due, routing.paper_due, routing.fire_paper),
)
"""Every timed rule, in the order equal instants fire."""
