"""Properties of the engine over random dossier stories (hypothesis)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.core.alerts import Alert
from streams.core.engine import Engine
from streams.core.events import DossierEvent, event_from_dict

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


def per_dossier(alerts: list[Alert]) -> dict[str, list[tuple[str, str, str]]]:
    out: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for a in alerts:
        out[a.dossier].append((a.id, a.status, a.at))
    return dict(out)


def replay(events: list[DossierEvent], ticks: list[int] | None = None) -> list[Alert]:
    engine = Engine(retention_days=3650)
    alerts: list[Alert] = []
    ticks = sorted(ticks or [])
    for e in events:
        now = int(e.time.timestamp())
        while ticks and ticks[0] <= now:
            alerts += engine.advance(ticks.pop(0))
        alerts += engine.apply(e)
    end = int((START + timedelta(days=400)).timestamp())
    alerts += engine.advance(end)
    return alerts


stories = st.lists(story, min_size=1, max_size=6)
quick = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@quick
@given(specs=stories)
def test_replay_is_deterministic(specs: list[tuple[Any, ...]]) -> None:
    """The same events give the same alerts, byte for byte, every time."""
    events = merged(specs)
    assert replay(events) == replay(events)


@quick
@given(specs=stories, ticks=st.lists(st.integers(0, 60 * 86400), max_size=30))
def test_advancing_the_clock_in_arbitrary_steps_gives_the_same_alerts(
    specs: list[tuple[Any, ...]], ticks: list[int]
) -> None:
    """Clock ticks between events (any number, anywhere) change no dossier's alerts."""
    events = merged(specs)
    base = int(START.timestamp())
    assert per_dossier(replay(events, [base + t for t in ticks])) == per_dossier(replay(events))


@quick
@given(specs=stories, cut=st.integers(0, 10))
def test_interleaving_dossiers_differently_gives_the_same_alerts(
    specs: list[tuple[Any, ...]], cut: int
) -> None:
    """Dossiers fed one after another (as XES traces are) alert exactly as when time-merged."""
    by_dossier = [e for i, spec in enumerate(specs) for e in build(f"D{i}", spec)]
    assert per_dossier(replay(by_dossier)) == per_dossier(replay(merged(specs)))


@quick
@given(specs=stories)
def test_no_alert_id_fires_twice(specs: list[tuple[Any, ...]]) -> None:
    """Every firing alert id is unique over a whole replay, duplicates in the input included."""
    ids = [a.id for a in replay(merged(specs)) if a.status == "firing"]
    assert len(ids) == len(set(ids))


@quick
@given(specs=stories)
def test_a_finished_dossier_never_alerts_afterwards(specs: list[tuple[Any, ...]]) -> None:
    """After completion or withdrawal, no alert about the dossier fires later."""
    events = merged(specs)
    finished: dict[str, str] = {}
    for e in events:
        kind = e.__struct_config__.tag
        if kind in ("dossier.completed", "dossier.withdrawn", "dossier.delivered"):
            finished.setdefault(e.subject, e.time.isoformat())
    for a in replay(events):
        if a.status == "firing" and a.dossier in finished:
            fired = datetime.fromisoformat(a.at)
            assert fired <= datetime.fromisoformat(finished[a.dossier]), a


@quick
@given(specs=stories)
def test_every_firing_alert_is_resolved_when_its_dossier_finishes(
    specs: list[tuple[Any, ...]],
) -> None:
    """A dossier that completed or was withdrawn has no alert left firing."""
    events = merged(specs)
    engine = Engine(retention_days=3650)
    alerts = engine.drain(events)
    alerts += engine.advance(int((START + timedelta(days=400)).timestamp()))
    open_ids: dict[str, set[str]] = defaultdict(set)
    for a in alerts:
        (open_ids[a.dossier].add if a.status == "firing" else open_ids[a.dossier].discard)(a.id)
    for key, d in engine.dossiers.items():
        if d.status_name in ("completed", "delivered", "withdrawn", "closed"):
            assert not open_ids[key], (key, open_ids[key])
