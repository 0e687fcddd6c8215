"""The consumer that reads again what a rebalance fetched and dropped.

During a rebalance Faust drops the records its fetcher has already taken for the stream
partitions (they belong to a generation that is over, or arrive while the flow is
stopped) and relies on one seek back to the committed offsets once the tables are
restored.  aiokafka's `seek_to_committed` seeks only partitions whose committed offset
is above 0 (aio-libs/aiokafka#1003): a partition on which the group has committed
nothing — a new deployment, a partition whose first events arrive while the workers
rebalance — keeps the position past the dropped records, and those events are never
read.  Observed: a second worker joining while events arrived; 49 alerts of 213 never
came, their dossiers missing the receipts the first worker had fetched and dropped.

`RewindingConsumer` closes the hole at both ends:

* while Faust holds a stream partition paused, aiokafka holds it paused too, so nothing
  of it is fetched to be dropped and its position stays where reading must resume;
* the seek after the restore also seeks the partitions with nothing committed, to their
  earliest offset (the group's `auto_offset_reset`, "earliest"), for whatever was
  fetched before the pause took hold.

Seeking alone is not enough: records fetched past the dropped ones and handed to the
stream before the seek take effect move Faust's read offset past them, and Faust then
drops the re-read ones as already read (41 of 7,141 events lost that way in CI).
It keeps where each assigned stream partition resumes from (`resumed_at`): the events
before it count as read.

Faust resumes the stream partitions *before* it seeks them, and resumes the flow after
the seek; resuming the flow empties every stream queue (mode's `FlowControlEvent.resume`
clears them).  Whatever was fetched and queued while the seek ran was thrown away, yet
Faust's read offset had passed it, so it was never read again.  Observed in CI: a worker
restarted after kill -9, its seek held 1.5 s behind a long-poll fetch (the broker answers
a connection's requests one at a time: polling.py); the first event of each partition
was handled, the rest of that fetch vanished, and none of a story's 8 alerts came.  So
aiokafka resumes a stream partition only with the flow (`resume_flow`), once the seek is
done and the queues are cleared: nothing is fetched to be thrown away.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, cast

import faust
import structlog
from aiokafka.structs import TopicPartition
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from streams.worker.delivering import EagerFirst
from streams.worker.polling import ShortPollThread

log = structlog.get_logger("dossierwatch.worker")


class RewindingConsumer(EagerFirst, faust_aiokafka.Consumer):
    """Faust's aiokafka consumer, with every stream partition sought after a rebalance
    (and each record delivered without a race unless it must wait: `EagerFirst`; fetches
    that wait at the broker no longer than 0.2 s: `ShortPollThread`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.resumed_at: dict[TP, int] = {}
        """Stream partition → the offset reading resumed from at the last seek."""
        self.resuming_with_flow: set[TP] = set()
        """Partitions Faust resumed, whose aiokafka side waits for the flow (`_fetching`
        touches only the stream ones: changelog partitions are Faust's alone)."""
        self.commits_refused: str | None = None
        """Why no offset may be committed any more (`refuse_commits`), or None."""
        self._fetched: dict[TP, list[int]] = {}
        """The last fetch's offsets per changelog partition (`getmany`)."""
        self._rewinds: dict[TP, int] = {}
        """Changelog partition → the first record `getmany` held back, sought before the
        next fetch."""

    async def _commit(self, offsets: Mapping[TP, int]) -> bool:
        if self.commits_refused is not None:
            return False  # the events past the last good commit are read again
        return await super()._commit(offsets)

    async def _wait_next_records(self, timeout: float) -> tuple[Any, Any]:
        await self._rewind_skipped()
        records, active = await super()._wait_next_records(timeout)
        self._fetched = {
            tp: [r.offset for r in batch]
            for tp, batch in (records or {}).items()
            if self._is_changelog_tp(tp)
        }
        return records, active

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Any]]:
        """Faust's `getmany`, except that a changelog partition whose fetched records it
        did not all hand on is sought back to the first one it held back.

        Faust hands on the records of a fetch only while the flow runs, the generation is
        the same and the partition is still active, so a partition paused while its fetch
        was out loses that fetch, the consumer's position past it.  A stream partition is
        sought back after the rebalance; a changelog one was not: a standby read on past
        the hole, and its store then said it held the changelog to its end.  Observed:
        after a kill -9, the survivor's standby partitions lacked their first 54 records
        and 141 of 300 overdue alerts never came (tests/integration/test_takeover_kafka.py,
        3 of 95 runs).  Once a record of a partition is held back, none after it
        is handed on, so that the records read again are not taken as already read."""
        expected: dict[TP, int] = {}  # changelog partition → its next fetched record's index
        try:
            async for tp, message in super().getmany(timeout):
                offsets = self._fetched.get(tp)
                if offsets is not None:
                    i = expected.get(tp, 0)
                    if i >= len(offsets) or offsets[i] != message.offset:
                        continue  # one before it was held back (the index stays there)
                    expected[tp] = i + 1
                yield tp, message
        finally:
            for tp, offsets in self._fetched.items():
                i = expected.get(tp, 0)
                if i < len(offsets):
                    self._rewinds[tp] = min(offsets[i], self._rewinds.get(tp, offsets[i]))
            self._fetched = {}

    async def _rewind_skipped(self) -> None:
        rewinds, self._rewinds = self._rewinds, {}
        assigned = self.assignment()
        for tp, offset in rewinds.items():
            if tp in assigned:  # a revoked one is sought by the next recovery
                log.info(
                    "changelog records held back: read again",
                    partition=f"{tp.topic}:{tp.partition}",
                    offset=offset,
                )
                await self.seek(tp, offset)

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return ShortPollThread(self, loop=self.loop, beacon=self.beacon)

    def pause_partitions(self, tps: Iterable[TP]) -> None:
        tps = set(tps)
        super().pause_partitions(tps)
        self.resuming_with_flow -= tps
        self._fetching(tps, paused=True)

    def resume_partitions(self, tps: Iterable[TP]) -> None:
        tps = set(tps)
        super().resume_partitions(tps)
        # Fetched only once the flow resumes, after the seek and the clearing of the queues.
        self.resuming_with_flow |= tps

    def resume_flow(self) -> None:
        super().resume_flow()
        if self.resuming_with_flow:
            tps, self.resuming_with_flow = self.resuming_with_flow, set()
            self._fetching(tps, paused=False)

    def _fetching(self, tps: set[TP], *, paused: bool) -> None:
        """Pause or resume the stream partitions in aiokafka, on its own loop (the
        consumer runs in a thread of Faust's), in the order Faust asked."""
        stream = [
            TopicPartition(tp.topic, tp.partition) for tp in tps if not self._is_changelog_tp(tp)
        ]
        consumer = self._thread._consumer
        if not stream or consumer is None:
            return

        def apply() -> None:
            # Only what is still assigned: a revoked partition has no state to pause.
            assigned = consumer.assignment()
            mine = [tp for tp in stream if tp in assigned]
            if paused:
                consumer.pause(*mine)
            else:
                consumer.resume(*mine)

        self._thread.thread_loop.call_soon_threadsafe(apply)

    async def seek_to_committed(self) -> Mapping[TP, int]:
        committed = await super().seek_to_committed()
        delay = cast(RewindingTransport, self.transport).seek_delay
        if delay:
            await asyncio.sleep(delay)  # an injected fault: a seek held up (tests)
        changelogs = self.app.tables.changelog_topics
        # Changelog partitions are positioned by the table recovery, never by the group.
        stream = {tp: offset for tp, offset in committed.items() if tp.topic not in changelogs}
        unset = [tp for tp, offset in stream.items() if not offset]
        earliest = dict(await self.earliest_offsets(*unset)) if unset else {}
        if earliest:
            await self.seek_wait(earliest)
            # Once per rebalance: a new group, or one whose offsets Kafka expired (an
            # empty group's, after offsets.retention.minutes) reads these from the start.
            log.info(
                "partitions with no committed offset: read from their first event",
                partitions=sorted(f"{tp.topic}:{tp.partition}@{o}" for tp, o in earliest.items()),
            )
        self.resumed_at = {
            TP(tp.topic, tp.partition): earliest.get(tp, offset or 0)
            for tp, offset in stream.items()
        }
        return committed


