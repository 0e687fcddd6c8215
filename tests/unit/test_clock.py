"""Stream clocks: event time plus the wall time since, held in a backlog, per source."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streams.core.clock import SourceClocks, graces

T0 = 1_757_296_800  # 2025-09-08 09:00 +07:00


def test_a_clock_follows_its_sources_events_and_the_wall_clock_between_them() -> None:
    """Latest event time plus the wall time elapsed since it was read."""
    c = SourceClocks(settle=0)
    c.read("portal", T0, wall=100.0)
    assert c.now("portal", 100.0) == T0
    assert c.now("portal", 160.0) == T0 + 60
    c.read("portal", T0 + 3600, wall=170.0)  # event time jumps ahead of the wall clock
    assert c.now("portal", 170.0) == T0 + 3600


def test_each_source_has_its_own_clock() -> None:
    """A source that sends late is not judged on a live source's clock."""
    c = SourceClocks(settle=0)
    c.read("live", T0 + 3600, wall=0.0)
    c.read("late", T0, wall=0.0)
    assert (c.now("live", 10.0), c.now("late", 10.0)) == (T0 + 3610, T0 + 10)
    assert c.now("unknown", 10.0) is None and c.judge("unknown", 10.0) is None


def test_an_event_behind_its_sources_clock_is_late_and_moves_nothing() -> None:
    """Lateness is how far behind the clock the event was read; the clock never goes back."""
    c = SourceClocks(settle=0)
    c.read("s", T0, wall=0.0)
    assert c.read("s", T0 + 10, wall=60.0) == 50
    assert c.now("s", 60.0) == T0 + 60
    assert c.read("s", T0 + 120, wall=60.0) == 0
    assert c.now("s", 60.0) == T0 + 120


def test_a_held_partition_stands_still_and_runs_on_from_where_it_stood() -> None:
    """With unread events no wall time counts; caught up, the clock runs from there."""
    c = SourceClocks(settle=0)
    c.read("s", T0, wall=0.0)
    c.hold(30.0)  # 30 s had run before the backlog was seen
    assert c.now("s", 3600.0) == T0 + 30
    c.read("s", T0 + 100, wall=3600.0)  # events of the backlog move it, as in a replay
    assert c.now("s", 7200.0) == T0 + 100
    c.release(7200.0)
    assert c.now("s", 7260.0) == T0 + 160


def test_judging_waits_for_the_grace_and_the_settle() -> None:
    """Timers fire strictly before clock − grace(source) − settle."""
    c = SourceClocks(settle=1, grace=graces({"portal": 600}))
    c.read("portal", T0, wall=0.0)
    c.read("cms", T0, wall=0.0)
    assert c.judge("portal", 0.0) == T0 - 601
    assert c.judge("cms", 0.0) == T0 - 1
    assert c.judge("cms", 0.25) == T0 - 1  # a tie with the event at T0 may still come
    assert c.judge("cms", 1.25) == T0 + 1  # rounded up: a timer at T0 is past


def test_a_timer_fires_as_soon_as_the_clock_is_past_it() -> None:
    """Without settle or grace, the judge is the clock rounded up."""
    c = SourceClocks()
    c.read("s", T0 + 0.5, wall=0.0)
    assert [c.judge("s", w) for w in (0.0, 0.3, 0.5, 0.7)] == [T0 + 1] * 3 + [T0 + 2]


def test_a_timer_at_the_second_of_the_latest_event_waits_a_second_for_ties() -> None:
    """After an event stamped at the whole second T0, a timer at T0 waits until the clock
    is a second past it, as more events stamped T0 may follow (replay applies them
    first); a later event ends the wait at once."""
    c = SourceClocks()
    c.read("s", T0, wall=0.0)
    assert [c.judge("s", w) for w in (0.0, 0.1, 0.99, 1.0)] == [T0, T0, T0, T0 + 1]
    assert c.read("s", T0, wall=0.5) == 0  # the tie arrives: on time, nothing fired
    c.read("s", T0 + 60, wall=0.6)
    assert c.judge("s", 0.6) == T0 + 60  # a later event: timers before it fire


def test_the_tie_wait_never_holds_a_replay() -> None:
    """Replayed (held) clocks judge at the event rounded up, exactly as before."""
    c = SourceClocks(held=True)
    c.read("s", T0, wall=0.0)
    assert c.judge("s", 5.0) == T0
    c.read("s", T0 + 0.5, wall=5.0)
    assert c.judge("s", 9.0) == T0 + 1


def test_a_saved_clock_resumes_where_it_stopped() -> None:
    """Restored clocks wait for the first look: a backlog holds them at the saved event
    time; a quiet partition counts the time since they were saved."""
    c = SourceClocks(settle=0)
    c.read("s", T0, wall=0.0)
    saved = c.state(wall=50.0)
    backlog = SourceClocks(settle=0)
    backlog.restore(saved)
    backlog.hold(7200.0)
    assert backlog.now("s", 9000.0) == T0
    quiet = SourceClocks(settle=0)
    quiet.restore(saved)
    quiet.release(7200.0)
    assert quiet.now("s", 7200.0) == T0 + 7200


def test_a_clock_held_when_saved_counts_from_the_save() -> None:
    """Saved while held, a clock restored on a quiet partition counts from the save."""
    c = SourceClocks(settle=0)
    c.read("s", T0, wall=0.0)
    c.hold(0.0)
    saved = c.state(wall=100.0)
    quiet = SourceClocks(settle=0)
    quiet.restore(saved)
    quiet.release(400.0)
    assert quiet.now("s", 400.0) == T0 + 300


def test_a_compressed_clock_runs_faster() -> None:
    """The demo's clock runs `rate` stream seconds per wall second."""
    c = SourceClocks(rate=43200.0, settle=0)
    c.read("sim", T0, wall=0.0)
    assert c.now("sim", 2.0) == T0 + 86400


@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["read", "hold", "release"]),
            st.integers(min_value=-3600, max_value=3600),
            st.floats(min_value=0, max_value=100),
        ),
        max_size=40,
    )
)
def test_a_clock_never_goes_back(steps: list[tuple[str, int, float]]) -> None:
    """Whatever is read, held or released, a source's stream time never decreases."""
    c = SourceClocks(settle=0)
    wall, last = 0.0, None
    c.read("s", T0, wall)
    for op, delta, pause in steps:
        wall += pause
        if op == "read":
            c.read("s", T0 + delta, wall)
        elif op == "hold":
            c.hold(wall)
        else:
            c.release(wall)
        now = c.now("s", wall)
        assert now is not None and (last is None or now >= last)
        last = now
