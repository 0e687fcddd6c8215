"""The engine: dossier states and the one timer schedule, driving the pure core.

Replay, the demo, the Faust worker and tests all drive this class; only where the states
live differs (a packed dict here, the worker's table there: any `States`).  Time comes in
from outside: `apply` takes an event at its own instant, `fire` and `advance` take the
stream time a `SourceClocks` says (streams/core/clock.py) — no method reads a clock.

The schedule is one `TimerIndex` per lane, a lane being (partition, source): a dossier is
judged on the stream clock of the source that sent its latest event, in its partition.
Its stored value carries its wake-up instant and its source's tag, so the schedule knows
when and on whose clock a dossier wakes without decoding it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from streams.contract.alerts import Alert
from streams.contract.events import DossierEvent
from streams.core.calendar import DAY, to_instant
from streams.core.dossier import COMPLETED, DELIVERED, FINISHED, Dossier
from streams.core.machine import apply_event, fire_due, wake_hint
from streams.core.policy import PolicyBook
from streams.core.store import DossierStore, source_tag
from streams.core.timers import TimerIndex

Lane = tuple[int, int]
"""(partition, source tag): the dossiers judged on one stream clock."""


class States(Protocol):
    """Where the dossiers live: reads return copies; `put` stores (with the wake-up)."""

    def get(self, key: str) -> Dossier | None: ...

    def put(self, d: Dossier) -> None: ...

    def discard(self, key: str) -> Dossier | None: ...

    def live(self, key: str) -> tuple[int, int] | None: ...

    def live_entries(self) -> Iterator[tuple[str, tuple[int, int]]]:
        """(key, `live(key)`) of every dossier held with a wake-up, in one pass."""
        ...

    def __iter__(self) -> Iterator[str]: ...


class Observer(Protocol):
    """Told of every change (metrics): the figures are the core's, exported by a driver."""

    def applied(
        self, event: DossierEvent, before: int | None, d: Dossier, alerts: list[Alert], at: int
    ) -> None: ...

    def fired(self, before: int, d: Dossier, alerts: list[Alert]) -> None: ...

    def duplicate(self) -> None: ...


@dataclass
class EngineStats:
    events: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    by_type_class: Counter[type] = field(default_factory=Counter, repr=False)
    dossiers: int = 0  # distinct dossiers ever seen
    completed: int = 0
    completed_on_time: int = 0
    evicted: int = 0
    wakes: int = 0  # dossiers the schedule handed to fire_due


POSTPONE_AFTER = 3600
"""A wake-up that moves later by more than this gets a new index entry."""

_SOURCE_LANES = 4096
"""Sources whose lane the engine keeps at hand (a handful in practice)."""


