"""The per-dossier state machine: `apply_event` and `fire_due`, pure and deterministic.

(Over 400 lines on purpose: every transition of a dossier's life, late events included,
in one place a reader can follow; the rules themselves live in detectors/.)

    d, alerts = apply_event(d, event, book)     # d may be None for a dossier not seen yet
    alerts = fire_due(d, now, book)             # timers that fell due strictly before now

Before an event is applied, the dossier's own timers are brought up to the event's time,
so a dossier's alerts depend only on its own events and the instants it is looked at —
never on how a replay interleaves dossiers or how often the clock advances.

Rules for awkward input (principle 5):
* an event is identified by (source, id) for the life of its dossier: the same event again
  is dropped; the same identity with other content is a `conflicting_duplicate` reject;
* an event older than the dossier's latest applied event is applied in arrival order
  (one Kafka partition keeps the emitter's order) with the dossier clock held where it
  is: time never runs backwards, so no timer fires twice or un-fires;
* a late event — one dated before timers that already fired on stream time — is applied
  in event time: the dossier goes back to the state its last event left (`Rewind`), takes
  the event, and is brought up to the stream time again; alerts the event proves wrong
  are resolved ("late event"), alerts it reveals fire, the rest stay as they were;
* events for a dossier never submitted or received are tracked (units, officers) with
  no time limit until a receipt arrives;
* events after completion change nothing but `delivered`.
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Callable
from hashlib import blake2b
from typing import Any

import msgspec

from streams.contract import events
from streams.contract.alerts import WARNING_RULES, Alert
from streams.core.calendar import DAY, local_day, to_instant, to_iso
from streams.core.context import Ctx, resolved, rule_of
from streams.core.detectors import (
    citizen,
    consultation,
    deadline,
    one_stop,
    referrals,
    routing,
    stall,
    timers_for,
)
from streams.core.dossier import (
    COMPLETED,
    DELIVERED,
    FINISHED,
    NEW,
    OPEN,
    SUBMITTED,
    SUPPLEMENT,
    WITHDRAWN,
    Dossier,
    Rewind,
    Status,
    decode_state,
    encode_state,
)
from streams.core.policy import Policy, PolicyBook, parse_limit

IDENTITY_BYTES = 8
"""blake2b of (source, id): two different events of one dossier collide with odds of
about n²/2⁶⁵ — none in practice; a 32-bit hash would drop real events."""
CONTENT_BYTES = 4
"""crc32 of the event's canonical encoding: tells a redelivery from a conflicting reuse."""
SEEN_BYTES = IDENTITY_BYTES + CONTENT_BYTES

_canonical = msgspec.json.Encoder()


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


def restarted_due(start: int, due: int, complete_again: int, p: Policy) -> int:
    """The new due instant when a limit given as an appointment date restarts "from the
    beginning" (art 19(5)): the whole working days it granted — those after the day the
    limit started, up to the due date's own day — counted again from the day after the
    dossier is complete, ending at 24:00 (art 147).  Never part days: a due date of 17:00
    granted that day whole."""
    cal = p.calendar
    granted = cal.working_days_between(local_day(start) + 1, local_day(due - 1) + 1)
    return cal.add_working_days(complete_again, granted)


# -- timers -------------------------------------------------------------------------


Fire = Callable[[Ctx, Dossier, int], None]


def _timers(d: Dossier, p: Policy, now: int) -> tuple[int, Fire] | None:
    """The earliest timer of the dossier strictly before `now`, with what fires it.

    Called before every event, so the common case (nothing due) returns after a few
    comparisons of lower bounds, before any calendar arithmetic."""
    best: tuple[int, Fire] | None = None
    for timer in timers_for(d):
        at = timer.earliest(d, p)
        if at is None or at >= now:
            continue
        if timer.exact is not timer.earliest:
            at = timer.exact(d, p)
        # Earliest first; equal instants in the order of TIMERS (deterministic).
        if at is not None and at < now and (best is None or at < best[0]):
            best = (at, timer.fire)
    return best


def _catch_up(ctx: Ctx, d: Dossier, now: int) -> int | None:
    """Fire every timer strictly before `now`, in time order; the latest instant fired."""
    p = ctx.policy
    latest = None
    while (timer := _timers(d, p, now)) is not None:
        at, fire = timer
        fire(ctx, d, at)
        latest = at
    return latest


