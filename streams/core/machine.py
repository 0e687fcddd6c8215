"""The per-dossier state machine: `apply_event` and `fire_due`, pure and deterministic.

    d, alerts = apply_event(d, event, book)     # d may be None for a dossier not seen yet
    alerts = fire_due(d, now, book)             # timers that fell due strictly before now

Before an event is applied, the dossier's own timers are brought up to the event's time,
so a dossier's alerts depend only on its own events and the instants it is looked at —
never on how a replay interleaves dossiers or how often the clock advances.

Rules for awkward input (principle 5):
* duplicate event ids (the last `RECENT_IDS` of a dossier) are dropped;
* an event older than the dossier's latest applied event is applied in arrival order
  (one Kafka partition keeps the emitter's order) with the dossier clock held where it
  is: time never runs backwards, so no timer fires twice or un-fires;
* events for a dossier never submitted or received are tracked (units, officers) with
  no time limit until a receipt arrives;
* events after completion change nothing but `delivered`.
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Callable
from typing import Any

from streams.core import alerts as r
from streams.core import events as ev
from streams.core.alerts import Alert
from streams.core.calendar import DAY, local_day, to_instant, to_iso
from streams.core.context import Ctx, rule_of
from streams.core.detectors import citizen, consultation, deadline, one_stop, referrals, stall
from streams.core.dossier import (
    COMPLETED,
    DELIVERED,
    FINISHED,
    NEW,
    OPEN,
    SUBMITTED,
    SUPPLEMENT,
    TRANSFER_BIT,
    WITHDRAWN,
    Dossier,
)
from streams.core.policy import Policy, PolicyBook, parse_limit

RECENT_IDS = 8
_ID_BYTES = 4


def compute_due(limit: str, start: int, p: Policy) -> int:
    """The due instant of a time limit counted from `start` (Civil Code arts 147–148)."""
    tl = parse_limit(limit)
    cal = p.calendar
    if tl.kind == "wd":
        if tl.amount.is_integer():
            return cal.add_working_days(start, int(tl.amount))
        return cal.add_working_seconds(start, int(tl.amount * DAY))
    if tl.kind == "d":
        return cal.add_calendar_days(start, int(tl.amount))
    if tl.kind == "wh":
        return cal.add_working_hours(start, int(tl.amount * 3600))
    return start + int(tl.amount * 3600)


# -- timers -------------------------------------------------------------------------


Fire = Callable[[Ctx, Dossier, int], None]


def _timers(d: Dossier, p: Policy, now: int) -> tuple[int, Fire] | None:
    """The earliest timer of the dossier strictly before `now`, with what fires it.

    Called before every event, so the common case (nothing due) returns after a few
    comparisons, before any calendar arithmetic."""
    candidates: list[tuple[int, Fire]] = []
    if d.deadline_next is not None and d.deadline_next < now:
        candidates.append((d.deadline_next, _fire_deadline))
    lower = stall.earliest(d, p)
    if lower is not None and lower < now:
        at = stall.next_at(d, p)
        if at is not None and at < now:
            candidates.append((at, _fire_stall))
    if d.status == OPEN and not d.fired & TRANSFER_BIT and d.unit == p.one_stop_unit:
        at = one_stop.transfer_due(d, p)
        if at is not None and at < now:
            candidates.append((at, one_stop.fire_transfer))
    if d.status == SUBMITTED:
        at = one_stop.acceptance_due(d, p)
        if at is not None and at < now:
            candidates.append((at, one_stop.fire_acceptance))
    if d.x is not None:
        if d.status == SUPPLEMENT:
            at = citizen.expiry_due(d, p)
            if at is not None and at < now:
                candidates.append((at, citizen.fire_expiry))
        at = consultation.next_at(d)
        if at is not None and at < now:
            candidates.append((at, consultation.fire_next))
    if not candidates:
        return None
    # Earliest first; equal instants in the order listed above (deterministic).
    return min(candidates, key=lambda c: c[0])


def _fire_deadline(ctx: Ctx, d: Dossier, at: int) -> None:
    d.deadline_next = deadline.fire(ctx, d, at + 1)


def _fire_stall(ctx: Ctx, d: Dossier, at: int) -> None:
    stall.fire(ctx, d, at + 1)


def _catch_up(ctx: Ctx, d: Dossier, now: int) -> None:
    p = ctx.policy
    while (timer := _timers(d, p, now)) is not None:
        at, fire = timer
        fire(ctx, d, at)


def fire_due(d: Dossier, now: int, book: PolicyBook) -> list[Alert]:
    """Fire the dossier's timers that fell due strictly before `now`, in time order."""
    ctx = Ctx(book[d.policy])
    _catch_up(ctx, d, now)
    return ctx.alerts