class Engine:
    """Owns the dossiers (`dossiers`, packed by default) and their schedule; every alert
    goes through `apply`, `fire` or `advance`."""

    def __init__(
        self,
        book: PolicyBook,
        *,
        retention_days: int = 30,
        store: States | None = None,
        partition_of: Callable[[str], int] | None = None,
        observer: Observer | None = None,
        index: Callable[[], TimerIndex] = TimerIndex,
    ) -> None:
        self.book = book
        self.dossiers: States = store if store is not None else DossierStore()
        self.lanes: dict[Lane, TimerIndex] = {}
        self.source_names: dict[int, str] = {}  # source tag → name, for the clocks
        self.partition_of = partition_of
        self.observer = observer
        self.retention = retention_days * DAY
        self.stats = EngineStats()
        self.now: int | None = None  # the latest stream time any lane was advanced to
        self._types: Counter[type] = self.stats.by_type_class
        self._new_index = index
        # Handed out by `due` and not fired yet (the worker fires on a tick, later): an
        # event meanwhile must file a new entry, the popped one being gone.
        self._popped: set[str] = set()
        self._source_lanes: dict[str, Lane] = {}  # source → its lane, with no partitioner

    # -- lanes ----------------------------------------------------------------------

    def lane_of(self, key: str, source: str) -> Lane:
        if self.partition_of is None:
            # Asked two or three times per event: one dict look-up, not a hash and a tuple.
            lane = self._source_lanes.get(source)
            if lane is None:
                lane = self._source_lanes[source] = (0, self._tag(source))
            return lane
        return (self.partition_of(key), self._tag(source))

    def _tag(self, source: str) -> int:
        tag = source_tag(source)
        if tag not in self.source_names:
            self.source_names[tag] = source
        if len(self._source_lanes) >= _SOURCE_LANES:
            self._source_lanes.clear()  # a flood of made-up sources must not grow it
        return tag

    def _index(self, lane: Lane) -> TimerIndex:
        index = self.lanes.get(lane)
        if index is None:
            index = self.lanes[lane] = self._new_index()
        return index

    def lanes_of(self, partition: int) -> Iterator[tuple[Lane, str]]:
        """The lanes of one partition with their source names."""
        for lane in list(self.lanes):
            if lane[0] == partition:
                yield lane, self.source_names[lane[1]]

    # -- events ---------------------------------------------------------------------

    def apply(self, event: DossierEvent, at: int | None = None) -> list[Alert]:
        """Apply one event (its dossier's own timers are brought up to its time first).

        `at` is the event's instant when the caller has it already (`to_instant`).
        Raises `InvalidEvent` for a conflicting reuse of an event id (nothing changes)."""
        stats = self.stats
        key = event.subject
        t = to_instant(event.time) if at is None else at
        d = self.dossiers.get(key)
        if d is None:
            before_status = last = old_lane = None
            seen = b""
        else:
            before_status, last, seen = d.status, d.last_at, d.seen
            old_lane = self.lane_of(key, d.source) if d.wake is not None else None
        d, alerts = apply_event(d, event, self.book, t)
        if d.seen is seen:
            stats.events += 1
            stats.duplicates += 1
            if self.observer is not None:
                self.observer.duplicate()
            return alerts
        lane = self.lane_of(key, d.source)
        self._reschedule(d, d.last_at, old_lane, lane)
        self.dossiers.put(d)
        stats.events += 1
        if before_status is None:
            stats.dossiers += 1
        self._types[type(event)] += 1
        if last is not None and t < last:
            stats.out_of_order += 1
        if d.status != before_status:
            self._count_finish(before_status, d)
        self._compact_if_needed(lane)  # moved wake-ups leave stale entries behind
        if self.observer is not None:
            self.observer.applied(event, before_status, d, alerts, t)
        return alerts

    # -- time -----------------------------------------------------------------------

    def due(self, lane: Lane, now: int) -> list[str]:
        """The lane's dossiers with a wake-up strictly before `now`, earliest first; each
        leaves the schedule until `fire` (or an event) files it again."""
        index = self.lanes.get(lane)
        if index is None:
            return []
        first = index.next_instant()
        if first is None or first >= now:
            return []
        live, tag = self.dossiers.live, lane[1]

        def instant(key: str) -> int | None:
            entry = live(key)
            return entry[0] if entry is not None and entry[1] == tag else None

        # Collected first (the index must not change under its iterator).
        keys = list(index.pop_due(now, instant))
        self._popped.update(keys)
        return keys

    def fire(self, key: str, now: int) -> list[Alert]:
        """Fire what is due on one dossier strictly before stream time `now`."""
        popped = key in self._popped
        self._popped.discard(key)
        d = self.dossiers.get(key)
        if d is None:
            return []
        if self.now is None or now > self.now:
            self.now = now
        lane = self.lane_of(key, d.source)
        if d.wake is not None and d.wake >= now:
            # Not due yet at this stream time (a stale tick, or one capped to its clock).
            if popped:
                self._index(lane).schedule(key, None, d.wake)  # its entry was handed out
            return []
        d.wake = None
        self.stats.wakes += 1
        if d.status in FINISHED and d.last_at + self.retention < now:
            self.dossiers.discard(key)
            self.stats.evicted += 1
            return []
        before = d.status
        alerts = fire_due(d, now, self.book)
        self._count_finish(before, d)
        self._reschedule(d, now, lane, lane)  # firing changes no source
        self.dossiers.put(d)
        self._compact_if_needed(lane)
        if self.observer is not None:
            self.observer.fired(before, d, alerts)
        return alerts

    def defer(self, key: str) -> None:
        """Put a dossier that `due` handed out back on the schedule, unfired (its tick
        came when it may not fire: see WorkerCore.on_tick)."""
        if key not in self._popped:
            return
        self._popped.discard(key)
        d = self.dossiers.get(key)
        if d is not None and d.wake is not None:
            self._index(self.lane_of(key, d.source)).schedule(key, None, d.wake)

    def advance(self, now: int, lanes: Iterable[Lane] | None = None) -> list[Alert]:
        """Move the stream time of every lane (or the given ones) to `now`: fire every
        timer strictly before it, earliest first in each lane."""
        if lanes is None and self.now is not None and now <= self.now:
            return []
        if self.now is None or now > self.now:
            self.now = now
        out: list[Alert] = []
        for lane in sorted(self.lanes) if lanes is None else lanes:
            for key in self.due(lane, now):
                out.extend(self.fire(key, now))
        return out

    # -- the schedule ---------------------------------------------------------------

    def _reschedule(self, d: Dossier, now: int, old_lane: Lane | None, lane: Lane) -> None:
        """File the dossier's next wake-up in `lane` (its source's), moving it out of
        `old_lane` (where its live entry is, if any)."""
        current = d.wake
        moved = current is not None and (lane != old_lane or d.id in self._popped)
        if moved:
            current = None  # its live entry is in another lane's index, or handed out
        horizon = None if current is None else current + POSTPONE_AFTER
        # Computed before the schedule changes: calendar arithmetic is the part that can
        # fail, and a failure must leave the schedule as it was.
        hint = wake_hint(d, self.book[d.policy], self.retention, now, horizon)
        if moved:
            if old_lane in self.lanes and d.id not in self._popped:
                self.lanes[old_lane].forget(d.wake)
            self._popped.discard(d.id)
        index = self._index(lane)
        if hint is not None and current is not None and hint > current + POSTPONE_AFTER:
            # Far later (a finished dossier waiting for eviction, a stall clock restarted
            # days later): a stale entry is cheaper than waking for nothing.
            d.wake = index.postpone(d.id, hint)
        else:
            d.wake = index.schedule(d.id, current, hint)

    def _compact_if_needed(self, lane: Lane) -> None:
        """Rebuild a lane's index from the states (so only after the dossier is put back)."""
        if self.lanes[lane].needs_compaction():
            self.rebuild_lane(lane)

    def rebuild_lane(self, lane: Lane) -> None:
        """Refile the lane's live entries only.  Found in the lane's own index (its keys
        are on the lane's partition by construction), not by scanning every stored
        dossier and hashing its id to a partition: that scan ran at every compaction and
        took a tenth of a live worker's time (py-spy, bench/pipeline_throughput.py)."""
        live, tag = self.dossiers.live, lane[1]

        def instant(key: str) -> int | None:
            entry = live(key)
            return entry[0] if entry is not None and entry[1] == tag else None

        index = self.lanes[lane]
        index.compact(instant)
        # Handed out by `due` and not fired yet: they have no entry, and are filed again
        # as the full scan filed them (the few that are in this lane).
        part = self.partition_of
        for key in self._popped:
            if (at := instant(key)) is None or index.holds(key, at):
                continue
            if part is None or part(key) == lane[0]:
                index.file_live(key, at)

    def rebuild(self) -> int:
        """Start the schedule afresh from the states (after a rebalance or a restart);
        how many dossiers wait for a wake-up."""
        self.lanes = {}
        self._popped.clear()
        entries: dict[Lane, list[tuple[int, str]]] = {}
        # One pass over the stored values.  A look-up per key went, on a RocksDB table,
        # through Faust's `in` and `[]` over every partition's store: 31 s of a
        # 1,000,000-dossier worker's start, with the event loop held (py-spy).
        for key, (wake, tag) in self.dossiers.live_entries():
            if tag not in self.source_names:
                d = self.dossiers.get(key)
                if d is None:
                    continue
                self.source_names[tag] = d.source
            lane = (self.partition_of(key) if self.partition_of else 0, tag)
            entries.setdefault(lane, []).append((wake, key))
        for lane, items in entries.items():
            self._index(lane).rebuild(items)
        return sum(len(items) for items in entries.values())

    def waiting(self) -> int:
        return sum(index.live for index in self.lanes.values())

    def forget(self, key: str) -> None:
        """Drop a dossier now (e.g. a replayed case that can have no further events)."""
        d = self.dossiers.discard(key)
        if d is not None:
            if d.wake is not None:
                lane = self.lane_of(key, d.source)
                if lane in self.lanes and key not in self._popped:
                    self.lanes[lane].forget(d.wake)
            self._popped.discard(key)
            self.stats.evicted += 1

    def drain(self, events: Iterable[DossierEvent]) -> list[Alert]:
        out: list[Alert] = []
        for e in events:
            out.extend(self.apply(e))
        return out

    def _count_finish(self, before: int | None, d: Dossier) -> None:
        if before == d.status or d.status not in (COMPLETED, DELIVERED):
            return
        if before in (COMPLETED, DELIVERED):
            return
        self.stats.completed += 1
        if d.x is not None and not d.x.late:
            self.stats.completed_on_time += 1

    def states(self) -> Iterator[Dossier]:
        """Every dossier held (copies)."""
        for key in list(self.dossiers):
            d = self.dossiers.get(key)
            if d is not None:
                yield d

    def open_dossiers(self) -> Iterator[Dossier]:
        return (d for d in self.states() if d.status not in FINISHED)