def _mark(d: Dossier, judged: int, latest: int) -> Rewind:
    x = d.x
    return Rewind(
        judged=judged,
        latest=latest,
        fired=d.fired,
        status=d.status,
        deadline_next=d.deadline_next,
        emitted=len(x.emitted) if x is not None else 0,
        open=x.open if x is not None else (),
        pending=x.pending if x is not None else (),
    )


def _judge(ctx: Ctx, d: Dossier, now: int) -> None:
    """Bring the timers up to stream time `now`, keeping what the last event left behind
    (the first time timers change anything after it) for a late event to rewind to."""
    x = d.x
    keep = x.rewind if x is not None else None
    before = (
        _mark(d, now, now) if keep is None else None
    )  # cheap: a few fields, no copies of the tuples
    latest = _catch_up(ctx, d, now)
    if latest is None:
        return
    if keep is not None:
        keep.judged = max(keep.judged, now)
        keep.latest = max(keep.latest, latest)
    elif before is not None:
        before.latest = latest
        d.extra().rewind = before


def fire_due(d: Dossier, now: int, book: PolicyBook) -> list[Alert]:
    """Fire the dossier's timers that fell due strictly before stream time `now`, in
    time order."""
    ctx = Ctx(book[d.policy])
    _judge(ctx, d, now)
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
    if d.status in FINISHED:
        return d.last_at + retention
    best: int | None = None
    for timer in timers_for(d):
        at = timer.earliest(d, p)
        if at is None:
            continue
        if horizon is None or at < horizon:
            at = timer.exact(d, p)
        if at is not None and (best is None or at < best):
            best = at
    return best


# -- events ---------------------------------------------------------------------------


def identity(event: events.DossierEvent) -> bytes:
    """The 8-byte identity of an event: (source, id)."""
    return blake2b(
        event.source.encode() + b"\x00" + event.id.encode(), digest_size=IDENTITY_BYTES
    ).digest()


def _is_duplicate(d: Dossier, event: events.DossierEvent, max_events: int) -> bool:
    """True for an event seen before; records a new one.  The same identity with other
    content is not a redelivery but a reuse of the id: rejected, never applied."""
    ident = identity(event)
    content = zlib.crc32(_canonical.encode(event)).to_bytes(CONTENT_BYTES, "little")
    seen = d.seen
    found = seen.find(ident)
    while found >= 0:  # a match must sit on a whole record, not straddle two
        if found % SEEN_BYTES == 0:
            if seen[found + IDENTITY_BYTES : found + SEEN_BYTES] == content:
                return True
            raise events.InvalidEvent(
                "conflicting_duplicate",
                f"event {event.source!r}/{event.id!r} was applied to dossier {d.id!r} before"
                " with other content: an event id must not be reused",
            )
        found = seen.find(ident, found + 1)
    if len(seen) >= max_events * SEEN_BYTES:
        raise events.InvalidEvent(
            "too_many_events",
            f"dossier {d.id!r} already has {max_events} events, the most one dossier may have",
        )
    d.seen = seen + ident + content
    return False


def apply_event(
    d: Dossier | None, event: events.DossierEvent, book: PolicyBook, at: int | None = None
) -> tuple[Dossier, list[Alert]]:
    """Apply one validated event to a dossier's state; return the state and new alerts.

    `at` is the event's instant when the caller has it already (to_instant(event.time)).
    A redelivered event returns the state with `seen` unchanged (the same bytes object)
    and no alerts; a conflicting reuse of an event id raises `InvalidEvent`."""
    t = to_instant(event.time) if at is None else at
    if d is None:
        d = Dossier(id=event.subject, policy=book.index_for_day(local_day(t)), last_at=t, since=t)
    if _is_duplicate(d, event, book.bounds.max_events_per_dossier):
        return d, []
    d.source = sys.intern(event.source)
    x = d.x
    if x is not None and x.rewind is not None:
        rewind, x.rewind = x.rewind, None  # this event's state is the new starting point
        if max(t, d.last_at) <= rewind.latest:
            return _apply_late(d, event, book, t, rewind)
    ctx = _apply(d, event, book, t)
    return d, ctx.alerts


