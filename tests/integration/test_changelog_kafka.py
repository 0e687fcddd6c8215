"""The worker writes its tables' changelogs itself (streams/worker/changelog.py): the
changelog holds what the table holds, RocksDB remembers how far it has written, and a
record the broker refuses stops the worker without committing past it."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import Topics, create_topics, delete_topics
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType
from rocksdict import AccessType, Options, Rdict
from workers import WorkerProcess, produce

from producers.simulator import simulate
from streams.contract.events import encode_event, event_from_dict
from streams.worker.topics import COMPACTED, TABLES, changelog_topic

pytestmark = pytest.mark.kafka

OFFSET_KEY = b"__faust\0offset__"
"""Where Faust's RocksDB store keeps the changelog offset it holds (faust/stores/rocksdb.py)."""


def _events(dossiers: int) -> list[tuple[bytes, bytes]]:
    start = datetime(2025, 9, 1, 8, 0, tzinfo=UTC)
    events = [
        event_from_dict(e)
        for e in simulate(seed=11, start=start, dossiers=dossiers, per_working_day=80)
    ]
    return [(e.subject.encode(), encode_event(e)) for e in events]


def _worker(bootstrap: str, topics: Topics, tmp: Path, app_id: str, store: str) -> WorkerProcess:
    return WorkerProcess(
        bootstrap, topics, tmp / "data", app_id=app_id, log=tmp / "worker.log", store=store
    )


def _changelog(bootstrap: str, topic: str) -> dict[int, dict[bytes, bytes | None]]:
    """Each partition's keys with their last value (None: deleted), read to the end."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(tps)
        consumer.seek_to_beginning()
        ends = consumer.end_offsets(tps)
        latest: dict[int, dict[bytes, bytes | None]] = {tp.partition: {} for tp in tps}
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            for tp, records in consumer.poll(timeout_ms=1000).items():
                for r in records:
                    latest[tp.partition][r.key] = r.value
        return latest
    finally:
        consumer.close()


def _end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return {tp.partition: end for tp, end in consumer.end_offsets(tps).items()}
    finally:
        consumer.close()


def _stores(data: Path) -> tuple[dict[int, dict[bytes, bytes]], dict[int, int]]:
    """Each RocksDB partition of the dossiers table: its keys and values, and the
    changelog offset it says it holds."""
    found: dict[int, dict[bytes, bytes]] = {}
    persisted: dict[int, int] = {}
    for path in sorted(data.rglob("dossiers-*.db")):
        partition = int(path.name.removesuffix(".db").rsplit("-", 1)[1])
        db = Rdict(str(path), options=Options(raw_mode=True), access_type=AccessType.read_only())
        try:
            found[partition] = {}
            for key, value in db.items():
                if key == OFFSET_KEY:
                    persisted[partition] = int(value)
                else:
                    found[partition][key] = value
        finally:
            db.close()
    return found, persisted


def _read_all_and_stop(
    bootstrap: str, topics: Topics, tmp: Path, app_id: str, events: int
) -> WorkerProcess:
    """A RocksDB worker that reads all `events`, then stops gracefully."""
    worker = _worker(bootstrap, topics, tmp, app_id, "rocksdb://")
    try:
        worker.wait_assigned()
        deadline = time.monotonic() + 90
        while (
            time.monotonic() < deadline
            and worker.counter_total("dossierwatch_source_events") < events
        ):
            time.sleep(0.3)
        assert worker.counter_total("dossierwatch_source_events") == events, worker.tail()
    finally:
        worker.stop()
    assert worker.proc.returncode == 0, worker.tail()
    return worker


def _states(changelog: dict[int, dict[bytes, bytes | None]]) -> dict[int, dict[bytes, bytes]]:
    return {
        p: {k: v for k, v in keys.items() if v is not None}
        for p, keys in changelog.items()
        if any(v is not None for v in keys.values())
    }


def test_a_rocksdb_table_holds_what_its_changelog_says_and_how_far(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    """After a graceful stop, each partition's RocksDB holds exactly the dossiers whose
    last record in that partition of the changelog is a state, with those states, and
    the offset of the partition's last record (where a restart resumes its restore)."""
    events = _events(60)
    produce(kafka_bootstrap, topics.events, events)
    app_id = f"changelog-{uuid.uuid4().hex[:8]}"
    changelog = changelog_topic(app_id, "dossiers")
    _read_all_and_stop(kafka_bootstrap, topics, tmp_path, app_id, len(events))
    latest = _changelog(kafka_bootstrap, changelog)
    assert sum(len(keys) for keys in latest.values()) >= len({key for key, _ in events})
    found, persisted = _stores(tmp_path / "data")
    assert {p: keys for p, keys in found.items() if keys} == _states(latest)
    ends = _end_offsets(kafka_bootstrap, changelog)
    assert persisted == {p: end - 1 for p, end in ends.items() if end > 0}
    delete_topics(kafka_bootstrap, [changelog_topic(app_id, t) for t in TABLES])


def test_a_refused_changelog_record_stops_the_worker_and_the_restart_rebuilds_the_table(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    """A changelog whose records the broker refuses (each larger than the topic allows):
    the worker says why, stops with an error and commits no offset.  Its RocksDB may hold
    states the changelog lacks: once the topic takes the records again, the restarted
    worker drops its local tables, reads every event again, and ends with its store and
    its changelog alike."""
    app_id = f"refused-{uuid.uuid4().hex[:8]}"
    changelogs = [changelog_topic(app_id, t) for t in TABLES]
    create_topics(
        kafka_bootstrap,
        changelogs,
        topics.partitions,
        {name: {**COMPACTED, "max.message.bytes": "64"} for name in changelogs},
    )
    events = _events(10)
    produce(kafka_bootstrap, topics.events, events)
    try:
        worker = _worker(kafka_bootstrap, topics, tmp_path, app_id, "rocksdb://")
        try:
            worker.proc.wait(90)
        finally:
            worker.stop()
        log = worker.log.read_text(errors="replace")
        assert worker.proc.returncode != 0, worker.tail()
        assert "offset commits stopped" in log and "changelog died" in log, worker.tail()
        consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=app_id)
        try:
            committed = [
                consumer.committed(TopicPartition(topics.events, p))
                for p in range(topics.partitions)
            ]
        finally:
            consumer.close()
        assert committed == [None] * topics.partitions
        left, _ = _stores(tmp_path / "data")
        assert any(left.values()), "the refused states were not in the local store"

        admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        try:
            admin.alter_configs(
                [
                    ConfigResource(
                        ConfigResourceType.TOPIC, name, configs={"max.message.bytes": "1048588"}
                    )
                    for name in changelogs
                ]
            )
        finally:
            admin.close()
        again = _read_all_and_stop(kafka_bootstrap, topics, tmp_path, app_id, len(events))
        found, _ = _stores(tmp_path / "data")
        latest = _changelog(kafka_bootstrap, changelogs[0])
        assert {p: keys for p, keys in found.items() if keys} == _states(latest)
        # Every dossier's state reached the changelog (a finished one may since have been
        # evicted: a tombstone, its stream time having passed its retention).
        assert {k for keys in latest.values() for k in keys} == {k for k, _ in events}
        assert "local tables dropped" in again.log.read_text(errors="replace")
    finally:
        delete_topics(kafka_bootstrap, changelogs)
