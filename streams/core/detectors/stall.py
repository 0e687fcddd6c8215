"""Stall: a dossier left without any progress for N working days in one unit.

N is the policy's for the dossier's procedure group (`[stall.groups]`), else its
`[stall] working_days`: a land dossier waiting on a field check is not stalled as soon as
a civil-status one that should be registered on the day."""

from __future__ import annotations

from streams.contract.alerts import STALL
from streams.core.calendar import to_iso
from streams.core.context import Ctx, rule_of
from streams.core.dossier import OPEN, STALL_BIT, Dossier
from streams.core.policy import Policy


def next_at(d: Dossier, p: Policy) -> int | None:
    """N working days (the group's) after the last progress — or, while a consultation is
    pending, not before its reply deadline: waiting for another unit's opinion within the
    time it was given is not sitting on the dossier (a late reply is `consultation_late`'s)."""
    if d.status != OPEN or d.fired & STALL_BIT:
        return None
    at = p.calendar.add_working_seconds(d.since, p.stall_seconds_for(d.group))
    if d.x is not None and d.x.pending:
        at = max(at, *(due for (_, _, due, _) in d.x.pending))
    return at


def earliest(d: Dossier, p: Policy) -> int | None:
    """A cheap lower bound of `next_at`: working time never outruns the wall clock, and
    the bound uses the same group's threshold as `next_at`."""
    if d.status != OPEN or d.fired & STALL_BIT:
        return None
    return d.since + p.stall_seconds_for(d.group)


def fire(ctx: Ctx, d: Dossier, now: int) -> None:
    at = next_at(d, ctx.policy)
    if at is None or at >= now:
        return
    d.fired |= STALL_BIT
    days = ctx.policy.stall_days(d.group)
    ctx.fire(
        d,
        STALL,
        "warning",
        "warning",
        d.since,
        at,
        f"no progress for {days:g} working days in {d.unit} since {to_iso(d.since)}"
        + (f" (officer {d.officer})" if d.officer else ""),
    )


def progressed(ctx: Ctx, d: Dossier, at: int) -> None:
    """Any event is progress: the stall clock restarts and a stall alert clears."""
    d.since = at
    if d.fired & STALL_BIT:
        d.fired &= ~STALL_BIT
        ctx.resolve(d, at, lambda aid: rule_of(aid) == STALL, "progress made")
