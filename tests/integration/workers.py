"""Start and stop real `dossierwatch worker` processes for integration tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from conftest import Topics
from helpers.processes import LoggedProcess
from kafka import KafkaConsumer, KafkaProducer

BIN = Path(sys.executable).with_name("dossierwatch")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WorkerProcess(LoggedProcess):
    def __init__(
        self,
        bootstrap: str,
        topics: Topics,
        data_dir: Path,
        *,
        app_id: str,
        log: Path,
        store: str = "memory://",
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
    ) -> None:
        self.port = free_port()
        self.log = log
        cmd = [
            str(BIN),
            "worker",
            "--bootstrap",
            bootstrap,
            "--topic-prefix",
            topics.prefix,
            "--app-id",
            app_id,
            "--store",
            store,
            "--data-dir",
            str(data_dir),
            "--web-port",
            str(self.port),
            "--partitions",
            str(topics.partitions),
            "--tick-interval",
            "0.2",
            *(args or []),
        ]
        with open(log, "ab") as out:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            )

    def health(self) -> dict[str, Any] | None:
        """/health's answer (a 503 included: a dead worker says why), None if none."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as r:
                result: dict[str, Any] = json.loads(r.read())
                return result
        except urllib.error.HTTPError as err:
            dead: dict[str, Any] = json.loads(err.read())
            dead["http_status"] = err.code
            return dead
        except OSError:
            return None

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
            return str(r.read().decode())

    def wait_assigned(self, timeout: float = 90.0, partitions: int | None = None) -> list[int]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited {self.proc.returncode}: {self.tail()}")
            h = self.health()
            if (
                h
                and h.get("assigned_partitions")
                and (partitions is None or len(h["assigned_partitions"]) == partitions)
            ):
                return list(h["assigned_partitions"])
            time.sleep(0.3)
        raise AssertionError(f"worker got no partitions in {timeout}s: {self.tail()}")


def produce(
    bootstrap: str, topic: str, events: list[tuple[bytes | None, bytes]], **config: Any
) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, **config)
    for key, value in events:
        producer.send(topic, key=key, value=value)
    producer.flush(60)
    producer.close()


def collect(
    bootstrap: str, topic: str, *, until: Any, timeout: float = 90.0, group: str | None = None
) -> list[Any]:
    """Read `topic` from the start until `until(messages)` is true or the time is up."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=group,
        enable_auto_commit=False,
        consumer_timeout_ms=500,
        fetch_max_bytes=16 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
    )
    got: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for message in consumer:
                got.append(message)
            if until(got):
                break
    finally:
        consumer.close()
    return got
