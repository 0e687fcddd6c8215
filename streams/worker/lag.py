"""How many events of a partition wait to be read: what decides whether its stream clocks
run with the wall clock or stand still (streams/core/clock.py)."""

from __future__ import annotations


def unread(end: int | None, processed: int | None, started_at: int | None) -> int | None:
    """Events of the partition not read yet, None while its end is unknown.

    `end`: the high-water mark the fetcher last saw (the offset after the last event);
    `processed`: the offset this worker last handled; `started_at`: where the group had
    committed when the partition was assigned — what counts as read for an idle partition
    after a restart."""
    if end is None:
        return None  # not fetched yet: unknown, so not caught up
    done = max(-1 if processed is None else processed, -1 if started_at is None else started_at)
    return max(end - 1 - done, 0)