def _apply(d: Dossier, event: events.DossierEvent, book: PolicyBook, t: int) -> Ctx:
    ctx = Ctx(book[d.policy])
    if d.wake is None or d.wake < t:
        # A dossier never wakes later than its earliest timer (`wake_hint`), so when its
        # wake-up is still ahead nothing of it can be due before this event.
        _catch_up(ctx, d, t)
    if type(event) is events.Received and d.status in (NEW, SUBMITTED):
        # Judged by the rules of its receipt day from now on; what was due before the
        # receipt (accepting an online submission) stays under the submission day's.
        d.policy = book.index_for_day(local_day(t))
        ctx.policy = book[d.policy]
    if t < d.last_at:
        t = d.last_at
    d.last_at = t
    if d.status in FINISHED and type(event) is not events.Delivered:
        return ctx
    handler = _HANDLERS[type(event)]
    handler(ctx, d, event, t)
    if d.status not in FINISHED:
        stall.progressed(ctx, d, t)
    return ctx


def _apply_late(
    now: Dossier, event: events.DossierEvent, book: PolicyBook, t: int, rewind: Rewind
) -> tuple[Dossier, list[Alert]]:
    """A late event: replay it on the state its dossier's last event left, bring that up
    to the stream time again, and say only what differs from what was already said."""
    was = decode_state(encode_state(now))  # what the world has been told, as it stands
    d = now
    d.fired, d.status, d.deadline_next = rewind.fired, rewind.status, rewind.deadline_next
    x = d.extra()
    x.emitted, x.open, x.pending = x.emitted[: rewind.emitted], rewind.open, rewind.pending
    d.wake = None  # its timers must be looked at from the event on
    ctx = _apply(d, event, book, t)
    _judge(ctx, d, rewind.judged)
    told_open = dict(was.x.open) if was.x is not None else {}
    told = set(was.x.emitted) if was.x is not None else set()
    x = d.extra()
    out: list[Alert] = []
    fired_now: set[str] = set()
    resolved: set[str] = set()
    for a in ctx.alerts:
        if a.status == "firing":
            if a.id not in told:  # revealed by the event
                out.append(a)
                fired_now.add(a.id)
        elif a.id in told_open or a.id in fired_now:
            out.append(a)
            resolved.add(a.id)
    still_open = {aid for aid, _ in x.open}
    wrong: set[str] = set()
    for aid, unit in told_open.items():
        if aid not in still_open and aid not in resolved:
            out.append(_proved_wrong(d, aid, unit, event, t))
            wrong.add(aid)
    for aid, unit in x.open:
        if aid not in told_open and aid not in fired_now and aid in told:
            # Resolved in the world by a timer the event undid (the closure of a dossier
            # whose supplement was in fact on time): open again.
            out.append(_reopened(d, aid, unit, event, t))
    # What was said stays said, but for the alerts proved wrong: should one hold after
    # all later (a second supplement request undoing the first one's effect), it fires.
    said = (aid for aid in (was.x.emitted if was.x else ()) if aid not in wrong)
    x.emitted = tuple(dict.fromkeys((*x.emitted, *said)))
    return d, out


def _proved_wrong(d: Dossier, aid: str, unit: str | None, event: Any, t: int) -> Alert:
    return resolved(
        d,
        aid,
        unit,
        t,
        f"late event: {events.type_name(event)} of {to_iso(t)} arrived after this alert"
        " fired; judged in event time the alert does not hold",
    )


def _reopened(d: Dossier, aid: str, unit: str | None, event: Any, t: int) -> Alert:
    _, rule, level, _ = aid.rsplit("/", 3)
    calm = level.startswith("near_due") or level == "warning" or rule in WARNING_RULES
    return Alert(
        id=aid,
        status="firing",
        rule=rule,
        level=level,
        severity="warning" if calm else "critical",
        dossier=d.id,
        at=to_iso(t),
        unit=unit,
        officer=d.officer,
        procedure=d.procedure or None,
        procedure_group=d.group or None,
        due=to_iso(d.due) if d.due is not None else None,
        evidence=f"open again: the late event {events.type_name(event)} of {to_iso(t)} undid what"
        " had resolved this alert",
    )


def _move(ctx: Ctx, d: Dossier, unit: str, t: int) -> None:
    was = d.unit
    if unit != was:
        routing.step_ended(ctx, d, t)
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
    data: events.ReceivedData = e.data
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
        legal = data.time_limit or (str(proc.time_limit) if proc else None)
        if legal is not None:
            deadline.check_appointment(ctx, d, compute_due(legal, t, p), legal, t)
    else:
        d.limit = sys.intern(
            data.time_limit or (str(proc.time_limit) if proc else str(p.default_time_limit))
        )
        d.due = compute_due(d.limit, t, p)
    _move(ctx, d, data.unit, t)
    d.deadline_next = deadline.next_at(d, p)


