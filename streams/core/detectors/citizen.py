"""Rules that protect the citizen: one supplement request only, the time limit
restarting once the dossier is complete, closure when the supplement never comes,
and at most one re-appointment, announced at least a working day before the due date
(Decree 118/2025 arts 11(2)(c), 16(3), 19(5), 19(6))."""

from __future__ import annotations

from streams.contract.alerts import (
    RESCHEDULE_LATE,
    RESCHEDULE_REPEATED,
    SUPPLEMENT_EXPIRED,
    SUPPLEMENT_REPEATED,
)
from streams.core.calendar import DAY, day_start, local_day, to_iso
from streams.core.context import Ctx
from streams.core.dossier import CLOSED, EXPIRY_BIT, SUPPLEMENT, Dossier
from streams.core.policy import Policy


def supplement_requested(ctx: Ctx, d: Dossier, at: int) -> None:
    x = d.extra()
    x.supplements += 1
    limit = ctx.policy.max_supplement_requests
    if x.supplements > limit:
        ctx.fire(
            d,
            SUPPLEMENT_REPEATED,
            "breach",
            "critical",
            x.supplements,
            at,
            f"supplement request number {x.supplements} (the law allows {limit}: guidance"
            " must be complete the first time); counts as late in the 766 index",
        )


def expiry_earliest(d: Dossier, p: Policy) -> int | None:
    """A cheap lower bound of `expiry_due`: N days counted from the next day never end
    before N × 24 hours have passed."""
    if d.status != SUPPLEMENT or d.fired & EXPIRY_BIT or d.x is None or d.x.supplement_at is None:
        return None
    return d.x.supplement_at + p.supplement_wait_days * DAY


def expiry_due(d: Dossier, p: Policy) -> int | None:
    """When a dossier waiting for its supplement is closed (`supplement_window_end`)."""
    if expiry_earliest(d, p) is None:
        return None
    return supplement_window_end(d, p)


def supplement_window_end(d: Dossier, p: Policy) -> int | None:
    """The end of the latest supplement window: a period in days (Civil Code arts
    147–148), so from the day after the request to 24:00 of its last day, moved to 24:00
    of the next working day when that day is off.  Also the instant a dossier closed for
    want of its supplement was closed: the state keeps the request's instant, not the
    closure's (the reports need it)."""
    if d.x is None or d.x.supplement_at is None:
        return None
    return p.calendar.add_calendar_days(d.x.supplement_at, p.supplement_wait_days)


def fire_expiry(ctx: Ctx, d: Dossier, at: int) -> None:
    d.fired |= EXPIRY_BIT
    d.status = CLOSED
    days = ctx.policy.supplement_wait_days
    ctx.fire(
        d,
        SUPPLEMENT_EXPIRED,
        "closed",
        "info",
        at,
        at,
        f"no supplement within {days} days of the request: the dossier is closed (art 19(5))",
    )
    # The closure is a notice that nobody can act on any more: it resolves at once, with
    # everything else the dossier had firing.
    ctx.resolve(d, at, lambda aid: True, "dossier closed: the supplement never came")


def rescheduled(ctx: Ctx, d: Dossier, new_due: int, at: int) -> bool:
    """Check the re-appointment against the rules, before the due date moves; True when
    it is lawful and the due date may move.

    A re-appointment beyond the one allowed, or issued later than the notice before the
    due date, is a breach, and the dossier stays judged against the due date it had: an
    extension must not launder lateness (in the alerts or in Decision 766's on-time
    rate)."""
    x = d.extra()
    x.reschedules += 1
    p = ctx.policy
    lawful = True
    if x.reschedules > p.max_reschedules:
        lawful = False
        ctx.fire(
            d,
            RESCHEDULE_REPEATED,
            "breach",
            "critical",
            x.reschedules,
            at,
            f"re-appointment number {x.reschedules} (new date {to_iso(new_due)});"
            f" the law allows {p.max_reschedules} (art 19(6)); the dossier stays judged"
            + (f" against {to_iso(d.due)}" if d.due is not None else " as it was"),
        )
    if d.due is None:
        return lawful
    due_day = local_day(d.due - 1)
    latest_day = due_day
    for _ in range(p.reschedule_notice_working_days):
        latest_day = p.calendar.previous_working_day(latest_day)
    latest = day_start(latest_day + 1)
    if at >= latest:
        lawful = False
        ctx.fire(
            d,
            RESCHEDULE_LATE,
            "breach",
            "warning",
            x.reschedules,
            at,
            f"apology and new date issued {to_iso(at)}, later than"
            f" {p.reschedule_notice_working_days} working day before the due date"
            f" {to_iso(d.due)} (art 19(6)); the dossier stays due {to_iso(d.due)}",
        )
    return lawful
