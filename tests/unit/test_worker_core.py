"""The worker's per-message logic without Faust: events, ticks, stream clocks, the schedule."""

from __future__ import annotations

import json

import pytest
from helpers.story import Story, at
from prometheus_client import CollectorRegistry

from streams.contract.events import DossierEvent, encode_event
from streams.metrics import PipelineMetrics
from streams.policy import builtin_book
from streams.worker.core import Outcome, TableStates, WorkerCore

BOOK = builtin_book()


class Worker:
    """A WorkerCore over a dict table, committing each message's writes like the agent."""

    def __init__(self, **options: object) -> None:
        self.table: dict[bytes, bytes] = {}
        self.registry = CollectorRegistry()
        self.core = WorkerCore(
            BOOK,
            TableStates(self.table),
            PipelineMetrics(self.registry, BOOK),
            **options,  # type: ignore[arg-type]
        )

    def event(self, e: DossierEvent, wall: float, key: bytes | None = None) -> Outcome:
        raw = encode_event(e)
        return self.raw(raw, e.subject.encode() if key is None else key, wall)

    def raw(self, raw: bytes, key: bytes | None, wall: float, partition: int = 0) -> Outcome:
        out = self.core.on_event(raw, key, partition, wall)
        self.commit()
        return out

    def tick(self, key: str, now: int, wall: float) -> Outcome:
        out = self.core.on_tick(key.encode(), str(now).encode(), 0, wall)
        self.commit()
        return out

    def due(self, wall: float, caught_up: set[int] | None = None) -> list[tuple[str, int]]:
        return self.core.due(wall, [0, 1], {0, 1} if caught_up is None else caught_up)

    def commit(self) -> None:
        for key, value in self.core.store.take_writes().items():
            if value is None:
                self.table.pop(key.encode(), None)
            else:
                self.table[key.encode()] = value

    def sample(self, name: str, labels: dict[str, str] | None = None) -> float | None:
        return self.registry.get_sample_value(name, labels or {})


def test_an_event_keyed_by_another_dossier_is_rejected() -> None:
    """A message whose key is not its dossier id is dead-lettered as bad_key, state untouched."""
    w = Worker()
    event = Story("HS-1").received("2025-09-08T09:00").events[0]
    out = w.event(event, at("2025-09-08T09:00"), key=b"HS-2")
    assert out.reject is not None and out.reject.reason == "bad_key" and not w.table
    assert w.sample("dossierwatch_events_invalid_total", {"reason": "bad_key"}) == 1


def test_events_update_state_and_schedule_the_deadline() -> None:
    """A receipt yields a stored state and a wake-up no later than its first warning."""
    w = Worker()
    event = Story("HS-1").received("2025-09-08T09:00").events[0]
    w.event(event, at("2025-09-08T09:00"))
    d = w.core.store.get("HS-1")
    assert d is not None and d.status_name == "open"
    assert d.wake is not None and d.wake <= at("2025-09-12T14:15")
    assert w.core.waiting() == 1
    assert w.sample("dossierwatch_events_total", {"type": "dossier.received"}) == 1


def test_a_redelivered_event_changes_nothing() -> None:
    """The same event again (after a rebalance) stores nothing and counts a duplicate."""
    w = Worker()
    event = Story("HS-1").received("2025-09-08T09:00").events[0]
    w.event(event, at("2025-09-08T09:00"))
    before = dict(w.table)
    again = w.event(event, at("2025-09-08T09:00"))
    assert again.alerts == [] and again.reject is None and w.table == before
    assert w.sample("dossierwatch_events_duplicate_total") == 1


def test_a_reused_event_id_with_other_content_is_rejected() -> None:
    """The same (source, id) with other content is a conflicting duplicate: rejected, counted,
    the dossier as it was."""
    w = Worker()
    first = Story("HS-1").received("2025-09-08T09:00").events[0]
    w.event(first, at("2025-09-08T09:00"))
    before = dict(w.table)
    body = json.loads(encode_event(first))
    body["data"]["unit"] = "ELSEWHERE"
    out = w.raw(json.dumps(body).encode(), b"HS-1", at("2025-09-08T09:01"))
    assert out.reject is not None and out.reject.reason == "conflicting_duplicate"
    assert w.table == before


def test_the_same_id_from_another_source_is_another_event() -> None:
    """Identity is (source, id): a second system's event with the same id is applied."""
    w = Worker()
    first = Story("HS-1").received("2025-09-08T09:00", unit="A").events[0]
    w.event(first, at("2025-09-08T09:00"))
    body = json.loads(encode_event(first))
    body.update(type="dossier.assigned", source="other-system", data={"unit": "B"})
    out = w.raw(json.dumps(body).encode(), b"HS-1", at("2025-09-08T09:01"))
    assert out.reject is None
    d = w.core.store.get("HS-1")
    assert d is not None and d.unit == "B" and d.source == "other-system"


