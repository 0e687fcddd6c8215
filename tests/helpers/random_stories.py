"""Random dossier stories for property tests (hypothesis strategies and their events)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from streams.contract.events import DossierEvent, event_from_dict

START = datetime(2025, 9, 1, 1, 0, tzinfo=UTC)
UNITS = ["ONE_STOP", "A", "B", "C", "D"]
OFFICERS = ["O1", "O2", "O3"]

action = st.one_of(
    st.tuples(st.just("transferred"), st.sampled_from(UNITS)),
    st.tuples(st.just("returned"), st.sampled_from(UNITS)),
    st.tuples(st.just("assigned"), st.sampled_from(OFFICERS)),
    st.tuples(st.just("consultation_requested"), st.sampled_from(UNITS)),
    st.tuples(st.just("consultation_answered"), st.sampled_from(UNITS)),
    st.tuples(st.just("supplement_requested"), st.none()),
    st.tuples(st.just("supplement_received"), st.none()),
    st.tuples(st.just("rescheduled"), st.integers(1, 20)),
    st.tuples(st.just("completed"), st.none()),
    st.tuples(st.just("delivered"), st.none()),
    st.tuples(st.just("withdrawn"), st.none()),
)
step = st.tuples(action, st.integers(0, 4 * 86400), st.booleans())
story = st.tuples(
    st.booleans(),  # online submission first
    st.sampled_from(["3wd", "5wd", "30d", "8wh", "2h"]),
    st.integers(0, 20 * 86400),  # arrival offset
    st.lists(step, max_size=12),
)


def build(dossier: str, spec: tuple[Any, ...]) -> list[DossierEvent]:
    online, limit, offset, steps = spec
    t = START + timedelta(seconds=offset)
    out: list[dict[str, Any]] = []

    def add(kind: str, when: datetime, **data: Any) -> None:
        out.append(
            {
                "specversion": "1.0",
                "id": f"{dossier}-{len(out)}",
                "source": "p",
                "type": f"dossier.{kind}",
                "time": when.isoformat(),
                "subject": dossier,
                "data": data,
            }
        )

    if online:
        add("submitted", t, unit="ONE_STOP", channel="online")
        t += timedelta(hours=5)
    add("received", t, procedure="P", unit="ONE_STOP", time_limit=limit)
    unit = "ONE_STOP"
    for (kind, arg), gap, repeat in steps:
        t += timedelta(seconds=gap)
        if kind in ("transferred", "returned"):
            add(kind, t, from_unit=unit, to_unit=arg)
            unit = arg
        elif kind == "assigned":
            add(kind, t, unit=unit, officer=arg)
        elif kind == "consultation_requested":
            add(kind, t, consulted_unit=arg, reply_due=(t + timedelta(days=2)).isoformat())
        elif kind == "consultation_answered":
            add(kind, t, consulted_unit=arg)
        elif kind == "rescheduled":
            add(kind, t, new_due=(t + timedelta(days=arg)).isoformat())
        elif kind == "completed":
            add(kind, t, outcome="approved")
        else:
            add(kind, t)
        if repeat:  # a duplicate delivery of the same event
            out.append(dict(out[-1]))
    return [event_from_dict(e) for e in out]


def merged(specs: list[tuple[Any, ...]]) -> list[DossierEvent]:
    events = [e for i, spec in enumerate(specs) for e in build(f"D{i}", spec)]
    return sorted(events, key=lambda e: e.time)  # stable: a dossier keeps its own order
