"""The worker's per-message logic without Faust: events, ticks, the deadline index."""

from __future__ import annotations

from helpers.story import Story, at
from prometheus_client import CollectorRegistry

from streams.core.dossier import decode_state
from streams.core.events import encode_event
from streams.core.policy import PolicyBook
from streams.metrics import PipelineMetrics
from streams.worker.core import DELETE, WorkerCore

BOOK = PolicyBook.builtin()


def EPOCH() -> float:
    return 0.0


def core_with_metrics() -> tuple[WorkerCore, CollectorRegistry]:
    registry = CollectorRegistry()
    return WorkerCore(BOOK, PipelineMetrics(registry, BOOK), clock=EPOCH), registry


def test_an_event_keyed_by_another_dossier_is_rejected() -> None:
    """A message whose key is not its dossier id is dead-lettered as bad_key, state untouched."""
    core, registry = core_with_metrics()
    event = Story("HS-1").received("2025-09-08T09:00").events[0]
    out = core.on_event(encode_event(event), lambda _: None, "HS-2")
    assert out.invalid is not None and out.invalid.reason == "bad_key" and out.state is None
    assert (
        registry.get_sample_value("dossierwatch_events_invalid_total", {"reason": "bad_key"}) == 1
    )


def test_events_update_state_and_schedule_the_deadline() -> None:
    """A receipt yields a stored state and an index entry no later than its first warning."""
    core, registry = core_with_metrics()
    event = Story("HS-1").received("2025-09-08T09:00").events[0]
    out = core.on_event(encode_event(event), lambda _: None, "HS-1")
    assert out.state and decode_state(out.state).status_name == "open"
    assert "HS-1" in core.wakes and core.wakes["HS-1"] <= at("2025-09-12T14:15")
    assert registry.get_sample_value("dossierwatch_events_total", {"type": "dossier.received"}) == 1


def test_a_redelivered_event_changes_nothing() -> None:
    """The same event again (after a rebalance) stores nothing and counts a duplicate."""
    core, registry = core_with_metrics()
    raw = encode_event(Story("HS-1").received("2025-09-08T09:00").events[0])
    first = core.on_event(raw, lambda _: None, "HS-1")
    again = core.on_event(raw, lambda _: first.state, "HS-1")
    assert again.state is None and again.alerts == []
    assert registry.get_sample_value("dossierwatch_events_duplicate_total") == 1


def test_a_tick_fires_what_is_due_and_re_arms() -> None:
    """Ticking after the due date fires the breach and schedules the escalation."""
    core = WorkerCore(BOOK, clock=EPOCH)
    raw = encode_event(Story("HS-1").received("2025-09-08T09:00", unit="A").events[0])
    state = core.on_event(raw, lambda _: None, "HS-1").state
    assert core.due(at("2025-09-11T08:00")) == []  # nothing can be due before the stall
    keys = core.due(at("2025-09-16T00:01"))
    assert keys == ["HS-1"] and "HS-1" not in core.wakes
    out = core.on_tick("HS-1", state, at("2025-09-16T00:01"))
    assert {(a.rule, a.level) for a in out.alerts} == {
        ("stall", "warning"),
        ("deadline", "near_due_75"),
        ("deadline", "near_due_90"),
        ("deadline", "overdue"),
    }
    assert core.wakes["HS-1"] <= at("2025-09-17T00:00")


def test_dossiers_of_a_partition_with_a_backlog_wait() -> None:
    """Only the partitions named as caught up give up their due dossiers."""
    core = WorkerCore(BOOK, clock=EPOCH, partition_of=lambda k: 1 if k == "B" else 0)
    for name in ("A", "B"):
        raw = encode_event(Story(name).received("2025-09-08T09:00").events[0])
        core.on_event(raw, lambda _: None, name)
    now = at("2025-10-01T00:00")
    assert core.due(now, partitions={1}) == ["B"]
    assert core.due(now, partitions=set()) == []
    assert core.due(now, partitions={0, 1}) == ["A"]


def test_a_finished_dossier_is_deleted_after_retention() -> None:
    """Completed dossiers leave the table once the retention has passed."""
    core = WorkerCore(BOOK, retention_days=30, clock=EPOCH)
    story = Story("HS-1").received("2025-09-08T09:00").complete("2025-09-09T09:00")
    state = None
    for e in story.events:
        state = core.on_event(encode_event(e), lambda _, s=state: s, "HS-1").state or state
    assert core.due(at("2025-10-09T08:00")) == []
    assert core.due(at("2025-10-09T10:00")) == ["HS-1"]
    assert core.on_tick("HS-1", state, at("2025-10-09T10:00")).state == DELETE


def test_the_index_is_rebuilt_from_stored_states() -> None:
    """After a rebalance the index holds exactly the stored dossiers that wait for time."""
    core = WorkerCore(BOOK, clock=EPOCH)
    states = []
    for name in ("A", "B"):
        raw = encode_event(Story(name).received("2025-09-08T09:00").events[0])
        out = core.on_event(raw, lambda _: None, name)
        states.append((name, out.state or b""))
    fresh = WorkerCore(BOOK, clock=EPOCH)
    assert fresh.rebuild([*states, ("junk", b"\xff\x00")]) == 2
    assert set(fresh.wakes) == {"A", "B"}


def test_a_dossier_is_not_ticked_while_its_next_events_may_be_on_the_way() -> None:
    """After an event a dossier waits `settle` seconds of wall time before a tick, and
    `backlog_settle` when the event is old (a sender catching up on history)."""
    wall = [at("2025-09-08T09:00") + 5]
    core = WorkerCore(BOOK, clock=lambda: wall[0], settle=2.0, backlog_settle=20.0)
    live = encode_event(
        Story("LIVE").received("2025-09-08T09:00", unit="A", due="2025-09-08T09:00:01").events[0]
    )
    core.on_event(live, lambda _: None, "LIVE")
    assert core.due(int(wall[0]) + 1) == []
    assert core.due(int(wall[0]) + 3) == ["LIVE"]
    wall[0] = at("2026-01-05T10:00")
    old = encode_event(Story("OLD").received("2025-09-08T09:00", unit="A").events[0])
    core.on_event(old, lambda _: None, "OLD")
    assert core.due(int(wall[0]) + 3) == []
    assert core.due(int(wall[0]) + 21) == ["OLD"]
