"""A broker outage seen from a worker: it keeps quiet (a few dozen lines, not a flood)
and carries on where it stopped when the broker is back.  A broker of its own (other
ports, other data), so that stopping it disturbs no other test."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import KAFKACTL, REPO, Topics, create_topics
from helpers.story import Story
from live import alert_ids, firing, judged, keyed, pulses
from workers import WorkerProcess, collect, free_port, produce

pytestmark = pytest.mark.kafka

OUTAGE = 30.0


class Broker:
    """A second single-node broker from the project's own jars."""

    def __init__(self, root: Path) -> None:
        lib = Path(os.environ.get("DOSSIERWATCH_CACHE", REPO / ".cache")) / "kafka" / "lib"
        if not lib.is_dir():
            pytest.fail(f"no Kafka jars in {lib}: run deploy/kafka/kafkactl.sh install")
        (root / "kafka").mkdir(parents=True)
        (root / "kafka" / "lib").symlink_to(lib.resolve())
        self.port, controller = free_port(), free_port()
        self.env = {
            **os.environ,
            "DOSSIERWATCH_CACHE": str(root),
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(controller),
            "KAFKA_HEAP_OPTS": "-Xms128m -Xmx384m",
        }
        self.bootstrap = f"127.0.0.1:{self.port}"

    def run(self, command: str) -> None:
        subprocess.run(
            ["bash", str(KAFKACTL), command],
            env=self.env,
            check=True,
            timeout=180,
            stdout=subprocess.DEVNULL,
        )


@pytest.fixture
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    b = Broker(tmp_path_factory.mktemp("broker"))
    b.run("up")
    yield b
    b.run("down")


def test_a_broker_outage_writes_a_few_lines_and_processing_resumes(
    broker: Broker, tmp_path: Path
) -> None:
    """Broker stopped for 30 s under a running worker: the worker writes no more than a
    few dozen log lines meanwhile, stays up, and a story sent after the restart gets its
    alerts."""
    tag = uuid.uuid4().hex[:6]
    topics = Topics(
        f"o{tag}-dossier-events",
        f"o{tag}-dossier-alerts",
        f"o{tag}-dossier-events-dlq",
        f"o{tag}-dossier-ticks",
        6,
        f"o{tag}-",
    )
    create_topics(broker.bootstrap, topics.all(), topics.partitions)
    log = tmp_path / "worker.log"
    worker = WorkerProcess(
        broker.bootstrap, topics, tmp_path / "w", app_id=f"outage-{tag}", log=log
    )
    try:
        worker.wait_assigned()
        before = _story("B-", datetime(2025, 9, 20, tzinfo=UTC), topics)
        produce(broker.bootstrap, topics.events, keyed(before[0]))
        collect(broker.bootstrap, topics.alerts, until=lambda m: set(alert_ids(m)) >= before[1])

        broker.run("down")
        lines_before = _lines(log)
        time.sleep(OUTAGE)
        during = _lines(log) - lines_before
        assert worker.proc.poll() is None, worker.tail()
        broker.run("up")

        after = _story("A-", datetime(2025, 10, 20, tzinfo=UTC), topics)
        produce(broker.bootstrap, topics.events, keyed(after[0]))
        got = collect(
            broker.bootstrap,
            topics.alerts,
            until=lambda m: set(alert_ids(m)) >= after[1],
            timeout=120,
        )
        assert set(alert_ids(got)) >= after[1], worker.tail()
        assert during <= 40, f"{during} lines during a {OUTAGE:.0f} s outage:\n{worker.tail(40)}"
    finally:
        worker.stop()


def _story(prefix: str, end: datetime, topics: Topics) -> tuple[list[Any], set[str]]:
    s = (
        Story(f"{prefix}PP")
        .received("2025-09-08T09:00", time_limit="30wd")
        .transfer("2025-09-08T10:00", "A")
        .transfer("2025-09-09T10:00", "B")
        .back("2025-09-10T10:00", "A")
    )
    events = s.events + pulses(end, topics.partitions)
    want = {i for i in firing(judged(events, int(end.timestamp()))) if i.startswith(prefix)}
    assert f"{prefix}PP/ping_pong_unit/warning/1" in want
    return events, want


def _lines(log: Path) -> int:
    return len(log.read_bytes().splitlines())
