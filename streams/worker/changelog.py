"""A batch's table writes, each with its changelog record handed straight to the producer.

Faust's `table[key] = value` sends the changelog record with `send_soon`: a
`FutureMessage` and a `PendingMessage` per record, a queue, a background task that
publishes them one by one, and an offset commit that waits for that queue to drain.
Measured with py-spy on bench/pipeline_throughput.py that path took a fifth of the
worker's time, more than the detection core itself.  A batch writes each changed
dossier once, after its alerts are acknowledged (streams/worker/agent.py), so the
records can go to the producer as they are written, in order.

What a Faust table does on a write, done here in its order: the changelog record to the
partition of the key's event (the tables are co-partitioned with the events), then the
value into the table's local store (under that partition: `writing_as`), and, once the
broker has the record, the changelog offset the store keeps (RocksDB resumes its restore
from there).  An offset commit flushes the producer first, so it waits for these records.

A record the broker refuses (after the producer's retries), or that the producer will not
take, is a state the changelog lacks while the local store may hold it: the worker stops
committing offsets (`on_failure`), writes nothing more, and marks its local tables stale
(`mark_stale`), so that the next start drops them and restores from the changelog alone
(`drop_if_stale`).  The events since the last commit are read again and rebuild the rest.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import structlog

from streams.worker.topology import writing_as

log = structlog.get_logger("dossierwatch.worker")

Write = tuple[bytes, bytes | None, Any]
"""(key, new value or None to delete, the event whose partition the key is in)."""

STALE_MARK = "changelog-refused"
"""A file in the app's data folder: its local tables may hold what the changelog lacks."""


class ChangelogWriter:
    """Writes tables the way their changelog expects, one producer call per record."""

    def __init__(self, app: Any, on_failure: Callable[[BaseException], None]) -> None:
        if app.conf.processing_guarantee.value != "at_least_once":
            # Faust's exactly-once sends through a producer per partition inside a
            # transaction; this writer does not, and must not be used there.
            raise ValueError("ChangelogWriter supports the at_least_once guarantee only")
        self.app = app
        self.on_failure = on_failure
        self.refused: BaseException | None = None
        self._topics: dict[int, str] = {}  # id(table) → its changelog topic

    def _topic(self, table: Any) -> str:
        name = self._topics.get(id(table))
        if name is None:
            if (table.key_serializer, table.value_serializer) != ("raw", "raw"):
                # The bytes go to the producer as they are, past the table's codecs.
                raise TypeError(f"table {table.name!r} is not a raw bytes table")
            name = self._topics[id(table)] = table.changelog_topic.get_topic_name()
        return name

    async def write(self, table: Any, writes: Iterable[Write]) -> None:
        """Send each value's changelog record, then store it locally; a delete of a key
        the table does not hold sends nothing (Faust's `del table[key]` was only asked
        for a held key).  Once a record was refused, waits for the worker's stop instead:
        nothing more may be written, and an agent that raised would only be restarted by
        Faust's supervisor (whose restart then held the graceful stop until its backstop)."""
        topic, data = self._topic(table), table.data
        producer = self.app.producer._ensure_producer()  # aiokafka's, started by Faust
        last: dict[int, asyncio.Future[Any]] = {}
        for key, value, event in writes:
            if self.refused is not None:
                await asyncio.get_running_loop().create_future()  # cancelled by the stop
            if value is None and key not in data:
                continue
            partition = event.message.partition
            try:
                sent = await producer.send(topic, value, key=key, partition=partition)
            except Exception as err:  # refused before it left: too large, no metadata, …
                self._failed(err)
                raise
            sent.add_done_callback(self._check)
            last[partition] = sent
            with writing_as(event):
                if value is None:
                    del data[key]
                else:
                    data[key] = value
        for sent in last.values():
            # Records of a partition are acknowledged in order: its last one's offset is
            # what the store may say it holds (Faust records every record's; the same).
            sent.add_done_callback(functools.partial(_persisted, table))

    def _check(self, sent: asyncio.Future[Any]) -> None:
        if sent.cancelled():
            self._failed(asyncio.CancelledError("changelog record cancelled"))
            return
        err = sent.exception()
        if err is not None:
            self._failed(err)

    def _failed(self, err: BaseException) -> None:
        if self.refused is None:
            self.refused = err
            mark_stale(Path(self.app.conf.datadir))
            self.on_failure(err)


def _persisted(table: Any, sent: asyncio.Future[Any]) -> None:
    if sent.cancelled() or sent.exception() is not None:
        return
    meta = sent.result()  # aiokafka's RecordMetadata: its topic_partition is a TP
    table.data.set_persisted_offset(meta.topic_partition, meta.offset)


def mark_stale(datadir: Path) -> None:
    """Mark the app's local tables stale (see the module's docstring)."""
    datadir.mkdir(parents=True, exist_ok=True)
    (datadir / STALE_MARK).touch()


def drop_if_stale(datadir: Path, tabledir: Path) -> bool:
    """At start, before any store opens: drop the local tables a refused changelog
    record left stale (the restore then reads the whole changelog); whether it did."""
    mark = datadir / STALE_MARK
    if not mark.exists():
        return False
    shutil.rmtree(tabledir, ignore_errors=True)
    os.unlink(mark)  # only once the tables are gone: a crash in between drops them again
    log.warning(
        "local tables dropped: a changelog record was refused before the last stop;"
        " restoring them from the changelog",
        tables=str(tabledir),
    )
    return True