def wake_hint(
    d: Dossier, p: Policy, retention: int, now: int, horizon: int | None = None
) -> int | None:
    """When the dossier must next be looked at: no later than its earliest timer.

    Exact where it matters, so a dossier does not wake up for nothing: a timer whose
    cheap lower bound is before `horizon` (or any, without one) counts at its exact
    instant; one whose lower bound is at or after `horizon` counts at that bound, which
    is early but safe and spares the calendar arithmetic (the caller keeps an earlier
    wake-up anyway).  A finished dossier wakes once more, `retention` seconds after its
    last event, to be evicted."""
    status = d.status
    if status in FINISHED:
        return d.last_at + retention
    best = d.deadline_next
    at: int | None
    if status == OPEN:
        at = stall.earliest(d, p)
        if at is not None and (horizon is None or at < horizon):
            at = stall.next_at(d, p)
        if at is not None and (best is None or at < best):
            best = at
        if not d.fired & TRANSFER_BIT and d.unit == p.one_stop_unit:
            at = d.received_at  # never before receipt
            if at is None or horizon is None or at < horizon:
                at = one_stop.transfer_due(d, p)
            if at is not None and (best is None or at < best):
                best = at
    elif status == SUBMITTED and d.start is not None:
        at = d.start + int(p.online_acceptance_working_hours * 3600)
        if horizon is None or at < horizon:
            at = one_stop.acceptance_due(d, p)
        if at is not None and (best is None or at < best):
            best = at
    if d.x is not None:
        if status == SUPPLEMENT:
            at = citizen.expiry_due(d, p)
            if at is not None and (best is None or at < best):
                best = at
        at = consultation.next_at(d)
        if at is not None and (best is None or at < best):
            best = at
    return best


# -- events ---------------------------------------------------------------------------


def _is_duplicate(d: Dossier, event_id: str) -> bool:
    key = zlib.crc32(event_id.encode()).to_bytes(_ID_BYTES, "little")
    recent = d.recent_ids
    found = recent.find(key)
    while found >= 0:  # a match must sit on a whole id, not straddle two
        if found % _ID_BYTES == 0:
            return True
        found = recent.find(key, found + 1)
    d.recent_ids = recent[_ID_BYTES - RECENT_IDS * _ID_BYTES :] + key
    return False


def apply_event(
    d: Dossier | None, event: ev.DossierEvent, book: PolicyBook, at: int | None = None
) -> tuple[Dossier, list[Alert]]:
    """Apply one validated event to a dossier's state; return the state and new alerts.

    `at` is the event's instant when the caller has it already (to_instant(event.time))."""
    t = to_instant(event.time) if at is None else at
    if d is None:
        d = Dossier(id=event.subject, policy=book.index_for_day(local_day(t)), last_at=t, since=t)
    if _is_duplicate(d, event.id):
        return d, []
    if type(event) is ev.Received and d.status in (NEW, SUBMITTED):
        d.policy = book.index_for_day(local_day(t))  # judged by the rules of its receipt day
    ctx = Ctx(book[d.policy])
    if d.wake is None or d.wake < t:
        # A dossier never wakes later than its earliest timer (`wake_hint`), so when its
        # wake-up is still ahead nothing of it can be due before this event.
        _catch_up(ctx, d, t)
    if t < d.last_at:
        t = d.last_at
    d.last_at = t
    if d.status in FINISHED and type(event) is not ev.Delivered:
        return d, ctx.alerts
    handler = _HANDLERS[type(event)]
    handler(ctx, d, event, t)
    if d.status not in FINISHED:
        stall.progressed(ctx, d, t)
    return d, ctx.alerts


def _move(ctx: Ctx, d: Dossier, unit: str, t: int) -> None:
    was = d.unit
    referrals.moved_to_unit(ctx, d, unit, t)
    if was == ctx.policy.one_stop_unit and unit != was:
        one_stop.left_one_stop(ctx, d, t)


def _on_submitted(ctx: Ctx, d: Dossier, e: Any, t: int) -> None:
    if d.status == NEW:
        d.status = SUBMITTED
        d.start = t
        referrals.moved_to_unit(ctx, d, e.data.unit, t)


def _on_received(ctx: Ctx, d: Dossier, e: Any, t: int) -> None:
    if d.status not in (NEW, SUBMITTED):
        return  # a repeated receipt changes nothing: the time limit already runs
    if d.status == SUBMITTED:
        one_stop.accepted(ctx, d, t)
    data: ev.ReceivedData = e.data
    p = ctx.policy
    proc = p.procedure(data.procedure)
    # Interned: a handful of distinct values shared by millions of dossiers.
    d.procedure = sys.intern(data.procedure)
    d.group = sys.intern(data.procedure_group or (proc.group if proc else "other"))
    d.status = OPEN
    d.received_at = d.start = t
    if data.due is not None:
        # The appointment on the receipt rules; a stated limit still says how to measure
        # progress towards it and how to count afresh after a supplement.
        d.limit = sys.intern(data.time_limit) if data.time_limit else None
        d.due = to_instant(data.due)  # as stated, even if already past: that is news
    else:
        d.limit = sys.intern(
            data.time_limit or (str(proc.time_limit) if proc else str(p.default_time_limit))
        )
        d.due = compute_due(d.limit, t, p)
    _move(ctx, d, data.unit, t)
    d.deadline_next = deadline.next_at(d, p)