class RewindingTransport(faust_aiokafka.Transport):
    Consumer = RewindingConsumer
    seek_delay = 0.0
    """Seconds added to every seek after a rebalance: 0 but in tests, where
    DOSSIERWATCH_INJECT_FAULT=slow_seek holds each seek up as a long-poll fetch can."""


def install(app: faust.App) -> None:
    """Give `app` the rewinding consumer (before it starts: the consumer is made then)."""
    if app.conf.consumer_auto_offset_reset != "earliest":
        raise ValueError("the rewinding consumer assumes auto_offset_reset 'earliest'")
    app.transport = RewindingTransport(app.conf.broker_consumer, app)


def hold_seeks(app: faust.App, seconds: float) -> None:
    """Make every seek after a rebalance take `seconds` longer (a fault for tests)."""
    transport = app.transport
    if not isinstance(transport, RewindingTransport):
        raise TypeError("the app's transport is not the rewinding one: call install() first")
    transport.seek_delay = seconds


def refuse_commits(app: faust.App, reason: str) -> None:
    """Commit no offset from now on, Faust's commit at a graceful stop included: a state
    the broker refused is lost, and only events read again can rebuild it."""
    consumer = _consumer(app)
    if consumer.commits_refused is None:
        consumer.commits_refused = reason
        log.error(
            "offset commits stopped: events after the last commit will be read again", reason=reason
        )


def resumed_at(app: faust.App) -> Mapping[TP, int]:
    """Stream partition → the offset reading resumed from after the last rebalance."""
    return _consumer(app).resumed_at


def _consumer(app: faust.App) -> RewindingConsumer:
    consumer = app.consumer
    if not isinstance(consumer, RewindingConsumer):
        raise TypeError("the app's consumer is not the rewinding one: call install() first")
    return consumer
