"""The deadline index: which dossier needs looking at next, in O(log n) per wake-up.

Dossier ids are filed in buckets of `BUCKET_SECONDS` (a heap orders the buckets), so an
entry costs one list slot rather than a (instant, id) tuple: with a million open
dossiers that is the difference between 8 and 64 bytes each.  The exact instant is not
filed: the dossier keeps it (`Dossier.wake`, or the worker's own map), and the caller
hands it over as `live_instant`.  An entry whose dossier now wakes in another bucket is
stale and dropped when its bucket comes up.  A dossier pushes a new entry when it must
wake *earlier* than its live one, or (`postpone`) much later, so stale entries come
only from those moves, and the index is rebuilt when they outnumber the live ones.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator

BUCKET_SECONDS = 60


class TimerIndex:
    def __init__(self, *, compact_factor: float = 2.0, compact_floor: int = 4096) -> None:
        self._buckets: dict[int, list[str]] = {}
        self._order: list[int] = []  # heap of the bucket numbers in `_buckets`
        self._entries = 0
        self.live = 0  # dossiers with a live entry
        self._factor = compact_factor
        self._floor = compact_floor

    def __len__(self) -> int:
        return self._entries

    def _file(self, key: str, at: int) -> None:
        bucket = at // BUCKET_SECONDS
        keys = self._buckets.get(bucket)
        if keys is None:
            self._buckets[bucket] = [key]
            heapq.heappush(self._order, bucket)
        else:
            keys.append(key)
        self._entries += 1

    def schedule(self, key: str, current: int | None, wanted: int | None) -> int | None:
        """Make sure `key` wakes no later than `wanted`; return its new live instant."""
        if wanted is None:
            return current  # the live entry (if any) wakes it once more, harmlessly
        if current is not None and current <= wanted:
            return current
        if current is None:
            self.live += 1
        self._file(key, wanted)
        return wanted

    def postpone(self, key: str, wanted: int) -> int:
        """Move `key`'s wake-up later: a new entry, the old one left behind as stale.

        Worth it only when the move is large (a wake-up costs more than a stale entry);
        the caller decides."""
        self._file(key, wanted)
        return wanted

    def forget(self, current: int | None) -> None:
        """The dossier is gone; its entry (if any) will be dropped as stale."""
        if current is not None:
            self.live -= 1

    def pop_due(self, now: int, live_instant: Callable[[str], int | None]) -> Iterator[str]:
        """Yield each dossier whose live instant is strictly before `now`, earliest first
        (equal instants by id, so the order never depends on filing order).

        `live_instant(key)` tells the dossier's current live instant; the caller must
        re-`schedule` (or forget) every key it receives, before asking for the next."""
        due: list[tuple[int, str]] = []
        order, buckets = self._order, self._buckets
        while order and order[0] * BUCKET_SECONDS < now:
            bucket = order[0]
            keys = buckets[bucket]
            whole = (bucket + 1) * BUCKET_SECONDS <= now
            later: list[str] = []
            for key in keys:
                at = live_instant(key)
                if at is None or at // BUCKET_SECONDS != bucket:
                    self._entries -= 1  # stale: superseded, or the dossier is gone
                elif whole or at < now:
                    self._entries -= 1
                    due.append((at, key))
                else:
                    later.append(key)  # in this bucket but not yet due
            if later:
                buckets[bucket] = later
                break  # every later bucket starts at or after `now`
            del buckets[bucket]
            heapq.heappop(order)
        due.sort()
        taken: set[str] = set()
        for at, key in due:
            # Asked again: the caller may have handled a twin entry of this key already.
            if key in taken or live_instant(key) != at:
                continue
            taken.add(key)
            self.live -= 1
            yield key

    def rebuild(self, entries: Iterable[tuple[int, str]]) -> None:
        """Start afresh from (instant, key) of every dossier that has a live entry."""
        self._buckets = {}
        self._order = []
        self._entries = 0
        self.live = 0
        for at, key in entries:
            self.file_live(key, at)

    def compact(self, live_instant: Callable[[str], int | None]) -> None:
        """Drop the stale entries where they lie: each bucket keeps, once, the keys whose
        live instant falls in it.  Nothing is refiled and no (key, instant) map is built:
        at a million dossiers such a map's instants were a million small ints made and
        freed among the long-lived states, and RSS kept the holes (+44 bytes a dossier,
        bench/memory_per_dossier.py)."""
        buckets = self._buckets
        entries = 0
        for bucket in list(buckets):
            kept: list[str] = []
            seen: set[str] = set()
            for key in buckets[bucket]:
                at = live_instant(key)
                if at is not None and at // BUCKET_SECONDS == bucket and key not in seen:
                    seen.add(key)
                    kept.append(key)
            if kept:
                buckets[bucket] = kept
                entries += len(kept)
            else:
                del buckets[bucket]
        self._order = list(buckets)
        heapq.heapify(self._order)
        self._entries = self.live = entries

    def holds(self, key: str, at: int) -> bool:
        """Whether `key` is filed in the bucket of instant `at`."""
        return key in self._buckets.get(at // BUCKET_SECONDS, ())

    def file_live(self, key: str, at: int) -> None:
        """File a live dossier that has no entry (one handed out and not fired yet)."""
        self._file(key, at)
        self.live += 1

    def needs_compaction(self) -> bool:
        return self._entries > self._floor and self._entries > self._factor * max(self.live, 1)

    def next_instant(self) -> int | None:
        """No entry is due before this instant (the start of the earliest bucket)."""
        return self._order[0] * BUCKET_SECONDS if self._order else None
