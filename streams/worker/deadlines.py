"""The worker's timer and recovery: which partitions' clocks run, which dossiers to tick,
and the schedule and clocks rebuilt from the tables after a rebalance."""

from __future__ import annotations

import gc
import time
from typing import Any

import structlog

from streams.worker import rewinding
from streams.worker.agent import Parts
from streams.worker.lag import unread

log = structlog.get_logger("dossierwatch.worker")


class Deadlines:
    def __init__(self, parts: Parts) -> None:
        self.parts = parts
        self._lag_reported: set[int] = set()

    def _assigned(self) -> list[Any]:
        consumer = self.parts.topology.app.consumer
        return [tp for tp in consumer.assignment() if tp.topic == self.parts.s.events_topic]

    async def look(self) -> None:
        """Tick the dossiers due on their sources' stream clocks.

        Stream time decides, per partition and source, and only where the partition has
        no unread events: one of them may complete the dossier (a backlog after a
        restart, a replayed history), and firing first would raise a false alarm."""
        consumer, progress, lag_gauge = (
            self.parts.topology.app.consumer,
            self.parts.progress,
            self.parts.metrics.lag,
        )
        assigned = self._assigned()
        # The high-water marks the fetcher already saw (every fetch response carries
        # them): asking the broker here would take longer than the timer's interval.
        caught_up = set()
        resumed_at = rewinding.resumed_at(self.parts.topology.app)
        for tp in assigned:
            resumed = resumed_at.get(tp)
            lag = unread(
                consumer.highwater(tp),
                progress.processed.get(tp.partition),
                None if resumed is None else resumed - 1,
            )
            if lag is None:
                continue  # not fetched yet: unknown, so not caught up
            lag_gauge.labels(str(tp.partition)).set(lag)
            if lag == 0:
                caught_up.add(tp.partition)
        for gone in self._lag_reported - {tp.partition for tp in assigned}:
            lag_gauge.remove(str(gone))  # another worker reports it now
        self._lag_reported = {tp.partition for tp in assigned}
        if self.parts.fault == "timer" and progress.last_event_wall is not None:
            raise RuntimeError("injected fault (DOSSIERWATCH_INJECT_FAULT=timer)")
        wall = time.time()
        for name, now in self.parts.core.due(
            wall, sorted(tp.partition for tp in assigned), caught_up
        ):
            await self.parts.send(self.parts.s.ticks_topic, name.encode(), str(now).encode(), None)

    async def recover(self) -> None:
        """After a rebalance or a start: the clocks and the schedule from the tables."""
        progress, core = self.parts.progress, self.parts.core
        assigned = self._assigned()
        for tp in assigned:
            # Reading resumes where the group committed (RewindingConsumer.resumed_at).
            progress.processed.pop(tp.partition, None)
        core.clocks.clear()
        for tp in assigned:
            saved = self.parts.topology.clocks.get(str(tp.partition).encode())
            if saved:
                core.restore_clocks(tp.partition, saved)
        self.parts.dead_letters.forget()
        count = core.rebuild()
        progress.recoveries += 1
        log.info("deadline index rebuilt", dossiers_waiting=count)
        # What start-up and recovery built lives as long as the worker: out of the
        # collector's sight, a full collection (which holds the event loop, whichever
        # thread triggers it) scans only what came since — tens of ms, not hundreds.
        gc.collect()
        gc.freeze()