def test_a_tick_fires_what_is_due_on_stream_time_and_re_arms() -> None:
    """A caught-up partition's clock runs with the wall clock from its latest event; the
    dossier due by then is ticked at that stream time and fires its levels."""
    w = Worker()
    receipt = Story("HS-1").received("2025-09-08T09:00", unit="A").events[0]
    read = 1_000_000.0  # the wall clock is far from event time: only its passing counts
    w.event(receipt, read)
    assert w.due(read + 3600) == []  # an hour of stream time later: nothing due
    days = at("2025-09-16T00:01") - at("2025-09-08T09:00")
    ticks = w.due(read + days)
    assert ticks == [("HS-1", at("2025-09-16T00:01"))]
    out = w.tick("HS-1", ticks[0][1], read + days)
    assert {(a.rule, a.level) for a in out.alerts} == {
        ("stall", "warning"),
        ("deadline", "near_due_75"),
        ("deadline", "near_due_90"),
        ("deadline", "overdue"),
    }
    d = w.core.store.get("HS-1")
    assert d is not None and d.wake is not None and d.wake <= at("2025-09-17T00:00")


def test_a_tick_cannot_fire_past_its_sources_clock() -> None:
    """A forged tick dated years ahead fires only what the stream clock allows: nothing."""
    w = Worker()
    w.event(Story("HS-1").received("2025-09-08T09:00", unit="A").events[0], 1000.0)
    out = w.tick("HS-1", at("2030-01-01T00:00"), 1000.0)
    assert out.alerts == [] and out.reject is None


def test_a_malformed_tick_is_rejected_not_fatal() -> None:
    """A tick whose value is not an instant comes back as a bad_tick reject."""
    w = Worker()
    w.event(Story("HS-1").received("2025-09-08T09:00").events[0], 1000.0)
    out = w.core.on_tick(b"HS-1", b"soon", 0, 1000.0)
    assert out.reject is not None and out.reject.reason == "bad_tick"


def test_a_partition_with_a_backlog_holds_its_clock() -> None:
    """While a partition has unread events its clock stands still: no wall time counts,
    and its due dossiers wait; caught up, the clock runs on from where it stood."""
    w = Worker()
    w.event(Story("A").received("2025-09-08T09:00", due="2025-09-08T10:00").events[0], 0.0)
    assert w.due(0.0, caught_up=set()) == []  # the timer's first look: a backlog
    assert w.due(7200.0, caught_up=set()) == []  # two hours of wall time in a backlog
    assert w.due(9000.0, caught_up={0}) == []  # caught up: the clock runs from 09:00 on
    assert w.due(9000.0 + 1800, caught_up={0}) == []  # half an hour of stream time
    assert [k for k, _ in w.due(9000.0 + 3600.5, caught_up={0})] == ["A"]


def test_a_tick_read_during_a_backlog_fires_nothing_until_the_partition_is_caught_up() -> None:
    """A tick that arrives while events of its partition wait to be read (one sent before
    a rebalance, read by the new owner ahead of the events it re-reads) fires nothing;
    the dossier stays scheduled and fires once the partition is caught up."""
    w = Worker()
    w.event(Story("A").received("2025-09-08T09:00", due="2025-09-08T10:00").events[0], 0.0)
    assert [k for k, _ in w.due(3600.5, caught_up={0})] == ["A"]  # handed out for a tick
    w.due(3601.0, caught_up=set())  # before the tick is read, new events wait: held
    held = w.tick("A", at("2025-09-08T10:00") + 1, 3601.0)
    assert held.alerts == [] and held.reject is None
    assert w.core.waiting() == 1  # back on the schedule, not lost
    due = w.due(3602.0, caught_up={0})
    assert [k for k, _ in due] == ["A"]
    fired = w.tick("A", due[0][1], 3602.0)
    assert any(a.rule == "deadline" for a in fired.alerts)


def test_a_tick_for_restored_clocks_waits_for_the_first_look() -> None:
    """Clocks restored after a rebalance neither run nor hold until the timer has looked
    at the partition: a tick read before that fires nothing (the saved clock may be ahead
    of the states the new owner holds)."""
    w = Worker()
    w.event(Story("A").received("2025-09-08T09:00", due="2025-09-08T10:00").events[0], 0.0)
    # The previous owner read a later event of the source (its state never reached the
    # table): the saved clock stands past A's deadline.
    w.event(Story("B").received("2025-09-08T10:30").events[0], 1.0)
    w.core.store.discard("B")
    w.commit()
    saved = w.core.saved_clocks(0, 7200.0)
    w.core.clocks.clear()
    w.core.restore_clocks(0, saved)
    w.core.rebuild()
    out = w.tick("A", at("2025-09-08T11:00"), 7200.0)
    assert out.alerts == [] and out.reject is None
    assert w.core.waiting() == 1
    assert [k for k, _ in w.due(7200.0, caught_up={0})] == ["A"]  # once looked at


def test_a_finished_dossier_is_deleted_after_retention() -> None:
    """Completed dossiers leave the table once the retention has passed in stream time."""
    w = Worker(retention_days=30)
    story = Story("HS-1").received("2025-09-08T09:00").complete("2025-09-09T09:00")
    for e in story.events:
        w.event(e, 0.0)
    until = at("2025-10-09T10:00") - at("2025-09-09T09:00")
    ticks = w.due(float(until))
    assert [k for k, _ in ticks] == ["HS-1"]
    w.tick("HS-1", ticks[0][1], float(until))
    assert w.table == {}


