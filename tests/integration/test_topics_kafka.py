"""The worker's topics, created before Faust starts, against the real broker."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import create_topics, delete_topics

from streams.worker.settings import WorkerSettings
from streams.worker.topics import (
    KafkaUnavailable,
    TopicLayoutError,
    TopicSpec,
    changelog_topic,
    ensure_topics,
    worker_topics,
)

pytestmark = pytest.mark.kafka


@pytest.fixture
def settings(kafka_bootstrap: str) -> Iterator[WorkerSettings]:
    """Settings naming topics and an app id of this test only; the topics go afterwards."""
    tag = f"tt{uuid.uuid4().hex[:8]}"
    s = WorkerSettings(
        bootstrap=kafka_bootstrap,
        app_id=tag,
        events_topic=f"{tag}-dossier-events",
        alerts_topic=f"{tag}-dossier-alerts",
        dlq_topic=f"{tag}-dossier-events-dlq",
        ticks_topic=f"{tag}-dossier-ticks",
        partitions=6,
    )
    yield s
    delete_topics(kafka_bootstrap, [t.name for t in worker_topics(s)])


def describe(bootstrap: str, names: list[str]) -> dict[str, dict[str, Any]]:
    """name → {"partitions": count, "leaders": all partitions led, "configs": {key: value}}."""
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="dossierwatch-tests")
    try:
        meta = {t["name"]: t for t in admin.describe_topics(names) if t["error_code"] == 0}
        resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in meta]
        configs = admin.describe_configs(resources).get("topic", {}) if resources else {}
    finally:
        admin.close()
    return {
        name: {
            "partitions": len(t["partitions"]),
            "leaders": all(p["leader_id"] >= 0 for p in t["partitions"]),
            "configs": {k: v["value"] for k, v in configs.get(name, {}).items()},
        }
        for name, t in meta.items()
    }


def settled(bootstrap: str, names: list[str]) -> None:
    """Wait until the broker's metadata shows topics just created (it may lag the reply)."""
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="dossierwatch-tests")
    try:
        admin.wait_for_topics(names, timeout_ms=30_000)
    finally:
        admin.close()


def assert_layout(bootstrap: str, specs: list[TopicSpec]) -> None:
    found = describe(bootstrap, [s.name for s in specs])
    assert set(found) == {s.name for s in specs}
    for spec in specs:
        assert found[spec.name]["partitions"] == spec.partitions, spec.name
        assert found[spec.name]["leaders"], spec.name
        for key, value in spec.configs.items():
            assert found[spec.name]["configs"].get(key) == value, (spec.name, key)


def test_creates_every_topic_and_is_idempotent(settings: WorkerSettings) -> None:
    """All topics, with the changelogs compacted and big messages on events and DLQ;
    a second run changes nothing and succeeds."""
    specs = worker_topics(settings)
    assert {changelog_topic(settings.app_id, t) for t in ("dossiers", "clocks")} <= {
        s.name for s in specs
    }
    ensure_topics(settings.bootstrap, specs, timeout=30)
    assert_layout(settings.bootstrap, specs)
    ensure_topics(settings.bootstrap, specs, timeout=30)
    assert_layout(settings.bootstrap, specs)
    configs = describe(settings.bootstrap, [changelog_topic(settings.app_id, "dossiers")])
    assert next(iter(configs.values()))["configs"]["cleanup.policy"] == "compact"


def test_two_workers_creating_at_once_both_succeed(settings: WorkerSettings) -> None:
    """Two workers creating the same topics at the same moment both go on, and the topics
    have the right partition counts."""
    specs = worker_topics(settings)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        start.wait()
        try:
            ensure_topics(settings.bootstrap, specs, timeout=30)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert_layout(settings.bootstrap, specs)


def test_a_changelog_with_another_partition_count_is_refused(settings: WorkerSettings) -> None:
    """A changelog not co-partitioned with the events is a TopicLayoutError naming both
    topics and both counts, and no other topic gets created on that layout."""
    changelog = changelog_topic(settings.app_id, "dossiers")
    create_topics(settings.bootstrap, [settings.events_topic], 6)
    create_topics(settings.bootstrap, [changelog], 12)
    settled(settings.bootstrap, [settings.events_topic, changelog])

    with pytest.raises(TopicLayoutError) as caught:
        ensure_topics(settings.bootstrap, worker_topics(settings), timeout=30)

    message = str(caught.value)
    assert "\n" not in message
    assert f"{changelog} has 12 partitions" in message
    assert f"{settings.events_topic} has 6" in message
    assert settings.ticks_topic not in describe(settings.bootstrap, [settings.ticks_topic])


def test_events_with_another_partition_count_name_the_option(settings: WorkerSettings) -> None:
    """An events topic with another count than --partitions says which to run with."""
    create_topics(settings.bootstrap, [settings.events_topic], 3)
    settled(settings.bootstrap, [settings.events_topic])
    with pytest.raises(TopicLayoutError, match=r"has 3 partitions .* --partitions 3"):
        ensure_topics(settings.bootstrap, worker_topics(settings), timeout=30)


def test_an_unreachable_broker_is_one_line_quickly() -> None:
    """Nothing listening at the bootstrap address: KafkaUnavailable naming it, within
    the timeout."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        bootstrap = f"127.0.0.1:{s.getsockname()[1]}"  # bound, not listening: refused
        started = time.monotonic()
        with pytest.raises(KafkaUnavailable) as caught:
            ensure_topics(bootstrap, [TopicSpec("never-created", 1)], timeout=2, client_config=None)
        elapsed = time.monotonic() - started
    assert elapsed < 6
    assert bootstrap in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_dead_letter_topic_with_fewer_partitions_is_refused(settings: WorkerSettings) -> None:
    """A DLQ with fewer partitions than the events is refused at start-up with one line,
    instead of the agent dying on its first dead letter to a partition that is not there."""
    create_topics(settings.bootstrap, [settings.events_topic], settings.partitions)
    create_topics(settings.bootstrap, [settings.dlq_topic], 1)
    settled(settings.bootstrap, [settings.events_topic, settings.dlq_topic])
    with pytest.raises(TopicLayoutError) as caught:
        ensure_topics(settings.bootstrap, worker_topics(settings), timeout=30)
    message = str(caught.value)
    assert "\n" not in message
    assert f"{settings.dlq_topic} has 1 partitions" in message
    assert "at least as many" in message
