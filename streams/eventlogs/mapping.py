"""Turn a process-mining trace (XES or CSV) into dossier events.

A case is a dossier.  Its first event is the receipt (the time limit starts); a change
of the unit attribute is a transfer; a change of the officer attribute is an
assignment; any other event is progress in the same unit; the last event completes
the dossier unless told otherwise.  Values that mean "nobody" are no unit or officer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from streams.contract.events import DossierEvent, event_from_dict
from streams.eventlogs.logs import LogFormatError, LogTrace

NOBODY = frozenset({"", "EMPTY", "UNDEFINED", "MISSING", "UNKNOWN"})
TIME = "time:timestamp"


@dataclass(frozen=True)
class Mapping:
    unit_attr: str = "org:group"
    unit_attr_named: bool = False
    """The operator named `unit_attr` (`--unit-attr`): a log without it is then an error;
    the default one may be absent (every event then has no unit)."""
    officer_attr: str | None = "org:resource"
    due_attr: str | None = None
    """A trace attribute holding the due date (e.g. `deadline` in the WABO receipt log)."""
    time_limit: str | None = None
    """Used when the trace has no due date; None: the policy's default."""
    procedure_attr: str | None = None
    procedure: str = "log"
    complete_at_end: bool = True
    ignore_values: frozenset[str] = NOBODY
    source: str = "dossierwatch-replay"


def _value(raw: object, ignore: frozenset[str]) -> str | None:
    if raw is None:
        return None
    text = str(raw).strip()
    return None if text in ignore or text.upper() in ignore else text


def trace_events(trace: LogTrace, m: Mapping, path: str) -> list[DossierEvent]:
    """The dossier events of one trace, in time order (equal times keep file order)."""
    timed: list[tuple[datetime, int, dict[str, object]]] = []
    for i, raw in enumerate(trace.events):
        when = raw.get(TIME)
        if not isinstance(when, datetime):
            raise LogFormatError(
                f"case {trace.case_id!r}: event {i + 1} has no {TIME}", path=path, line=trace.line
            )
        timed.append((when, i, raw))
    if not timed:
        return []
    timed.sort(key=lambda x: (x[0], x[1]))

    units = [_value(raw.get(m.unit_attr), m.ignore_values) for _, _, raw in timed]
    officers = [
        _value(raw.get(m.officer_attr), m.ignore_values) if m.officer_attr else None
        for _, _, raw in timed
    ]
    first_unit = next((u for u in units if u), "(none)")
    dossier = trace.case_id
    out: list[dict[str, Any]] = []

    def add(kind: str, when: datetime, i: int, suffix: str, **data: Any) -> None:
        out.append(
            {
                "specversion": "1.0",
                "id": f"{dossier}#{i}{suffix}",
                "source": m.source,
                "type": f"dossier.{kind}",
                "time": when.isoformat(),
                "subject": dossier,
                "data": data,
            }
        )

    received: dict[str, Any] = {"procedure": _procedure(trace, m), "unit": first_unit}
    due = trace.attributes.get(m.due_attr) if m.due_attr else None
    if isinstance(due, datetime):
        received["due"] = due.isoformat()
    elif m.time_limit:
        received["time_limit"] = m.time_limit
    start = timed[0][0]
    add("received", start, 0, "r", **received)
    unit, officer = first_unit, None
    for n, (when, _, _) in enumerate(timed):
        u, o = units[n], officers[n]
        moved = False
        if u and u != unit:
            add("transferred", when, n, "t", from_unit=unit, to_unit=u)
            unit, moved = u, True
        if o and o != officer:
            add("assigned", when, n, "a", unit=unit, officer=o)
            officer, moved = o, True
        if not moved and n > 0:
            add("assigned", when, n, "p", unit=unit, officer=officer)  # progress in place
    if m.complete_at_end:
        add("completed", timed[-1][0], len(timed), "c", outcome="approved")
    try:
        return [event_from_dict(e) for e in out]
    except ValueError as err:
        raise LogFormatError(f"case {dossier!r}: {err}", path=path, line=trace.line) from None


def _procedure(trace: LogTrace, m: Mapping) -> str:
    if m.procedure_attr:
        value = trace.attributes.get(m.procedure_attr)
        if value is not None and str(value).strip():
            return str(value).strip()[:200]
    return m.procedure


def with_unit_attr(traces: Iterable[LogTrace], m: Mapping, path: str) -> Iterator[LogTrace]:
    """The traces, passed through; once they are all read, a `LogFormatError` if some
    had events but none of those events had the unit attribute at all (a misspelt
    `--unit-attr` would otherwise give an empty result: no unit, no transfer, no alert).
    """
    found = events = False
    keys: set[str] = set()
    for trace in traces:
        if not found:
            for event in trace.events:
                events = True
                if m.unit_attr in event:
                    found = True
                    break
                if len(keys) < 50:
                    keys.update(k for k in event if k != TIME)
        yield trace
    if events and not found:
        known = ", ".join(sorted(keys)[:12]) or "no attribute but the time"
        raise LogFormatError(
            f"no event has the unit attribute {m.unit_attr!r} (--unit-attr); the events"
            f" have: {known}",
            path=path,
        )
