"""The deadline index: earliest first, stale entries dropped, growth bounded."""

from streams.core.timers import TimerIndex


def test_due_entries_come_out_earliest_first_and_only_before_now() -> None:
    """Entries strictly before `now` are yielded in time order; later ones stay."""
    index = TimerIndex()
    live: dict[str, int | None] = {}
    for key, when in [("c", 30), ("a", 10), ("b", 20), ("d", 40)]:
        live[key] = index.schedule(key, None, when)
    got = []
    for key in index.pop_due(30, live.get):
        live[key] = None
        got.append(key)
    assert got == ["a", "b"]
    assert index.next_instant() == 30


def test_moving_a_wake_up_later_keeps_the_earlier_entry() -> None:
    """A later need is served by the live earlier entry: no new heap entry."""
    index = TimerIndex()
    live = index.schedule("a", None, 10)
    assert index.schedule("a", live, 50) == 10
    assert len(index) == 1


def test_stale_entries_are_dropped_and_growth_is_bounded() -> None:
    """Moving one key earlier 100,000 times leaves a heap that compacts to its live size."""
    index = TimerIndex(compact_floor=1000)
    live: dict[str, int | None] = {"k": None}
    for i in range(100_000, 0, -1):
        live["k"] = index.schedule("k", live["k"], i)
    assert index.needs_compaction()
    index.rebuild([(v, k) for k, v in live.items() if v is not None])
    assert len(index) == 1 and index.live == 1
    assert list(index.pop_due(10**9, live.get)) == ["k"]
