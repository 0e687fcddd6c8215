"""The engine: dossier states, the deadline index and the clock, driving the pure core.

Replay, the demo and tests use it directly; the Faust worker keeps the states in a
table and the same index per partition.  Time comes in from outside (`advance`): a
watermark of event time in replay, the wall clock live.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from streams.core.alerts import Alert
from streams.core.calendar import DAY, to_instant
from streams.core.dossier import COMPLETED, DELIVERED, FINISHED, Dossier
from streams.core.events import DossierEvent, type_name
from streams.core.machine import apply_event, fire_due, wake_hint
from streams.core.policy import PolicyBook
from streams.core.store import DossierStore
from streams.core.timers import TimerIndex


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
    wakes: int = 0  # dossiers the timer index handed to fire_due

    @property
    def by_type(self) -> Counter[str]:
        """Events applied, by CloudEvents type (counted by class on the hot path)."""
        return Counter({type_name(t): n for t, n in self.by_type_class.items()})  # type: ignore[arg-type]


POSTPONE_AFTER = 3600
"""A wake-up that moves later by more than this gets a new index entry."""


class Engine:
    """Owns the dossiers in memory (packed: `DossierStore`); every alert goes through
    `apply` or `advance`."""

    def __init__(self, book: PolicyBook | None = None, *, retention_days: int = 30) -> None:
        self.book = book or PolicyBook.builtin()
        self.dossiers = DossierStore()
        self.index = TimerIndex()
        self.retention = retention_days * DAY
        self.stats = EngineStats()
        self.now: int | None = None  # the latest instant the engine was advanced to
        self._types: Counter[type] = self.stats.by_type_class

    def apply(self, event: DossierEvent, at: int | None = None) -> list[Alert]:
        """Apply one event (its dossier's own timers are brought up to its time first).

        `at` is the event's instant when the caller has it already (`to_instant`)."""
        stats = self.stats
        stats.events += 1
        key = event.subject
        t = to_instant(event.time) if at is None else at
        d = self.dossiers.get(key)
        if d is None:
            stats.dossiers += 1
            before_status = last = None
            recent = b""
        else:
            before_status, last, recent = d.status, d.last_at, d.recent_ids
        d, alerts = apply_event(d, event, self.book, t)
        if d.recent_ids is recent:
            stats.duplicates += 1
            return alerts
        self._types[type(event)] += 1
        if last is not None and t < last:
            stats.out_of_order += 1
        if d.status != before_status:
            self._count_finish(before_status, d)
        self._reschedule(d, d.last_at)
        self.dossiers.put(d)
        self._compact_if_needed()  # moved wake-ups leave stale entries behind
        return alerts

    def advance(self, now: int) -> list[Alert]:
        """Move the clock to `now`: fire every timer strictly before it, earliest first."""
        if self.now is not None and now <= self.now:
            return []
        self.now = now
        first = self.index.next_instant()
        if first is None or first >= now:
            return []
        out: list[Alert] = []
        dossiers = self.dossiers
        # Collected first (the index must not change under its iterator).
        due = list(self.index.pop_due(now, dossiers.wake_of))
        for key in due:
            d = dossiers.get(key)
            if d is None:
                continue
            d.wake = None
            self.stats.wakes += 1
            if d.status in FINISHED and d.last_at + self.retention < now:
                dossiers.discard(key)
                self.stats.evicted += 1
                continue
            before = d.status
            out.extend(fire_due(d, now, self.book))
            self._count_finish(before, d)
            self._reschedule(d, now)
            dossiers.put(d)
        self._compact_if_needed()
        return out

    def _compact_if_needed(self) -> None:
        """Rebuild the index from the store (so only after the dossier is put back)."""
        if self.index.needs_compaction():
            dossiers = self.dossiers
            self.index.rebuild(
                (wake, key) for key in dossiers if (wake := dossiers.wake_of(key)) is not None
            )

    def forget(self, key: str) -> None:
        """Drop a dossier now (e.g. a replayed case that can have no further events)."""
        d = self.dossiers.discard(key)
        if d is not None:
            self.index.forget(d.wake)
            self.stats.evicted += 1

    def drain(self, events: Iterable[DossierEvent]) -> list[Alert]:
        out: list[Alert] = []
        for e in events:
            out.extend(self.apply(e))
        return out

    def _reschedule(self, d: Dossier, now: int) -> None:
        current = d.wake
        horizon = None if current is None else current + POSTPONE_AFTER
        hint = wake_hint(d, self.book[d.policy], self.retention, now, horizon)
        if hint is not None and current is not None and hint > current + POSTPONE_AFTER:
            # Far later (a finished dossier waiting for eviction, a stall clock restarted
            # days later): a stale entry is cheaper than waking for nothing.
            d.wake = self.index.postpone(d.id, hint)
        else:
            d.wake = self.index.schedule(d.id, current, hint)

    def _count_finish(self, before: int | None, d: Dossier) -> None:
        if before == d.status or d.status not in (COMPLETED, DELIVERED):
            return
        if before in (COMPLETED, DELIVERED):
            return
        self.stats.completed += 1
        if d.x is not None and not d.x.late:
            self.stats.completed_on_time += 1

    def open_dossiers(self) -> Iterable[Dossier]:
        return (d for d in self.dossiers.values() if d.status not in FINISHED)
