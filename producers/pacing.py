"""Release a time-ordered event stream at a chosen speed: event time runs `compression`
times faster than the wall clock, and never more than `rate_limit` events a second.

The wall clock and sleep are injected, so tests drive a fake clock and the simulator
itself stays free of the wall clock.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import TypeVar

__all__ = ["paced"]

E = TypeVar("E", bound=Mapping[str, object])


def _event_seconds(event: Mapping[str, object]) -> float:
    value = event["time"]
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValueError(f"event time must carry an offset: {value!r}")
    return value.timestamp()


def paced(
    events: Iterable[E],
    *,
    compression: float,
    rate_limit: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[E]:
    """Yield `events` unchanged, each no earlier than its place on the compressed timeline.

    The first event anchors the timeline: an event `x` seconds of event time after it is
    due `x / compression` wall seconds after it was released.  `compression=math.inf`
    releases as fast as the rate limit allows.  Falling behind (a slow consumer or the
    rate limit) is caught up at no more than `rate_limit` events per second; an event
    whose time goes backwards is released at once.
    """
    if not compression > 0:
        raise ValueError("compression must be positive (math.inf: no pacing by event time)")
    if rate_limit is not None and not rate_limit > 0:
        raise ValueError("rate_limit must be positive, or None for no limit")
    gap = 0.0 if rate_limit is None or math.isinf(rate_limit) else 1.0 / rate_limit
    anchor_wall = anchor_event = 0.0
    last_release: float | None = None
    for event in events:
        at = _event_seconds(event)
        if last_release is None:
            anchor_wall, anchor_event = clock(), at
            target = anchor_wall
        else:
            target = anchor_wall + max(0.0, at - anchor_event) / compression
            target = max(target, last_release + gap)
        # Loop: a real sleep may return early on some platforms and never sleeps exactly.
        now = clock()
        while now < target:
            sleep(target - now)
            now = clock()
        last_release = now
        yield event
