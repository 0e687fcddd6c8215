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
from kafka import KafkaConsumer, TopicPartition
from rocksdict import AccessType, Options, Rdict
from workers import WorkerProcess, produce

from producers.simulator import simulate
from streams.contract.events import encode_event, event_from_dict

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


def _changelog(bootstrap: str, topic: str) -> tuple[dict[int, int], dict[bytes, bytes | None]]:
    """Each partition's end offset, and each key's last value (None: deleted)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(tps)
        consumer.seek_to_beginning()
        ends = consumer.end_offsets(tps)
        latest: dict[bytes, bytes | None] = {}
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            for records in consumer.poll(timeout_ms=1000).values():
                for r in records:
                    latest[r.key] = r.value
        return {tp.partition: ends[tp] for tp in tps}, latest
    finally:
        consumer.close()


def test_a_rocksdb_table_holds_what_its_changelog_says_and_how_far(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    """After a graceful stop, each partition's RocksDB holds exactly the dossiers whose
    last changelog record is a state, with those states, and the changelog offset of its
    last record (where a restart resumes its restore)."""
    events = _events(60)
    produce(kafka_bootstrap, topics.events, events)
    app_id = f"changelog-{uuid.uuid4().hex[:8]}"
    changelog = f"{app_id}-dossiers-changelog"
    worker = _worker(kafka_bootstrap, topics, tmp_path, app_id, "rocksdb://")
    try:
        worker.wait_assigned()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and worker.counter_total(
            "dossierwatch_source_events"
        ) < len(events):
            time.sleep(0.3)
        assert worker.counter_total("dossierwatch_source_events") == len(events), worker.tail()
    finally:
        worker.stop()
    assert worker.proc.returncode == 0, worker.tail()
    ends, latest = _changelog(kafka_bootstrap, changelog)
    assert sum(ends.values()) >= len({key for key, _ in events}), ends
    found: dict[bytes, bytes] = {}
    persisted: dict[int, int] = {}
    for path in sorted((tmp_path / "data").rglob("dossiers-*.db")):
        partition = int(path.name.removesuffix(".db").rsplit("-", 1)[1])
        db = Rdict(str(path), options=Options(raw_mode=True), access_type=AccessType.read_only())
        try:
            for key, value in db.items():
                if key == OFFSET_KEY:
                    persisted[partition] = int(value)
                else:
                    found[key] = value
        finally:
            db.close()
    assert found == {k: v for k, v in latest.items() if v is not None}
    assert persisted == {p: end - 1 for p, end in ends.items() if end > 0}
    delete_topics(kafka_bootstrap, [changelog, f"{app_id}-clocks-changelog"])


def test_a_refused_changelog_record_stops_the_worker_and_commits_nothing(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    """A changelog whose records the broker refuses (each larger than the topic allows):
    the worker says why, stops with an error, and the group commits no offset, so the
    events are read again once the changelog takes them."""
    app_id = f"refused-{uuid.uuid4().hex[:8]}"
    changelogs = [f"{app_id}-{table}-changelog" for table in ("dossiers", "clocks")]
    create_topics(
        kafka_bootstrap,
        changelogs,
        topics.partitions,
        {name: {"cleanup.policy": "compact", "max.message.bytes": "64"} for name in changelogs},
    )
    events = _events(10)
    produce(kafka_bootstrap, topics.events, events)
    worker = _worker(kafka_bootstrap, topics, tmp_path, app_id, "memory://")
    try:
        worker.proc.wait(90)
    finally:
        worker.stop()
        delete_topics(kafka_bootstrap, changelogs)
    log = worker.log.read_text(errors="replace")
    assert worker.proc.returncode != 0, worker.tail()
    assert "offset commits stopped" in log and "changelog died" in log, worker.tail()
    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=app_id)
    try:
        committed = [
            consumer.committed(TopicPartition(topics.events, p)) for p in range(topics.partitions)
        ]
    finally:
        consumer.close()
    assert committed == [None] * topics.partitions
