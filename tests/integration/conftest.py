"""A real Kafka broker for integration tests.

The broker is the project's own (deploy/kafka/kafkactl.sh: Apache Kafka from Maven
Central, KRaft, 127.0.0.1).  .ci/run starts it before the tests; run locally, the
fixture starts it when nothing answers (idempotent).  Each test gets topics of its own,
so tests never see each other's messages.
"""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
KAFKACTL = REPO / "deploy" / "kafka" / "kafkactl.sh"
BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092")


def _answers(bootstrap: str) -> bool:
    host, _, port = bootstrap.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """host:port of a running broker, starting the local one if needed."""
    if not _answers(BOOTSTRAP):
        if os.environ.get("KAFKA_BOOTSTRAP"):
            pytest.fail(f"no Kafka broker answers at {BOOTSTRAP} (KAFKA_BOOTSTRAP)", pytrace=False)
        subprocess.run(["bash", str(KAFKACTL), "up"], check=True, timeout=300)
    return BOOTSTRAP


@dataclass(frozen=True)
class Topics:
    events: str
    alerts: str
    dlq: str
    ticks: str
    partitions: int
    prefix: str

    def all(self) -> list[str]:
        return [self.events, self.alerts, self.dlq, self.ticks]


BIG_MESSAGES = {"max.message.bytes": str(8 * 1024 * 1024)}
"""Topics that must carry an oversized event whole (to reach the DLQ with its reason)."""


def create_topics(
    bootstrap: str,
    names: list[str],
    partitions: int,
    configs: dict[str, dict[str, str]] | None = None,
) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="dossierwatch-tests")
    configs = configs or {}
    try:
        admin.create_topics(
            [NewTopic(n, partitions, 1, topic_configs=configs.get(n, {})) for n in names],
            timeout_ms=30_000,
        )
    finally:
        admin.close()


def delete_topics(bootstrap: str, names: list[str]) -> None:
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="dossierwatch-tests")
    try:
        admin.delete_topics(names, timeout_ms=30_000)
    except Exception:
        pass
    finally:
        admin.close()


@pytest.fixture
def topics(kafka_bootstrap: str) -> Iterator[Topics]:
    """Fresh dossier-events/alerts/dlq/ticks topics (6 partitions) for one test."""
    tag = uuid.uuid4().hex[:8]
    t = Topics(
        f"t{tag}-dossier-events",
        f"t{tag}-dossier-alerts",
        f"t{tag}-dossier-events-dlq",
        f"t{tag}-dossier-ticks",
        6,
        f"t{tag}-",
    )
    create_topics(
        kafka_bootstrap, t.all(), t.partitions, {t.events: BIG_MESSAGES, t.dlq: BIG_MESSAGES}
    )
    yield t
    delete_topics(kafka_bootstrap, t.all())
