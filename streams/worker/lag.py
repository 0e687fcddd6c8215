"""How many events of a partition wait to be read: what decides whether its stream clocks
run with the wall clock or stand still (streams/core/clock.py)."""

from __future__ import annotations


def unread(end: int | None, processed: int | None, resumed_after: int | None) -> int | None:
    """Events of the partition not read yet, None while its end is unknown.

    `end`: the high-water mark the fetcher last saw (the offset after the last event);
    `processed`: the offset this worker last handled; `resumed_after`: the offset before
    the one reading resumed from after the last rebalance (where the group had committed)
    — what counts as read for an idle partition after a restart."""
    if end is None:
        return None  # not fetched yet: unknown, so not caught up
    done = max(
        -1 if processed is None else processed, -1 if resumed_after is None else resumed_after
    )
    return max(end - 1 - done, 0)
