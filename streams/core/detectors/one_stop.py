"""One-Stop Unit rules of Decree 118/2025: transfer the same working day, or at the
start of the next one when received after 15:00 (art 18(2)); accept or send back an
online submission within 8 working hours (art 17(2)); ask for a supplement within 3
working days of receipt (art 19(5))."""

from __future__ import annotations

from streams.contract.alerts import (
    ACCEPTANCE_LATE,
    INTAKE_NOTICE,
    SUPPLEMENT_LATE,
    TRANSFER_LATE,
)
from streams.core.calendar import DAY, LOCAL_OFFSET, to_iso
from streams.core.context import Ctx, rule_of
from streams.core.dossier import (
    ACCEPTANCE_BIT,
    INTAKE_BIT,
    OPEN,
    SUBMITTED,
    TRANSFER_BIT,
    Dossier,
)
from streams.core.policy import Policy


def transfer_earliest(d: Dossier, p: Policy) -> int | None:
    """A cheap lower bound of `transfer_due`: never before the receipt."""
    if d.status != OPEN or d.fired & TRANSFER_BIT or d.unit != p.one_stop_unit:
        return None
    return d.received_at


def transfer_due(d: Dossier, p: Policy) -> int | None:
    """When a dossier received at the One-Stop Unit must have left it."""
    if (
        d.status != OPEN
        or d.fired & TRANSFER_BIT
        or d.unit != p.one_stop_unit
        or d.received_at is None
    ):
        return None
    cal = p.unit_calendar(p.one_stop_unit)
    received = d.received_at
    time_of_day = (received + LOCAL_OFFSET) % DAY
    # "Sau 15 giờ" is after 15:00: a dossier received at 15:00:00 exactly leaves that day.
    if cal.is_working_day((received + LOCAL_OFFSET) // DAY) and time_of_day <= p.transfer_cutoff:
        return cal.end_of_office_hours(received)
    return cal.start_of_next_working_day(received) + p.next_day_transfer_grace


def fire_transfer(ctx: Ctx, d: Dossier, at: int) -> None:
    d.fired |= TRANSFER_BIT
    if d.received_at is None:  # only a received dossier has a transfer timer
        return
    ctx.fire(
        d,
        TRANSFER_LATE,
        "breach",
        "warning",
        d.received_at,
        at,
        f"received at {to_iso(d.received_at)} and still in {d.unit} at {to_iso(at)}:"
        " must be transferred the same working day, or at the start of the next one"
        " when received after the cut-off (art 18(2))",
    )


def left_one_stop(ctx: Ctx, d: Dossier, at: int) -> None:
    """The dossier moved on: the transfer rule is settled, and a late-transfer alert clears."""
    d.fired |= TRANSFER_BIT
    ctx.resolve(d, at, lambda aid: rule_of(aid) == TRANSFER_LATE, f"transferred at {to_iso(at)}")


def acceptance_earliest(d: Dossier, p: Policy) -> int | None:
    """A cheap lower bound of `acceptance_due`: working hours never outrun the clock."""
    if d.status != SUBMITTED or d.start is None:
        return None
    return d.start + int(p.online_acceptance_working_hours * 3600)


def acceptance_due(d: Dossier, p: Policy) -> int | None:
    hours = p.online_acceptance_working_hours
    if d.status != SUBMITTED or d.fired & ACCEPTANCE_BIT or not hours or d.start is None:
        return None
    return p.unit_calendar(d.unit).add_working_hours(d.start, int(hours * 3600))


def fire_acceptance(ctx: Ctx, d: Dossier, at: int) -> None:
    d.fired |= ACCEPTANCE_BIT
    if d.start is None:  # only a submitted dossier has an acceptance timer
        return
    ctx.fire(
        d,
        ACCEPTANCE_LATE,
        "breach",
        "warning",
        d.start,
        at,
        f"online submission of {to_iso(d.start)} neither accepted nor sent back for"
        f" supplement within {ctx.policy.online_acceptance_working_hours:g} working hours"
        " (art 17(2))",
    )


def accepted(ctx: Ctx, d: Dossier, at: int) -> None:
    """Accepted, or sent back for a supplement: the acceptance rule is settled."""
    d.fired |= ACCEPTANCE_BIT | INTAKE_BIT
    ctx.resolve(
        d,
        at,
        lambda aid: rule_of(aid) in (ACCEPTANCE_LATE, INTAKE_NOTICE),
        f"answered at {to_iso(at)}",
    )


def intake_earliest(d: Dossier, p: Policy) -> int | None:
    """A cheap lower bound of `intake_due`."""
    if d.status != SUBMITTED or d.fired & INTAKE_BIT or d.officer is not None or d.start is None:
        return None
    return d.start + int(p.online_notice_working_hours * 3600)


def intake_due(d: Dossier, p: Policy) -> int | None:
    """When an online submission must have reached a receiving officer: the system alerts
    one within 2 hours of the portal's acknowledgement (art 17(2)).  The monitor sees the
    notice's effect — an officer holding the dossier — so a submission that no officer
    holds after that many of the receiving unit's working hours (the notice is for
    someone at work) gets the notice from the monitor itself."""
    hours = p.online_notice_working_hours
    if not hours or intake_earliest(d, p) is None or d.start is None:
        return None
    return p.unit_calendar(d.unit).add_working_hours(d.start, int(hours * 3600))


def fire_intake(ctx: Ctx, d: Dossier, at: int) -> None:
    """A notice, not a breach: the officer still has until the 8 working hours are up
    (`acceptance_late` is the breach)."""
    d.fired |= INTAKE_BIT
    if d.start is None:
        return
    p = ctx.policy
    due = acceptance_due(d, p)
    by = f"; accept or send back by {to_iso(due)}" if due is not None else ""
    ctx.fire(
        d,
        INTAKE_NOTICE,
        "notice",
        "info",
        d.start,
        at,
        f"online submission of {to_iso(d.start)} held by no receiving officer in {d.unit}"
        f" after {p.online_notice_working_hours:g} working hours (art 17(2): the officer is"
        f" alerted within 2 hours){by}",
    )


def picked_up(ctx: Ctx, d: Dossier, at: int) -> None:
    """A receiving officer holds the online submission: the notice rule is settled."""
    if d.fired & INTAKE_BIT and d.status == SUBMITTED:
        ctx.resolve(d, at, lambda aid: rule_of(aid) == INTAKE_NOTICE, f"picked up at {to_iso(at)}")
    d.fired |= INTAKE_BIT


def check_supplement_timing(ctx: Ctx, d: Dossier, at: int) -> None:
    days = ctx.policy.supplement_request_working_days
    if d.start is None or d.status != OPEN:
        return
    latest = ctx.policy.calendar.add_working_days(d.start, days)
    if at > latest:
        ctx.fire(
            d,
            SUPPLEMENT_LATE,
            "breach",
            "warning",
            at,
            at,
            f"supplement requested at {to_iso(at)}, after the {days} working days allowed"
            f" from receipt ({to_iso(d.start)}; latest {to_iso(latest)}) (art 19(5))",
        )
