"""The deadline index: which dossier needs looking at next, in O(log n) per wake-up.

One heap of (instant, dossier id).  A dossier keeps the instant of its live entry in
`Dossier.wake`; an entry whose instant no longer matches is stale and dropped when it
surfaces.  A dossier pushes a new entry only when it must wake *earlier* than its live
one (a later need is met by waking early and re-arming), so stale entries come only
from those moves, and the heap is rebuilt when they outnumber the live ones.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator


class TimerIndex:
    def __init__(self, *, compact_factor: float = 2.0, compact_floor: int = 4096) -> None:
        self._heap: list[tuple[int, str]] = []
        self.live = 0  # dossiers with a live entry
        self._factor = compact_factor
        self._floor = compact_floor

    def __len__(self) -> int:
        return len(self._heap)

    def schedule(self, key: str, current: int | None, wanted: int | None) -> int | None:
        """Make sure `key` wakes no later than `wanted`; return its new live instant."""
        if wanted is None:
            return current  # the live entry (if any) wakes it once more, harmlessly
        if current is not None and current <= wanted:
            return current
        if current is None:
            self.live += 1
        heapq.heappush(self._heap, (wanted, key))
        return wanted

    def postpone(self, key: str, current: int, wanted: int) -> int:
        """Move `key`'s wake-up later: a new entry, the old one left behind as stale.

        Worth it only when the move is large (a wake-up costs more than a stale entry);
        the caller decides."""
        del current  # superseded: it will surface as stale
        heapq.heappush(self._heap, (wanted, key))
        return wanted

    def forget(self, current: int | None) -> None:
        """The dossier is gone; its entry (if any) will be dropped as stale."""
        if current is not None:
            self.live -= 1

    def pop_due(self, now: int, live_instant: Callable[[str], int | None]) -> Iterator[str]:
        """Yield each dossier whose live entry is strictly before `now`, earliest first.

        `live_instant(key)` tells the dossier's current live instant; the caller must
        re-`schedule` (or forget) every key it receives, before asking for the next.
        """
        heap = self._heap
        while heap and heap[0][0] < now:
            at, key = heapq.heappop(heap)
            if live_instant(key) != at:
                continue  # stale: superseded by an earlier entry, or the dossier is gone
            self.live -= 1
            yield key

    def rebuild(self, entries: Iterable[tuple[int, str]]) -> None:
        """Start afresh from (instant, key) of every dossier that has a live entry."""
        self._heap = list(entries)
        heapq.heapify(self._heap)
        self.live = len(self._heap)

    def needs_compaction(self) -> bool:
        return len(self._heap) > self._floor and len(self._heap) > self._factor * max(self.live, 1)

    def next_instant(self) -> int | None:
        return self._heap[0][0] if self._heap else None