def _on_assigned(ctx: Ctx, d: Dossier, e: Any, t: int) -> None:
    data: events.AssignedData = e.data
    if data.unit != d.unit:
        _move(ctx, d, data.unit, t)
    if data.officer:
        referrals.moved_to_officer(ctx, d, data.officer, t)
        if d.status == SUBMITTED:
            one_stop.picked_up(ctx, d, t)
    if data.step_due is not None:
        routing.step_started(ctx, d, data.unit, to_instant(data.step_due), t)


def _on_transferred(ctx: Ctx, d: Dossier, e: Any, t: int) -> None:
    data: events.TransferredData = e.data
    _move(ctx, d, data.to_unit, t)
    if data.officer:
        referrals.moved_to_officer(ctx, d, data.officer, t)
        if d.status == SUBMITTED:
            one_stop.picked_up(ctx, d, t)
    else:
        d.officer = None
    if data.step_due is not None:
        routing.step_started(ctx, d, data.to_unit, to_instant(data.step_due), t)
    if data.across_levels:
        routing.transferred_across_levels(ctx, d, data.medium == "paper", t)


def _on_consultation_requested(ctx: Ctx, d: Dossier, e: Any, t: int) -> None:
    data: events.ConsultationRequestedData = e.data
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
        d.due = restarted_due(old_start, old_due, t, p)
    d.status = OPEN
    deadline.rearm(ctx, d, t, "supplement received: the time limit restarts from zero")
    d.deadline_next = deadline.next_at(d, p)


def _on_rescheduled(ctx: Ctx, d: Dossier, e: Any, t: int) -> None:
    if d.status not in (OPEN, SUPPLEMENT):
        return
    new_due = to_instant(e.data.new_due)
    if not citizen.rescheduled(ctx, d, new_due, t):
        d.extra().appointed = new_due  # what the citizen was told; the law's date rules
        return
    d.due = new_due
    deadline.rearm(ctx, d, t, f"re-appointed to {to_iso(new_due)}")
    d.deadline_next = deadline.next_at(d, ctx.policy)


def _finish(ctx: Ctx, d: Dossier, status: Status, t: int, why: str) -> None:
    x = d.extra()
    x.completed_at = t
    x.late = (d.due is not None and t > d.due) or x.supplements > 1
    d.status = status
    d.deadline_next = None
    ctx.resolve(d, t, lambda aid: True, why)


def _on_completed(ctx: Ctx, d: Dossier, e: Any, t: int) -> None:
    if e.data.outcome == "refused":
        deadline.check_refusal(ctx, d, t)
    _finish(ctx, d, COMPLETED, t, f"dossier completed ({e.data.outcome}) at {to_iso(t)}")


def _on_delivered(ctx: Ctx, d: Dossier, e: Any, t: int) -> None:
    if d.status == COMPLETED:
        d.status = DELIVERED
    elif d.status not in FINISHED:
        _finish(ctx, d, DELIVERED, t, f"result delivered at {to_iso(t)}")


def _on_withdrawn(ctx: Ctx, d: Dossier, e: Any, t: int) -> None:
    _finish(ctx, d, WITHDRAWN, t, f"withdrawn by the citizen at {to_iso(t)}")


_HANDLERS: dict[type, Callable[[Ctx, Dossier, Any, int], None]] = {
    events.Submitted: _on_submitted,
    events.Received: _on_received,
    events.Assigned: _on_assigned,
    events.Transferred: _on_transferred,
    events.Returned: _on_transferred,
    events.ConsultationRequested: _on_consultation_requested,
    events.ConsultationAnswered: _on_consultation_answered,
    events.SupplementRequested: _on_supplement_requested,
    events.SupplementReceived: _on_supplement_received,
    events.Rescheduled: _on_rescheduled,
    events.Completed: _on_completed,
    events.Delivered: _on_delivered,
    events.Withdrawn: _on_withdrawn,
}

__all__ = ["SEEN_BYTES", "apply_event", "compute_due", "fire_due", "rule_of", "wake_hint"]
