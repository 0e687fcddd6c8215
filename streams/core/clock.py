"""Stream time: the instant a partition's dossiers are judged at, per source (DESIGN
principle 2).  Pure arithmetic: wall time comes in as an argument, never read here.

Each source's clock is the latest event time read from it plus the wall time elapsed
since it was read (times `rate`: the demo compresses a month into a minute).  While the
partition has unread events the clocks hold still — a backlog is judged exactly as a
replay would judge it — and a clock never goes back.  Timers fire strictly before

    judge = ⌈clock⌉ − grace(source) − settle

(rounded up: a timer at second T fires as soon as the clock is past T), where the grace
is a source's allowed lateness (a portal that syncs in batches) and `settle` an optional
transport allowance in seconds (default none).  Replay is the same clock with the
partition never caught up until the end of the file.

One exception, for ties: just after an event stamped at a whole second T is read, the
clock is past T by the few milliseconds since, but more events stamped T may still be on
their way (systems stamp a batch with one second, or one midnight), and replay applies an
event at T before a timer at T.  So a timer at exactly T waits until the clock is a whole
second past the event (or a later event arrives); without this, a stall warning due at
the very second of the event that ends the stall fires and is resolved as "late event"
(bench/live_vs_replay.py on BPIC15 at 400 events/s: 4–14 such pairs a run).

The state is a few numbers per source, saved with the partition (`state`/`restore`): a
worker down for hours resumes at the event time where it stopped.  After a restore the
clocks neither run nor hold until the first look at the partition says which: caught up
(the sources were quiet: the downtime counts, dossiers breach as on a live source), or
behind (a backlog: the clocks stay at the saved event time and follow the events).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import msgspec


@dataclass(slots=True)
class _Source:
    base: float  # the clock when `since` was read: an event time, or a folded-in clock
    since: float  # wall time from which the clock runs on
    read: float  # wall time of the latest event read (late ones too)


class _Saved(msgspec.Struct, array_like=True):
    sources: dict[str, tuple[float, float]]


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(_Saved).decode


class SourceClocks:
    """The stream clocks of one partition (or of one replayed file), one per source."""

    __slots__ = ("_grace", "_held", "_rate", "_settle", "_sources")

    def __init__(
        self,
        *,
        rate: float = 1.0,
        settle: int = 0,
        grace: Callable[[str], int] = lambda _: 0,
        held: bool | None = False,
    ) -> None:
        self._rate = rate
        self._settle = settle
        self._grace = grace
        self._sources: dict[str, _Source] = {}
        # False: caught up, the clocks run with the wall clock; True: events wait to be
        # read, the clocks stand still; None: just restored, not looked at yet.
        self._held = held

    def read(self, source: str, event_time: float, wall: float) -> int:
        """An event of `source` was read at `wall`; how late it is (seconds behind the
        source's clock, 0 when on time).  The clock moves forward to it, never back."""
        s = self._sources.get(source)
        if s is None:
            self._sources[source] = _Source(event_time, wall, wall)
            return 0
        s.read = wall
        now = self._at(s, wall)
        if event_time > now:
            s.base, s.since = event_time, wall
            return 0
        return int(now - event_time)

    def hold(self, wall: float) -> None:
        """The partition has unread events: the clocks stop where they are."""
        if self._held is False:
            for s in self._sources.values():
                s.base, s.since = self._at(s, wall), wall
        self._held = True

    def release(self, wall: float) -> None:
        """The partition is caught up: the clocks run on from here (after a restore with
        nothing to read, from where they were saved: the sources were quiet meanwhile)."""
        if self._held is True:
            for s in self._sources.values():
                s.since = wall
        self._held = False

    @property
    def held(self) -> bool:
        return self._held is not False

    def now(self, source: str, wall: float) -> int | None:
        """The source's stream time, None for a source never read."""
        s = self._sources.get(source)
        return None if s is None else int(self._at(s, wall))

    def judge(self, source: str, wall: float) -> int | None:
        """Timers of the source's dossiers strictly before this instant may fire."""
        s = self._sources.get(source)
        if s is None:
            return None
        at = self._at(s, wall)
        instant = math.ceil(at)
        if s.base < at < s.base + 1 and s.base == int(s.base):
            instant = int(s.base)  # a tie with an event at s.base may still come: wait
        return instant - self._grace(source) - self._settle

    def sources(self) -> Iterator[str]:
        return iter(self._sources)

    def last_read(self, source: str) -> float | None:
        """Wall time the source's latest event was read."""
        s = self._sources.get(source)
        return None if s is None else s.read

    def latest(self, wall: float) -> int | None:
        """The most advanced source's stream time (what a board of the partition shows)."""
        if not self._sources:
            return None
        return max(int(self._at(s, wall)) for s in self._sources.values())

    def _at(self, s: _Source, wall: float) -> float:
        if self._held is not False or wall <= s.since:
            return s.base
        return s.base + (wall - s.since) * self._rate

    # -- persistence ------------------------------------------------------------------

    def state(self, wall: float) -> bytes:
        """The clocks as bytes to save with the partition's dossiers."""
        saved: dict[str, tuple[float, float]] = {}
        for name, s in self._sources.items():
            if self._held is True:
                saved[name] = (s.base, wall)  # standing still: nothing accrues from here
            else:
                saved[name] = (s.base, s.since)
        return _encode(_Saved(saved))

    def restore(self, raw: bytes) -> None:
        """Take saved clocks back; they wait for the first look at the partition."""
        saved = _decode(raw)
        self._sources = {
            name: _Source(base, since, since) for name, (base, since) in saved.sources.items()
        }
        self._held = None


def graces(spec: Mapping[str, int], default: int = 0) -> Callable[[str], int]:
    """A source's allowed lateness from a table of them (seconds), with a default."""
    table = dict(spec)
    return lambda source: table.get(source, default)