def test_the_schedule_is_rebuilt_from_stored_states() -> None:
    """After a rebalance the schedule holds exactly the stored dossiers that wait for time;
    an unreadable value is skipped."""
    w = Worker()
    for name in ("A", "B"):
        w.event(Story(name).received("2025-09-08T09:00").events[0], 0.0)
    table = {**w.table, b"junk": b"\xff\x00"}
    fresh = WorkerCore(BOOK, TableStates(table))
    assert fresh.rebuild() == 2


def test_the_schedule_read_in_one_pass_holds_a_batch_s_writes_over_the_table() -> None:
    """Rebuilt mid-batch, the schedule takes the batch's writes over the table: a dossier
    received in it is there, one it discarded is not."""
    w = Worker()
    for name in ("A", "B"):
        w.event(Story(name).received("2025-09-08T09:00").events[0], 0.0)
    w.core.store.discard("B")
    d = Story("D").received("2025-09-08T10:00").events[0]
    w.core.on_event(encode_event(d), b"D", 0, 0.0)  # not committed: a pending write
    entries = dict(w.core.store.live_entries())
    assert sorted(entries) == ["A", "D"]
    assert entries == {k: w.core.store.live(k) for k in ("A", "D")}
    assert w.core.rebuild() == 2


def test_the_clock_state_survives_a_restart() -> None:
    """Saved and restored, a partition's clocks resume at the stream time they had."""
    w = Worker()
    w.event(Story("A").received("2025-09-08T09:00", due="2025-09-08T12:00").events[0], 0.0)
    saved = w.core.clock(0).state(3600.0)
    fresh = Worker()
    fresh.table.update(w.table)
    fresh.core.rebuild()
    fresh.core.clock(0).restore(saved)
    # Down for two hours with nothing to read: the quiet source's clock counts them.
    assert fresh.due(3 * 3600.0 + 0.5, caught_up={0}) == [("A", at("2025-09-08T12:00") + 1)]


POISON: list[tuple[str, bytes, bytes | None, str]] = [
    ("invalid UTF-8 in a string", b'{"specversion":"1.0","id":"\xff"}', b"X", "bad_text"),
    ("a key that is not UTF-8", b"{}", b"\xff\xfe", "missing_field"),
    ("nested 100,000 deep", b'{"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}", b"X", "too_complex"),
    ("nested 40 deep", b'{"x":' + b"[" * 40 + b"]" * 40 + b"}", b"X", "too_deep"),
    ("not JSON", b"{nope", b"X", "not_json"),
    ("a lone surrogate", b'{"id":"\\ud800"}', b"X", "not_json"),
]


def _received(**changes: object) -> bytes:
    body = json.loads(encode_event(Story("HS-9").received("2025-09-08T09:00").events[0]))
    data = changes.pop("data", None)
    body.update(changes)
    if isinstance(data, dict):
        body["data"].update(data)
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("raw", "key", "reason"),
    [
        *((raw, key, reason) for _, raw, key, reason in POISON),
        (_received(), b"\xff\xfe", "bad_key"),
        (_received(time="0001-01-01T00:00:00+07:00"), b"HS-9", "time_out_of_range"),
        (_received(time="9999-12-31T23:59:59+07:00"), b"HS-9", "time_out_of_range"),
        (_received(data={"time_limit": "100000000000000000000wd"}), b"HS-9", "bad_time_limit"),
        (_received(data={"time_limit": "0wd"}), b"HS-9", "bad_time_limit"),
        (_received(data={"time_limit": "99999wd"}), b"HS-9", "bad_time_limit"),
        (_received(data={"due": "2200-01-01T00:00:00+07:00"}), b"HS-9", "time_out_of_range"),
        (_received(data={"unit": 7}), b"HS-9", "bad_field"),
    ],
)
def test_poison_is_rejected_with_its_reason_and_changes_nothing(
    raw: bytes, key: bytes | None, reason: str
) -> None:
    """Each malformed message comes back as a reject with its reason; the table and the
    schedule are as they were, and the next valid event is judged as ever."""
    w = Worker()
    out = w.raw(raw, key, 0.0)
    assert out.reject is not None and out.reject.reason == reason, out.reject
    assert w.table == {} and w.core.waiting() == 0
    good = Story("HS-9").received("2025-09-08T09:00", unit="A", due="2025-09-10T00:00")
    assert w.event(good.events[0], 1.0).reject is None
    assert w.core.waiting() == 1


def test_an_unexpected_error_is_a_reject_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever a detector raises, the event comes back rejected as `unexpected`, with the
    exception's class, and nothing is stored."""
    import streams.core.engine as engine

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug in a detector")

    monkeypatch.setattr(engine, "apply_event", broken)
    w = Worker()
    out = w.event(Story("HS-1").received("2025-09-08T09:00").events[0], 0.0)
    assert out.reject is not None
    assert (out.reject.reason, out.reject.error) == ("unexpected", "ZeroDivisionError")
    assert w.table == {}
