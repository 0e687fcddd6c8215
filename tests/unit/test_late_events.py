"""Late events: dated before timers that already fired on stream time, applied in event
time — what they prove wrong is resolved, what they reveal fires, the rest stands."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from helpers.random_stories import START, merged, story
from helpers.story import Story, at
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.contract.alerts import Alert
from streams.contract.events import DossierEvent
from streams.core.engine import Engine
from streams.policy import builtin_book


def run(events: Iterable[DossierEvent], judged_first: str) -> tuple[Engine, list[Alert]]:
    """Apply the first event, judge the stream at `judged_first`, then the rest (late)."""
    engine = Engine(builtin_book())
    events = list(events)
    alerts = engine.apply(events[0])
    alerts += engine.advance(at(judged_first))
    for e in events[1:]:
        alerts += engine.apply(e)
    return engine, alerts


def open_at_end(alerts: Iterable[Alert]) -> set[str]:
    open_: set[str] = set()
    for a in alerts:
        if a.status == "firing":
            open_.add(a.id)
        else:
            open_.discard(a.id)
    return open_


def test_an_on_time_completion_that_arrives_late_resolves_the_breach_as_late_event() -> None:
    """The stream passed the due date before the completion (dated earlier) was read: the
    breach is resolved as proved wrong, and the dossier counts as on time."""
    s = Story("HS-1").received("2025-09-08T09:00", unit="A", due="2025-09-09T00:00")
    s.complete("2025-09-08T23:50")
    engine, alerts = run(s.events, "2025-09-09T00:10")
    breach = [a for a in alerts if a.level == "overdue"]
    assert [a.status for a in breach] == ["firing", "resolved"]
    assert breach[1].evidence.startswith("late event: dossier.completed")
    assert engine.stats.completed_on_time == 1
    assert open_at_end(alerts) == set()


def test_a_late_completion_after_the_due_date_keeps_its_breach() -> None:
    """A completion dated after the due instant proves nothing wrong: the breach stands
    until the completion resolves it as usual."""
    s = Story("HS-1").received("2025-09-08T09:00", unit="A", due="2025-09-09T00:00")
    s.complete("2025-09-09T00:05")
    engine, alerts = run(s.events, "2025-09-09T00:10")
    breach = [a for a in alerts if a.level == "overdue"]
    assert [a.status for a in breach] == ["firing", "resolved"]
    assert "late event" not in breach[1].evidence
    assert engine.stats.completed_on_time == 0


def test_a_late_event_that_changes_nothing_says_nothing_twice() -> None:
    """A late assignment dated before the breach: the breach still holds, is not re-sent,
    and nothing is resolved."""
    s = Story("HS-1").received("2025-09-08T09:00", unit="A", due="2025-09-09T00:00")
    s.assign("2025-09-08T23:00", unit="A", officer="O1")
    _, alerts = run(s.events, "2025-09-09T00:10")
    assert [(a.level, a.status) for a in alerts if a.rule == "deadline"] == [
        ("near_due_75", "firing"),
        ("near_due_90", "firing"),
        ("overdue", "firing"),
    ]


def test_a_late_transfer_reveals_the_ping_pong_it_completes() -> None:
    """A→B→A where the return arrives late: the bounce fires when the return is read."""
    s = Story("HS-1").received("2025-09-08T09:00", unit="A", time_limit="30wd")
    s.transfer("2025-09-08T10:00", to="B", frm="A")
    s.back("2025-09-10T10:00", to="A", frm="B")
    engine = Engine(builtin_book())
    alerts = engine.apply(s.events[0]) + engine.apply(s.events[1])
    alerts += engine.advance(at("2025-09-16T12:00"))  # the stall fired meanwhile
    alerts += engine.apply(s.events[2])
    ids = {a.id for a in alerts if a.status == "firing"}
    assert "HS-1/ping_pong_unit/warning/1" in ids
    # The stall in B was wrong (the dossier had moved on); the one in A since the return
    # is right, and fires.
    in_b = [a for a in alerts if a.id == f"HS-1/stall/warning/{at('2025-09-08T10:00')}"]
    assert [a.status for a in in_b] == ["firing", "resolved"]
    assert in_b[1].evidence.startswith("late event")
    assert f"HS-1/stall/warning/{at('2025-09-10T10:00')}" in ids


def test_a_supplement_that_came_in_time_reopens_a_dossier_closed_too_early() -> None:
    """The closure after 15 days fired on stream time, but the supplement (read late) came
    on day 10: the dossier is open again and its time limit runs afresh."""
    s = Story("HS-1").received("2025-09-08T09:00", unit="A", time_limit="5wd")
    s.supplement("2025-09-08T10:00")
    s.supplied("2025-09-18T10:00")
    engine = Engine(builtin_book())
    alerts = engine.apply(s.events[0]) + engine.apply(s.events[1])
    alerts += engine.advance(at("2025-09-24T00:01"))  # closed at 24:00 of 23/9 (day 15)
    assert any(a.rule == "supplement_expired" for a in alerts)
    alerts += engine.apply(s.events[2])
    d = engine.dossiers.get("HS-1")
    assert d is not None and d.status_name == "open"
    later = engine.advance(at("2025-10-01T00:00"))
    assert any(a.level == "overdue" for a in later)


def events_late(events: list[DossierEvent], delays: list[int]) -> list[tuple[int, object]]:
    """The stream as late sources deliver it: each dossier's events read a fixed delay
    after their time (a source sends in order, late), so dossiers interleave anyhow."""
    timeline: list[tuple[int, int, object]] = []
    for i, e in enumerate(events):
        t = int(e.time.timestamp())
        delay = delays[int(e.subject[1:]) % len(delays)]
        timeline.append((t + delay, i, e))
    timeline.sort(key=lambda item: (item[0], item[1]))
    return [(when, e) for when, _, e in timeline]


@settings(
    max_examples=int(os.environ.get("LATE_EXAMPLES", "80")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    specs=st.lists(story, min_size=1, max_size=4),
    delays=st.lists(st.integers(0, 5 * 86400), min_size=1, max_size=5),
)
def test_judging_ahead_of_late_events_ends_where_a_replay_ends(
    specs: list[tuple[Any, ...]], delays: list[int]
) -> None:
    """However late the events arrive while the clock judges on, the alerts left open at
    the end are the replay's, every alert the replay fires fires, and every extra one is
    resolved as proved wrong by a late event."""
    events = merged(specs)
    end = int((START + timedelta(days=400)).timestamp())
    replay = Engine(builtin_book(), retention_days=3650)
    expected = [a for e in events for a in replay.apply(e)] + replay.advance(end)

    live = Engine(builtin_book(), retention_days=3650)
    got: list[Alert] = []
    for when, e in events_late(events, delays):
        got += live.advance(when)
        got += live.apply(e)  # type: ignore[arg-type]
    got += live.advance(end)

    assert open_at_end(got) == open_at_end(expected)
    fired = {a.id for a in got if a.status == "firing"}
    assert fired >= {a.id for a in expected if a.status == "firing"}
    extra = fired - {a.id for a in expected if a.status == "firing"}
    wrong = {a.id for a in got if a.status == "resolved" and a.evidence.startswith("late event")}
    assert extra <= wrong
