"""A batch's table writes, each with its changelog record handed straight to the producer.

Faust's `table[key] = value` sends the changelog record with `send_soon`: a
`FutureMessage` and a `PendingMessage` per record, a queue, a background task that
publishes them one by one, and an offset commit that waits for that queue to drain.
Measured with py-spy on bench/pipeline_throughput.py that path took a fifth of the
worker's time, more than the detection core itself.  A batch writes each changed
dossier once, after its alerts are acknowledged (streams/worker/agent.py), so the
records can go to the producer as they are written, in order.

What a Faust table does on a write, done here: the value into the table's local store
(under its event's partition: `writing_as`), the changelog record to that same
partition (the tables are co-partitioned with the events), and, once the broker has
it, the changelog offset the store keeps (RocksDB resumes its restore from there).
A commit still waits for these records: it flushes the producer first.

A record the broker refuses after the producer's retries is a state that a restart would
not find: the worker stops (`on_failure`) rather than go on committing offsets past it.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable
from typing import Any

from streams.worker.topology import writing_as

Write = tuple[bytes, bytes | None, Any]
"""(key, new value or None to delete, the event whose partition the key is in)."""


class ChangelogWriter:
    """Writes tables the way their changelog expects, one producer call per record."""

    def __init__(self, app: Any, on_failure: Callable[[BaseException], None]) -> None:
        if app.conf.processing_guarantee.value != "at_least_once":
            # Faust's exactly-once sends through a producer per partition inside a
            # transaction; this writer does not, and must not be used there.
            raise ValueError("ChangelogWriter supports the at_least_once guarantee only")
        self.app = app
        self.on_failure = on_failure
        self._topics: dict[int, str] = {}  # id(table) → its changelog topic

    def _topic(self, table: Any) -> str:
        name = self._topics.get(id(table))
        if name is None:
            name = self._topics[id(table)] = table.changelog_topic.get_topic_name()
        return name

    async def write(self, table: Any, writes: Iterable[Write]) -> None:
        """Store each value locally and send its changelog record; a delete of a key the
        table does not hold sends nothing (as Faust's `del table[key]` is only asked for
        a held key)."""
        producer = self.app.producer._ensure_producer()  # aiokafka's, started by Faust
        topic, data = self._topic(table), table.data
        last: dict[int, asyncio.Future[Any]] = {}
        for key, value, event in writes:
            with writing_as(event):
                if value is None:
                    if key not in data:
                        continue
                    del data[key]
                else:
                    data[key] = value
            partition = event.message.partition
            sent = await producer.send(topic, value, key=key, partition=partition)
            sent.add_done_callback(self._check)
            last[partition] = sent
        for sent in last.values():
            # Records of a partition are acknowledged in order: its last one's offset is
            # what the store may say it holds (Faust records every record's; the same).
            sent.add_done_callback(functools.partial(_persisted, table))

    def _check(self, sent: asyncio.Future[Any]) -> None:
        if sent.cancelled():
            return  # the producer is stopping: the offsets are not committed past it
        err = sent.exception()
        if err is not None:
            self.on_failure(err)


def _persisted(table: Any, sent: asyncio.Future[Any]) -> None:
    if sent.cancelled() or sent.exception() is not None:
        return
    meta = sent.result()  # aiokafka's RecordMetadata: its topic_partition is a TP
    table.data.set_persisted_offset(meta.topic_partition, meta.offset)
