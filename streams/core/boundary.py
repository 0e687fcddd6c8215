"""One boundary per event: whatever arrives is admitted and applied, or rejected with a
reason — never an exception escaping to kill the stream (DESIGN principle 5).

Decoding, validation against the policy's bounds, calendar arithmetic and every detector
run inside it; whatever escapes — `InvalidEvent` or any other exception class — comes
back as a `Reject` naming the reason (a bounded code, a metric label), the exception
class and its message.  The engine commits nothing of an event that fails, so a rejected
event leaves no trace in shared state.  The worker, replay (`--skip-invalid`), the demo
and the tests all take events through these functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from streams.contract.alerts import Alert
from streams.contract.events import (
    Assigned,
    ConsultationRequested,
    DossierEvent,
    InvalidEvent,
    Received,
    Rescheduled,
    Returned,
    Transferred,
    decode_event,
)
from streams.core.calendar import CalendarRangeError, day_to_date, local_day, to_instant
from streams.core.engine import Engine
from streams.core.layouts import NewerLayoutError
from streams.core.policy import Bounds, TimeLimit

UNEXPECTED = "unexpected"
"""The reason of a reject no check named: a bug of ours, counted and dead-lettered."""
BAD_TICK = "bad_tick"
"""A message on the ticks topic the worker cannot use (only the worker should write it)."""
REASONS = InvalidEvent.REASONS | {UNEXPECTED, BAD_TICK}


@dataclass(frozen=True, slots=True)
class Reject:
    reason: str
    """One of `REASONS`."""
    error: str
    """The exception class."""
    message: str

    @classmethod
    def of(cls, err: BaseException) -> Reject:
        if isinstance(err, InvalidEvent):
            return cls(err.reason, type(err).__name__, err.message)
        if isinstance(err, CalendarRangeError):  # a date the calendar cannot count to
            return cls("time_out_of_range", type(err).__name__, str(err)[:1000])
        return cls(UNEXPECTED, type(err).__name__, str(err)[:1000] or repr(err)[:1000])


def admit(raw: bytes, key: bytes | None, bounds: Bounds, *, keyed: bool = True) -> DossierEvent:
    """Decode and check one event; `keyed`: the message key must be its dossier id."""
    event = decode_event(raw, max_bytes=bounds.max_event_bytes, max_depth=bounds.max_json_depth)
    if keyed:
        try:
            text = key.decode("utf-8") if key is not None else None
        except UnicodeDecodeError:
            raise InvalidEvent("bad_key", f"message key {key!r} is not UTF-8") from None
        if text != event.subject:
            raise InvalidEvent(
                "bad_key",
                f"message key {text!r} is not the dossier id {event.subject!r}: all events"
                " of a dossier must be keyed by its id to share a partition",
            )
    check_bounds(event, bounds)
    return event


def check_bounds(event: DossierEvent, bounds: Bounds, at: int | None = None) -> None:
    """Times within the bounds' window, time limits positive and bounded (`at`: the
    event's instant, when the caller has it already)."""
    _in_window("time", event.time, bounds, at)
    data = event.data
    if isinstance(event, Received):
        if data.due is not None:  # type: ignore[union-attr]
            _in_window("data.due", data.due, bounds)  # type: ignore[union-attr]
        if data.time_limit is not None:  # type: ignore[union-attr]
            try:
                limit: TimeLimit | None = TimeLimit.parse(data.time_limit)  # type: ignore[union-attr]
            except ValueError:
                limit = None  # zero, or beyond what a float holds
            if limit is None or not bounds.limit_ok(limit):
                raise InvalidEvent(
                    "bad_time_limit",
                    f"data.time_limit {data.time_limit!r} is not within (0, bounds]:"  # type: ignore[union-attr]
                    f" at most {bounds.max_working_days} working or calendar days,"
                    f" {bounds.max_working_hours} working hours, {bounds.max_hours} hours",
                )
    elif isinstance(event, ConsultationRequested):
        _in_window("data.reply_due", event.data.reply_due, bounds)
    elif isinstance(event, Rescheduled):
        _in_window("data.new_due", event.data.new_due, bounds)
    elif isinstance(event, (Assigned, Transferred, Returned)) and event.data.step_due is not None:
        _in_window("data.step_due", event.data.step_due, bounds)


def _in_window(field: str, when: datetime, bounds: Bounds, instant: int | None = None) -> None:
    try:
        day = day_to_date(local_day(to_instant(when) if instant is None else instant))
    except (ValueError, OverflowError):
        day = None
    if day is None or not bounds.earliest <= day <= bounds.latest:
        raise InvalidEvent(
            "time_out_of_range",
            f"{field} {when.isoformat()} is outside {bounds.earliest} .. {bounds.latest}",
        )


def admitted(
    raw: bytes, key: bytes | None, bounds: Bounds, *, keyed: bool = True
) -> DossierEvent | Reject:
    """`admit`, with whatever it raises turned into a `Reject` (the first half of `take`:
    a driver may move its clock between admitting an event and applying it)."""
    try:
        return admit(raw, key, bounds, keyed=keyed)
    except Exception as err:  # the boundary: whatever the class, the stream goes on
        return Reject.of(err)


def take(
    engine: Engine, raw: bytes, key: bytes | None = None, *, keyed: bool = True
) -> tuple[DossierEvent, list[Alert]] | Reject:
    """One event from the wire through the whole core: its alerts, or why it was refused."""
    event = admitted(raw, key, engine.book.bounds, keyed=keyed)
    if isinstance(event, Reject):
        return event
    alerts = take_event(engine, event)
    return alerts if isinstance(alerts, Reject) else (event, alerts)


def take_event(
    engine: Engine, event: DossierEvent, at: int | None = None, *, bounds_checked: bool = False
) -> list[Alert] | Reject:
    """An event built in-process (a log's record mapped to an event) through the core.

    `at`: the event's instant when the caller has it already (`to_instant(event.time)`);
    `bounds_checked`: the event came through `admit`, which checked its bounds."""
    try:
        if at is None:
            at = to_instant(event.time)
        if not bounds_checked:
            check_bounds(event, engine.book.bounds, at)
        return engine.apply(event, at)
    except NewerLayoutError:
        raise  # the stored state is newer than this code, not the event bad: stop
    except Exception as err:  # the boundary, as in `take`
        return Reject.of(err)
