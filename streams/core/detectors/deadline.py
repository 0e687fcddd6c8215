"""Deadline levels: near-due warnings at fractions of the time limit, the breach at the
due instant, escalation levels a few working days after it ("Sắp đến hạn" / "Quá hạn").

A near-due warning is a share of the office hours between the start of the limit and its
due instant (for limits in working days, calendar days and working hours alike), so it
lands while someone is at work to act on it; only a limit in plain hours ("4h") is
shared out in elapsed time."""

from __future__ import annotations

from streams.contract.alerts import APPOINTMENT_BEYOND_LIMIT, DEADLINE, REFUSAL_LATE, Severity
from streams.core.calendar import to_iso
from streams.core.context import Ctx, rule_of
from streams.core.dossier import DEADLINE_MASK, OPEN, SUPPLEMENT, Dossier
from streams.core.policy import Policy, parse_limit


def levels(d: Dossier, p: Policy) -> tuple[tuple[int, str], ...]:
    """(instant, level) for the dossier's current due date, in time order.

    Computed when asked: the state caches only the next one (`deadline_next`)."""
    if d.due is None or d.start is None:
        return ()
    kind = parse_limit(d.limit).kind if d.limit else "wd"
    return _levels(d.start, d.due, kind, p)


def is_near_due(d: Dossier, now: int) -> bool:
    """Sắp đến hạn: open, not yet due, and past its first near-due warning instant.

    Read from the state alone (the first level's bit, or the cached next instant), so a
    scrape over millions of dossiers does no calendar arithmetic."""
    if d.status != OPEN or d.due is None or d.due < now:
        return False
    if d.fired & 1:  # the first level has fired and the dossier is not due: a warning
        return True
    return d.deadline_next is not None and d.deadline_next < now


def _levels(start: int, due: int, kind: str, p: Policy) -> tuple[tuple[int, str], ...]:
    return tuple(
        (_level_at(start, due, kind, p, bit), _level_name(p, bit)) for bit in range(_count(p))
    )


def _count(p: Policy) -> int:
    return len(p.warning_fractions) + 1 + len(p.escalation_working_days)


def _level_name(p: Policy, bit: int) -> str:
    warnings = len(p.warning_fractions)
    if bit < warnings:
        return f"near_due_{round(p.warning_fractions[bit] * 100)}"
    if bit == warnings:
        return "overdue"
    return f"escalation_{bit - warnings}"


def _level_at(start: int, due: int, kind: str, p: Policy, bit: int) -> int:
    """The instant of one level alone: most dossiers finish before their later levels,
    so those are never computed."""
    warnings = p.warning_fractions
    if bit < len(warnings):
        f = warnings[bit]
        cal = p.calendar
        if kind == "h":
            at = start + int(f * (due - start))  # a limit in hours runs day and night
        else:
            # A limit in days or working hours is worked in office hours: the share of
            # them used, so a warning never lands at night or on a day off.
            office = cal.working_hours_between(start, due)
            at = cal.add_working_hours(start, int(f * office)) if office else due
        return min(at, due)
    if bit == len(warnings):
        return due
    return p.calendar.add_working_days(due - 1, p.escalation_working_days[bit - len(warnings) - 1])


def _kind(d: Dossier) -> str:
    return parse_limit(d.limit).kind if d.limit else "wd"


def next_at(d: Dossier, p: Policy) -> int | None:
    if d.status != OPEN or d.due is None or d.start is None:
        return None
    fired = d.fired
    for bit in range(_count(p)):
        if not fired & (1 << bit):
            return _level_at(d.start, d.due, _kind(d), p, bit)
    return None


def fire(ctx: Ctx, d: Dossier, now: int) -> int | None:
    """Fire every level that fell due strictly before `now`; return the next level's
    instant (what `next_at` would say afterwards), None when none is left."""
    if d.status != OPEN or d.due is None or d.start is None:
        return None
    p = ctx.policy
    kind = _kind(d)
    for bit in range(_count(p)):
        if d.fired & (1 << bit):
            continue
        at = _level_at(d.start, d.due, kind, p, bit)
        if at >= now:
            return at  # the levels are in time order: none later can be due either
        d.fired |= 1 << bit
        level = _level_name(p, bit)
        severity: Severity
        if level.startswith("near_due"):
            severity = "warning"
            text = f"near due: {level[9:]}% of the time limit used; due {to_iso(d.due)}"
        elif level == "overdue":
            severity = "critical"
            text = (
                f"overdue: the due date {to_iso(d.due)} has passed while the dossier is in {d.unit}"
            )
        else:
            severity = "critical"
            step = level.replace("_", " ")
            text = f"still overdue at {step} (due {to_iso(d.due)}), held by {d.unit}"
        ctx.fire(d, DEADLINE, level, severity, d.due, at, text)
    return None


def rearm(ctx: Ctx, d: Dossier, at: int, why: str) -> None:
    """The due date moved: resolve the old deadline alerts and start the levels afresh."""
    d.fired &= ~DEADLINE_MASK
    ctx.resolve(d, at, lambda aid: rule_of(aid) == DEADLINE, why)


def check_appointment(ctx: Ctx, d: Dossier, legal_due: int, legal: str, at: int) -> None:
    """A receipt whose appointment is later than the procedure's legal limit allows: the
    office granted itself time the law does not give (arts 17(3), 18)."""
    if d.due is None or d.due <= legal_due:
        return
    ctx.fire(
        d,
        APPOINTMENT_BEYOND_LIMIT,
        "breach",
        "warning",
        d.due,
        at,
        f"appointment {to_iso(d.due)} on the receipt of {to_iso(at)} is later than the"
        f" legal limit of {legal} allows ({to_iso(legal_due)})",
    )


def check_refusal(ctx: Ctx, d: Dossier, at: int) -> None:
    """A refusal must be sent within the time limit, with its reasons (Decree 61/2018 art
    19(8), Form 03); one sent after the due instant is a breach of its own."""
    if d.status not in (OPEN, SUPPLEMENT) or d.due is None or at <= d.due:
        return
    ctx.fire(
        d,
        REFUSAL_LATE,
        "breach",
        "warning",
        d.due,
        at,
        f"refusal sent {to_iso(at)}, after the due date {to_iso(d.due)}: a refusal must be"
        " sent within the time limit",
    )
