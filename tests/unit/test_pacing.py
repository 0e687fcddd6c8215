"""Pacing: event time runs `compression` times faster than a (fake) wall clock, and
never faster than the rate limit."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from itertools import pairwise

import pytest

from producers.pacing import paced
from producers.simulator import simulate

ICT = timezone(timedelta(hours=7))
T0 = datetime(2025, 3, 3, 8, 0, tzinfo=ICT)


class FakeClock:
    """A monotonic clock that only moves when slept on."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds


def _events(offsets_s: list[float]) -> list[dict[str, object]]:
    return [
        {"id": str(i), "time": (T0 + timedelta(seconds=s)).isoformat()}
        for i, s in enumerate(offsets_s)
    ]


def _release_times(events: list[dict[str, object]], **kwargs: object) -> list[float]:
    clock = FakeClock()
    out = []
    for _ in paced(events, clock=clock, sleep=clock.sleep, **kwargs):  # type: ignore[arg-type]
        out.append(clock.now)
    return [t - out[0] for t in out]


def test_event_time_runs_compression_times_faster() -> None:
    """Events an hour apart come out one second apart at compression 3600."""
    released = _release_times(_events([0, 3600, 7200, 7200, 10800]), compression=3600)
    assert released == pytest.approx([0, 1, 2, 2, 3])


def test_rate_limit_spaces_out_simultaneous_events() -> None:
    """Events with one timestamp are released no faster than `rate_limit` a second."""
    released = _release_times(_events([0] * 5), compression=60, rate_limit=10)
    assert released == pytest.approx([0, 0.1, 0.2, 0.3, 0.4])


def test_the_slower_of_the_two_wins() -> None:
    """Each event waits for both its place on the timeline and the rate limit; once behind,
    the stream catches up at the rate limit only."""
    released = _release_times(_events([0, 1, 2, 100, 100.5]), compression=1, rate_limit=0.5)
    assert released == pytest.approx([0, 2, 4, 100, 102])
    gaps = [b - a for a, b in pairwise(released)]
    assert min(gaps) >= 2 - 1e-9


def test_infinite_compression_without_a_limit_never_sleeps() -> None:
    """compression=inf and no rate limit release everything at once."""
    clock = FakeClock()
    events = _events([0, 86400, 2 * 86400])
    assert list(paced(events, compression=math.inf, clock=clock, sleep=clock.sleep)) == events
    assert clock.sleeps == []


def test_time_going_backwards_is_released_at_once() -> None:
    """An event older than the one before it is not held back."""
    released = _release_times(_events([0, 60, 30, 120]), compression=60)
    assert released == pytest.approx([0, 1, 1, 2])


def test_pacing_is_lazy_and_keeps_the_events() -> None:
    """Events pass through unchanged, and no more are pulled than have been released."""
    pulled = 0

    def source() -> Iterator[dict[str, object]]:
        nonlocal pulled
        for e in _events([0, 10, 20, 30]):
            pulled += 1
            yield e

    clock = FakeClock()
    stream = paced(source(), compression=10, clock=clock, sleep=clock.sleep)
    assert next(stream)["id"] == "0"
    assert next(stream)["id"] == "1"
    assert pulled == 2


def test_a_simulated_working_month_in_a_minute() -> None:
    """A month of simulated events at compression 43,200 takes about a (fake) minute."""
    events = list(simulate(seed=1, start=T0, until=T0 + timedelta(days=30), per_working_day=5))
    clock = FakeClock()
    start = clock.now
    count = sum(1 for _ in paced(events, compression=43_200, clock=clock, sleep=clock.sleep))
    span = (
        datetime.fromisoformat(str(events[-1]["time"]))
        - datetime.fromisoformat(str(events[0]["time"]))
    ).total_seconds()
    assert count == len(events)
    assert clock.now - start == pytest.approx(span / 43_200)


@pytest.mark.parametrize(
    "kwargs", [{"compression": 0}, {"compression": -1}, {"compression": 1, "rate_limit": 0}]
)
def test_bad_settings_are_refused(kwargs: dict[str, float]) -> None:
    """A compression or rate limit that is not positive is an error."""
    with pytest.raises(ValueError):
        list(paced(_events([0]), **kwargs))  # type: ignore[arg-type]


def test_event_time_needs_an_offset() -> None:
    """An event time without an offset is refused rather than guessed."""
    with pytest.raises(ValueError):
        list(paced([{"time": "2025-03-03T08:00:00"}], compression=1))