def _on_assigned(ctx: Ctx, d: Dossier, e: Any, t: int) -> None:
    if e.data.unit != d.unit:
        _move(ctx, d, e.data.unit, t)
    if e.data.officer:
        referrals.moved_to_officer(ctx, d, e.data.officer, t)


def _on_transferred(ctx: Ctx, d: Dossier, e: Any, t: int) -> None:
    _move(ctx, d, e.data.to_unit, t)
    if e.data.officer:
        referrals.moved_to_officer(ctx, d, e.data.officer, t)
    else:
        d.officer = None


def _on_consultation_requested(ctx: Ctx, d: Dossier, e: Any, t: int) -> None:
    data: ev.ConsultationRequestedData = e.data
    consultation.requested(
        ctx, d, data.consulted_unit, data.consultation_id, to_instant(data.reply_due), t
    )


def _on_consultation_answered(ctx: Ctx, d: Dossier, e: Any, t: int) -> None:
    consultation.answered(ctx, d, e.data.consulted_unit, e.data.consultation_id, t)


def _on_supplement_requested(ctx: Ctx, d: Dossier, e: Any, t: int) -> None:
    if d.status == SUBMITTED:
        one_stop.accepted(ctx, d, t)  # sent back for supplement: answered in time or not
        citizen.supplement_requested(ctx, d, t)
        return
    if d.status != OPEN:
        return
    citizen.supplement_requested(ctx, d, t)
    one_stop.check_supplement_timing(ctx, d, t)
    d.status = SUPPLEMENT
    d.extra().supplement_at = t
    d.deadline_next = None
    deadline.rearm(ctx, d, t, "time limit stopped: waiting for the citizen's documents")


def _on_supplement_received(ctx: Ctx, d: Dossier, e: Any, t: int) -> None:
    if d.status != SUPPLEMENT:
        return
    x = d.extra()
    p = ctx.policy
    if x.supplement_at is not None:
        x.supplement_wait += t - x.supplement_at
    x.supplement_at = None
    old_start, old_due = d.start, d.due
    d.start = t
    if d.limit is not None:
        d.due = compute_due(d.limit, t, p)
    elif old_start is not None and old_due is not None:
        # An appointment date given at receipt: the same working time, counted afresh.
        span = p.calendar.working_seconds_between(old_start, old_due)
        d.due = p.calendar.add_working_seconds(t, span)
    d.status = OPEN
    deadline.rearm(ctx, d, t, "supplement received: the time limit restarts from zero")
    d.deadline_next = deadline.next_at(d, p)


def _on_rescheduled(ctx: Ctx, d: Dossier, e: Any, t: int) -> None:
    if d.status not in (OPEN, SUPPLEMENT):
        return
    new_due = to_instant(e.data.new_due)
    citizen.rescheduled(ctx, d, new_due, t)
    d.due = new_due
    deadline.rearm(ctx, d, t, f"re-appointed to {to_iso(new_due)}")
    d.deadline_next = deadline.next_at(d, ctx.policy)


def _finish(ctx: Ctx, d: Dossier, status: int, t: int, why: str) -> None:
    x = d.extra()
    x.completed_at = t
    x.late = (d.due is not None and t > d.due) or x.supplements > 1
    d.status = status
    d.deadline_next = None
    ctx.resolve(d, t, lambda aid: True, why)


def _on_completed(ctx: Ctx, d: Dossier, e: Any, t: int) -> None:
    _finish(ctx, d, COMPLETED, t, f"dossier completed ({e.data.outcome}) at {to_iso(t)}")


def _on_delivered(ctx: Ctx, d: Dossier, e: Any, t: int) -> None:
    if d.status == COMPLETED:
        d.status = DELIVERED
    elif d.status not in FINISHED:
        _finish(ctx, d, DELIVERED, t, f"result delivered at {to_iso(t)}")


def _on_withdrawn(ctx: Ctx, d: Dossier, e: Any, t: int) -> None:
    _finish(ctx, d, WITHDRAWN, t, f"withdrawn by the citizen at {to_iso(t)}")


_HANDLERS: dict[type, Callable[[Ctx, Dossier, Any, int], None]] = {
    ev.Submitted: _on_submitted,
    ev.Received: _on_received,
    ev.Assigned: _on_assigned,
    ev.Transferred: _on_transferred,
    ev.Returned: _on_transferred,
    ev.ConsultationRequested: _on_consultation_requested,
    ev.ConsultationAnswered: _on_consultation_answered,
    ev.SupplementRequested: _on_supplement_requested,
    ev.SupplementReceived: _on_supplement_received,
    ev.Rescheduled: _on_rescheduled,
    ev.Completed: _on_completed,
    ev.Delivered: _on_delivered,
    ev.Withdrawn: _on_withdrawn,
}

__all__ = ["RECENT_IDS", "apply_event", "compute_due", "fire_due", "r", "rule_of", "wake_hint"]
