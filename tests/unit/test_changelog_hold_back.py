"""A changelog partition whose fetched records Faust did not hand on is read again from
the first one held back (streams/worker/rewinding.py, `RewindingConsumer.getmany`).

The fetch itself is the one thing stood in for here (the consumer's `_getmany`, which asks
aiokafka); the rest is the worker's real consumer and Faust's own `getmany` around it.
tests/integration/test_takeover_kafka.py is the same on the real broker."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiokafka.structs import ConsumerRecord
from faust.types import TP

from streams.web.auth import Guard
from streams.worker import topology
from streams.worker.settings import WorkerSettings


def record(tp: TP, offset: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(tp.topic, tp.partition, offset, 0, 0, b"k", b"v", None, 1, 1, ())


class Fetching:
    """The worker's consumer, with fetches answered from a list and seeks noted."""

    def __init__(self, tmp_path: Path) -> None:
        s = WorkerSettings(store="memory://", data_dir=str(tmp_path), app_id="hold-back")
        app = topology.build(s, Guard.single("x" * 32)).app
        self.consumer = app.consumer
        changelog = sorted(app.tables.changelog_topics)[0]
        self.changelog = TP(changelog, 0)
        self.stream = TP("dossier-events", 0)
        self.fetches: list[tuple[dict[TP, list[Any]], set[TP]]] = []
        self.seeks: list[tuple[TP, int]] = []
        c = self.consumer
        c._active_partitions = {self.changelog, self.stream}
        c.highwater = lambda tp: 100
        c.assignment = lambda: {self.changelog, self.stream}

        async def fetch(active_partitions: Any, timeout: float) -> dict[TP, list[Any]]:
            records, paused = self.fetches.pop(0) if self.fetches else ({}, set())
            # Paused while the fetch was out: Faust then drops what came for them.
            c._active_partitions.difference_update(paused)
            return records

        async def seek(tp: TP, offset: int) -> None:
            self.seeks.append((tp, offset))

        c._getmany = fetch
        c.seek = seek

    def read(self) -> list[tuple[TP, int]]:
        async def go() -> list[tuple[TP, int]]:
            return [(tp, m.offset) async for tp, m in self.consumer.getmany(1.0)]

        return asyncio.run(go())


def test_a_changelog_partition_paused_during_its_fetch_is_sought_back_to_that_fetch(
    tmp_path: Path,
) -> None:
    f = Fetching(tmp_path)
    f.fetches.append(
        (
            {f.changelog: [record(f.changelog, o) for o in (5, 6, 7)]},
            {f.changelog},
        )
    )
    assert f.read() == []  # Faust handed on nothing of the paused partition
    f.read()  # the next fetch is preceded by the seek back
    assert f.seeks == [(f.changelog, 5)]


def test_what_was_handed_on_is_not_read_again(tmp_path: Path) -> None:
    f = Fetching(tmp_path)
    f.fetches.append(
        (
            {
                f.changelog: [record(f.changelog, o) for o in (5, 6)],
                f.stream: [record(f.stream, o) for o in (0, 1)],
            },
            set(),
        )
    )
    handed_on = [(f.changelog, 5), (f.changelog, 6), (f.stream, 0), (f.stream, 1)]
    assert sorted(f.read()) == sorted(handed_on)
    f.read()
    assert f.seeks == []


def test_a_stream_partition_dropped_by_faust_is_left_to_the_seek_after_the_rebalance(
    tmp_path: Path,
) -> None:
    f = Fetching(tmp_path)
    f.fetches.append(({f.stream: [record(f.stream, o) for o in (0, 1)]}, {f.stream}))
    assert f.read() == []
    f.read()
    assert f.seeks == []


def test_after_a_record_held_back_none_later_of_its_partition_is_handed_on(
    tmp_path: Path,
) -> None:
    """Paused after its first record and active again before its last: the last is held
    back too, or the standby would take it and count the one between as read."""
    f = Fetching(tmp_path)
    f.fetches.append(
        (
            {
                f.changelog: [record(f.changelog, o) for o in (5, 6, 7)],
                f.stream: [record(f.stream, o) for o in (0, 1, 2)],
            },
            set(),
        )
    )
    active = f.consumer._active_partitions

    async def go() -> list[tuple[TP, int]]:
        out = []
        async for tp, m in f.consumer.getmany(1.0):
            out.append((tp, m.offset))
            if (tp, m.offset) == (f.changelog, 5):
                active.discard(f.changelog)  # paused: Faust drops 6
            if (tp, m.offset) == (f.stream, 1):
                active.add(f.changelog)  # resumed before Faust reaches 7
        return out

    got = asyncio.run(go())
    assert [o for tp, o in got if tp == f.changelog] == [5]
    assert [o for tp, o in got if tp == f.stream] == [0, 1, 2]
    f.read()
    assert f.seeks == [(f.changelog, 6)]
