"""The engine's own bookkeeping: packed states, the index's stale entries, its compaction."""

from __future__ import annotations

from helpers.story import Story, at

from streams.contract.alerts import Alert
from streams.contract.events import DossierEvent
from streams.core.engine import Engine
from streams.core.timers import TimerIndex
from streams.policy import builtin_book


def stories(n: int) -> list[DossierEvent]:
    """Dossiers received at the One-Stop Unit and transferred on: each transfer moves the
    wake-up days later (a stale index entry), and a reply or two moves it again."""
    events: list[DossierEvent] = []
    for i in range(n):
        s = Story(f"HS-{i}").received(f"2025-09-08T{8 + i % 3:02d}:{i % 60:02d}", unit="ONE_STOP")
        s.transfer(f"2025-09-08T{11 + i % 3}:00", to="A", frm="ONE_STOP")
        if i % 2:
            s.assign(f"2025-09-10T{9 + i % 5:02d}:00", unit="A", officer="O1")
        events += s.events
    return sorted(events, key=lambda e: e.time)


def replay(engine: Engine, events: list[DossierEvent]) -> list[Alert]:
    alerts: list[Alert] = []
    for e in events:
        alerts += engine.advance(int(e.time.timestamp()))
        alerts += engine.apply(e)
    return alerts + engine.advance(at("2025-12-31T00:00"))


def test_compacting_the_index_loses_no_wake_up() -> None:
    """With compaction at every turn, every dossier still gets each of its alerts, once."""
    events = stories(120)
    eager = Engine(builtin_book(), index=lambda: TimerIndex(compact_floor=1, compact_factor=1.01))
    lazy = Engine(builtin_book(), index=lambda: TimerIndex(compact_floor=10**9))
    got, expected = replay(eager, events), replay(lazy, events)
    assert sorted(a.id for a in got) == sorted(a.id for a in expected)
    assert len({a.id for a in expected if a.rule == "deadline" and a.level == "overdue"}) == 120
    (index,) = eager.lanes.values()
    assert len(index) <= 1.01 * max(index.live, 1) + 1


def test_a_dossier_read_from_the_engine_is_a_copy() -> None:
    """Changing a dossier read from `engine.dossiers` changes nothing the engine holds."""
    engine = Engine(builtin_book())
    engine.drain(Story().received("2025-09-08T09:00", unit="A").events)
    copy = engine.dossiers.get("HS-1")
    assert copy is not None
    copy.unit = "elsewhere"
    again = engine.dossiers.get("HS-1")
    assert again is not None and again.unit == "A"


def test_compacting_a_lane_files_again_a_dossier_handed_out_and_not_yet_fired() -> None:
    """A dossier `due` handed out has no index entry; a compaction before its tick files
    it again, as the full scan of the stored dossiers did, and only in its own lane."""
    engine = Engine(
        builtin_book(),
        partition_of=lambda key: int(key.rsplit("-", 1)[1]) % 2,
        index=lambda: TimerIndex(compact_floor=10**9),
    )
    engine.drain(stories(6))
    lanes = sorted(engine.lanes)
    assert [lane[0] for lane in lanes] == [0, 1]
    handed_out = engine.due(lanes[0], at("2025-12-31T00:00"))
    assert handed_out and engine.lanes[lanes[0]].live == 0
    for lane in lanes:
        engine.rebuild_lane(lane)
    assert engine.lanes[lanes[0]].live == len(handed_out)
    assert engine.lanes[lanes[1]].live == 3  # its own three, none of lane 0's
    assert sorted(engine.due(lanes[0], at("2025-12-31T00:00"))) == sorted(handed_out)
