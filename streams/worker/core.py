"""What a worker does with each message, without Faust: testable with plain bytes.

A message is either a dossier event (raw CloudEvent bytes) or a tick (the timer's
"look at this dossier now").  Both come back as an `Outcome`: the new state bytes to
store (or None to delete), the alerts to publish, or the reason to dead-letter.

The deadline index here covers the dossiers of this worker's partitions only; it lives
in memory and is rebuilt from the table after a rebalance (`rebuild`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import msgspec

from streams.core.alerts import Alert
from streams.core.calendar import DAY, to_instant
from streams.core.dossier import FINISHED, Dossier, decode_state, encode_state
from streams.core.events import InvalidEvent, decode_event, type_name
from streams.core.machine import apply_event, fire_due, wake_hint
from streams.core.policy import PolicyBook
from streams.core.timers import TimerIndex
from streams.metrics import PipelineMetrics

DELETE = b""
"""Outcome.state for a dossier to be removed from the table."""


@dataclass
class Outcome:
    state: bytes | None = None
    """New state to store; DELETE to remove the dossier; None: nothing changed."""
    alerts: list[Alert] = field(default_factory=list)
    invalid: InvalidEvent | None = None
    dossier: str | None = None


class WorkerCore:
    def __init__(
        self,
        book: PolicyBook,
        metrics: PipelineMetrics | None = None,
        retention_days: int = 30,
        *,
        clock: Callable[[], float] = time.time,
        settle: float = 1.0,
        backlog_settle: float = 10.0,
        partition_of: Callable[[str], int] = lambda _: 0,
    ) -> None:
        self.book = book
        self.metrics = metrics
        self.retention = retention_days * DAY
        self.clock = clock
        # Seconds a dossier is left alone after an event before the wall clock may tick
        # it: its next events, sent along with this one, may still be on the way (a
        # handling system catching up, a replayed history).
        self.settle = settle
        # Longer when the event is old (older than an hour): the sender is catching up
        # on a backlog or replaying history, and its next events for the dossier may be
        # seconds away; a live dossier's deadline is not delayed by this.
        self.backlog_settle = backlog_settle
        self.partition_of = partition_of
        self.indexes: dict[int, TimerIndex] = {}
        self.wakes: dict[str, int] = {}

    # -- messages ------------------------------------------------------------------

    def on_event(self, raw: bytes, load: Callable[[str], bytes | None], key: str | None) -> Outcome:
        """Apply one event; `load` fetches the dossier's stored state by id."""
        try:
            event = decode_event(raw)
            if key != event.subject:
                raise InvalidEvent(
                    "bad_key",
                    f"message key {key!r} is not the dossier id {event.subject!r}: all events"
                    " of a dossier must be keyed by its id to share a partition",
                )
        except InvalidEvent as err:
            if self.metrics:
                self.metrics.invalid.labels(err.reason).inc()
            return Outcome(invalid=err)
        state = load(event.subject)
        d = decode_state(state) if state else None
        before = d.status if d is not None else None
        recent = d.recent_ids if d is not None else None
        d, alerts = apply_event(d, event, self.book)
        if recent is not None and d.recent_ids == recent:
            if self.metrics:
                self.metrics.duplicates.inc()
            return Outcome(dossier=d.id)
        if self.metrics:
            self.metrics.observe(type_name(event), before, d, alerts, to_instant(event.time))
        self._schedule(d, d.last_at)
        return Outcome(state=encode_state(d), alerts=alerts, dossier=d.id)

    def on_tick(self, key: str, state: bytes | None, now: int) -> Outcome:
        if not state:
            self.forget(key)
            return Outcome(dossier=key)
        d = decode_state(state)
        if d.status in FINISHED and d.last_at + self.retention < now:
            self.forget(key)
            return Outcome(state=DELETE, dossier=key)
        before = d.status
        alerts = fire_due(d, now, self.book)
        if self.metrics:
            if before != d.status:
                self.metrics.transition(before, d)
            self.metrics.count_alerts(alerts)
        self._schedule(d, now, woken=True)
        return Outcome(state=encode_state(d), alerts=alerts, dossier=key)

    # -- the deadline index --------------------------------------------------------
    # One index per partition: the timer looks only into partitions whose events have
    # all been read, so a backlog costs nothing per round.

    def _index(self, key: str) -> TimerIndex:
        partition = self.partition_of(key)
        index = self.indexes.get(partition)
        if index is None:
            index = self.indexes[partition] = TimerIndex()
        return index

    def _schedule(self, d: Dossier, now: int, *, woken: bool = False) -> None:
        hint = wake_hint(d, self.book[d.policy], self.retention, now)
        if woken:  # a tick recomputed everything: whatever entry is left is stale
            self.forget(d.id)
        elif hint is not None:
            wall = self.clock()
            old = wall - d.last_at > 3600
            hint = max(hint, int(wall + (self.backlog_settle if old else self.settle)))
            self.forget(d.id)  # an event may push the wake-up later, past the settling time
        live = self._index(d.id).schedule(d.id, self.wakes.get(d.id), hint)
        if live is not None:
            self.wakes[d.id] = live

    def forget(self, key: str) -> None:
        self._index(key).forget(self.wakes.pop(key, None))

    def due(self, now: int, partitions: Iterable[int] | None = None) -> list[str]:
        """Dossiers to tick now (of the given partitions, or all); each leaves the index
        until its tick re-schedules it."""
        keys: list[str] = []
        chosen = self.indexes if partitions is None else partitions
        for p in list(chosen):
            index = self.indexes.get(p)
            if index is None:
                continue
            for k in index.pop_due(now, self.wakes.get):
                self.wakes.pop(k, None)
                keys.append(k)
            if index.needs_compaction():
                index.rebuild((w, k) for k, w in self.wakes.items() if self.partition_of(k) == p)
        return keys

    def rebuild(self, states: Iterable[tuple[str, bytes]]) -> int:
        """Start the indexes afresh from the table (after a rebalance or a restart)."""
        self.wakes.clear()
        entries: dict[int, list[tuple[int, str]]] = {}
        for key, raw in states:
            try:
                d = decode_state(raw)
            except msgspec.DecodeError:
                continue
            hint = wake_hint(d, self.book[d.policy], self.retention, d.last_at)
            if hint is not None:
                self.wakes[key] = hint
                entries.setdefault(self.partition_of(key), []).append((hint, key))
        self.indexes = {}
        for partition, items in entries.items():
            self.indexes[partition] = TimerIndex()
            self.indexes[partition].rebuild(items)
        return len(self.wakes)

    def waiting(self) -> int:
        return len(self.wakes)


def wall_now() -> int:
    return int(time.time())
