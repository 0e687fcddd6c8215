"""Start and stop real `dossierwatch worker` processes for integration tests."""

from __future__ import annotations

import json
import os
import re
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
from prometheus_client.parser import text_string_to_metric_families

from streams.web.auth import write_token

BIN = Path(sys.executable).with_name("dossierwatch")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


ROLES = ("centre", "metrics", "unit:A", "unit:B")


def tokens_for(folder: Path) -> tuple[Path, dict[str, str]]:
    """A token file for the workers of one test (they share it, as a deployment does) and
    the raw token of each role, made once per folder."""
    path, raw = folder / "tokens.toml", folder / "tokens.json"
    if raw.exists():
        known: dict[str, str] = json.loads(raw.read_text())
        return path, known
    folder.mkdir(parents=True, exist_ok=True)
    tokens = {role: write_token(path, f"test {role}", [role]) for role in ROLES}
    raw.write_text(json.dumps(tokens))
    return path, tokens


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
        token_file: bool = True,
    ) -> None:
        self.port = free_port()
        self.app_id = app_id
        self.log = log
        self.token_file, self.tokens = tokens_for(data_dir.parent)
        access = ["--token-file", str(self.token_file)] if token_file else []
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
            *access,
            *(args or []),
        ]
        with open(log, "ab") as out:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            )

    def printed_link(self, timeout: float = 60.0) -> str:
        """The sign-in link a worker without a token file prints once at start-up; its
        token becomes this process's `centre` token."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(r"http://\S+/\?token=(\S+)", self.log.read_text(errors="replace"))
            if found:
                self.tokens = {"centre": found.group(1)}
                return found.group(0)
            time.sleep(0.2)
        raise AssertionError(f"no sign-in link printed: {self.tail()}")

    def health(self, path: str = "/health") -> dict[str, Any] | None:
        """/health's answer (a 503 included: a dead worker says why), None if none."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as r:
                result: dict[str, Any] = json.loads(r.read())
                return result
        except urllib.error.HTTPError as err:
            dead: dict[str, Any] = json.loads(err.read())
            dead["http_status"] = err.code
            return dead
        except OSError:
            return None

    def metrics(self) -> str:
        status, body = self.get("/metrics", role="metrics", raw=True)
        assert status == 200, (status, body)
        return str(body)

    def counter_total(self, family: str) -> float:
        """A counter of /metrics summed over its labels (e.g. the events read)."""
        return sum(
            sample.value
            for found in text_string_to_metric_families(self.metrics())
            if found.name == family
            for sample in found.samples
            if sample.name.endswith("_total")
        )

    def get(self, path: str, role: str | None = "centre", *, raw: bool = False) -> tuple[int, Any]:
        """(status, JSON body — or text with `raw`) of a GET as `role` (None: anonymous)."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}")
        if role is not None:
            request.add_header("Authorization", f"Bearer {self.tokens[role]}")
        try:
            with urllib.request.urlopen(request, timeout=15) as r:
                body = r.read().decode()
                return r.status, body if raw else json.loads(body)
        except urllib.error.HTTPError as e:
            text = e.read().decode(errors="replace")
            try:
                return e.code, text if raw else json.loads(text)
            except ValueError:
                return e.code, text

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
