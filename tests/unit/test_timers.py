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
    first = index.next_instant()
    assert first is not None and first <= 30  # nothing is due before it
    assert list(index.pop_due(31, live.get)) == ["c"]


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


def test_a_bucket_partly_due_keeps_its_later_entries() -> None:
    """Within one bucket, only the instants before `now` come out; the rest wait."""
    index = TimerIndex()
    live: dict[str, int | None] = {"early": index.schedule("early", None, 125)}
    live["late"] = index.schedule("late", None, 170)
    assert list(index.pop_due(150, live.get)) == ["early"]
    live["early"] = None
    assert list(index.pop_due(171, live.get)) == ["late"]
    assert len(index) == 0


def test_equal_instants_come_out_by_id_whatever_the_filing_order() -> None:
    """Due dossiers are ordered by (instant, id), so replays never depend on filing order."""
    index = TimerIndex()
    live: dict[str, int | None] = {}
    for key in ["m", "z", "a"]:
        live[key] = index.schedule(key, None, 500)
    assert list(index.pop_due(501, live.get)) == ["a", "m", "z"]


def test_a_postponed_wake_up_leaves_a_stale_entry_that_never_fires() -> None:
    """After `postpone`, the dossier wakes only at its new instant, once."""
    index = TimerIndex()
    live: dict[str, int | None] = {"k": index.schedule("k", None, 100)}
    live["k"] = index.postpone("k", 100_000)
    assert list(index.pop_due(50_000, live.get)) == []
    assert len(index) == 1 and index.live == 1
    assert list(index.pop_due(100_001, live.get)) == ["k"]
    assert index.live == 0


def test_twin_entries_of_one_dossier_yield_it_once() -> None:
    """A dossier filed twice in one bucket (moved earlier within it) comes out once."""
    index = TimerIndex()
    live: dict[str, int | None] = {"k": index.schedule("k", None, 130)}
    live["k"] = index.schedule("k", live["k"], 125)
    assert len(index) == 2
    assert list(index.pop_due(200, live.get)) == ["k"]
    assert len(index) == 0 and index.live == 0


def test_compaction_keeps_each_filed_key_whose_live_instant_is_in_its_bucket_once() -> None:
    """A key filed twice keeps only its live entry; a gone key and a moved one keep none;
    the index then hands out exactly the live keys, in order."""
    index = TimerIndex()
    live: dict[str, int | None] = {"moved": index.schedule("moved", None, 600)}
    live["moved"] = index.schedule("moved", live["moved"], 100)  # earlier: a second entry
    live["gone"] = index.schedule("gone", None, 200)
    live["kept"] = index.schedule("kept", None, 300)
    index.postpone("kept", 300)  # filed twice in its own bucket
    live["gone"] = None
    live["elsewhere"] = index.schedule("elsewhere", None, 400)
    live["elsewhere"] = 900  # its wake-up was moved by a caller that filed it elsewhere
    index.compact(live.get)
    assert (len(index), index.live) == (2, 2)
    assert index.holds("kept", 300) and not index.holds("gone", 200)
    assert index.next_instant() == 60
    assert list(index.pop_due(10_000, live.get)) == ["moved", "kept"]
    assert len(index) == 0


def test_a_live_key_without_an_entry_is_filed_and_counted() -> None:
    """`file_live` files a key handed out and not fired yet, and counts it live."""
    index = TimerIndex()
    index.file_live("handed-out", 500)
    assert (len(index), index.live) == (1, 1) and index.holds("handed-out", 500)
    assert list(index.pop_due(501, {"handed-out": 500}.get)) == ["handed-out"]
