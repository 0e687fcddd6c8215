"""Shared pieces of the pipeline benchmarks: topics, producers, workers, group progress."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.structs import TopicPartition

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).with_name("dossierwatch")
BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092")
PARTITIONS = 6


LOCAL = timezone(timedelta(hours=7))
"""Vietnam's offset: the one the handling systems stamp their events with."""


def live_event(
    dossier: str, event_id: str, kind: str, data: Mapping[str, object], source: str = "bench"
) -> dict[str, object]:
    """A dossier event as a live handling system sends it: dated when it is made."""
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": kind,
        "time": datetime.now(LOCAL).isoformat(),
        "subject": dossier,
        "data": data,
    }


def ensure_broker() -> None:
    host, _, port = BOOTSTRAP.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        subprocess.run(["bash", str(REPO / "deploy/kafka/kafkactl.sh"), "up"], check=True)


def fresh_topics(tag: str, partitions: int = PARTITIONS) -> tuple[str, dict[str, str]]:
    """A prefix and the four topic names under it, created empty."""
    prefix = f"bench-{tag}-{uuid.uuid4().hex[:6]}-"
    names = {
        n: f"{prefix}dossier-{s}"
        for n, s in (
            ("events", "events"),
            ("alerts", "alerts"),
            ("dlq", "events-dlq"),
            ("ticks", "ticks"),
        )
    }
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    admin.create_topics([NewTopic(t, partitions, 1) for t in names.values()])
    admin.close()
    return prefix, names


def delete_topics(names: Iterable[str]) -> None:
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    try:
        admin.delete_topics(list(names))
    finally:
        admin.close()


def produce_all(topic: str, items: Iterable[tuple[bytes, bytes]]) -> int:
    producer = KafkaProducer(
        bootstrap_servers=BOOTSTRAP,
        acks="all",
        linger_ms=20,
        batch_size=256 * 1024,
        compression_type=None,
    )
    n = 0
    for key, value in items:
        producer.send(topic, key=key, value=value)
        n += 1
    producer.flush(120)
    producer.close()
    return n


BREACH_ONLY = """
[policy]
name = "bench-breach-only"
effective_from = 2000-01-01
[deadline]
warning_fractions = []
"""
"""A bench policy with the deadline rules but no near-due warnings: every tick a breach."""


def health(port: int) -> dict[str, Any] | None:
    """A worker's /health answer, a 503's included (its body says "recovering" or
    "dead"); None while nothing answers."""
    try:
        response = urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
    except urllib.error.HTTPError as err:
        response = err
    except OSError:
        return None
    with response:
        try:
            answer: dict[str, Any] = json.loads(response.read())
        except ValueError:
            return None
    return answer


def metrics_text(port: int | str, timeout: float = 10.0) -> str | None:
    """A worker's /metrics page (started with --public-metrics), None when it does not
    answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as r:
            return str(r.read().decode())
    except OSError:
        return None


def web_port(proc: subprocess.Popen[bytes]) -> int:
    """The port a worker started by `start_worker` serves /health and /metrics on."""
    args = [str(a) for a in proc.args]  # type: ignore[union-attr]  # start_worker's list
    return int(args[args.index("--web-port") + 1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_worker(
    prefix: str,
    app_id: str,
    log: Path,
    *extra: str,
    store: str = "memory://",
    data_dir: Path | None = None,
) -> subprocess.Popen[bytes]:
    """A worker on the bench topics; `extra` flags come last, so they win (--log-level)."""
    cmd = [
        str(BIN),
        "worker",
        "--bootstrap",
        BOOTSTRAP,
        "--topic-prefix",
        prefix,
        "--app-id",
        app_id,
        "--store",
        store,
        "--data-dir",
        str(data_dir or f"/tmp/{app_id}"),
        "--web-port",
        str(free_port()),
        "--log-level",
        "warning",
        # Local bench workers only: the benches sample /metrics without a token.
        "--public-metrics",
        *extra,
    ]
    with open(log, "ab") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)


def start_bare_agent(topic: str, app_id: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BENCH_TOPIC": topic, "BENCH_APP_ID": app_id, "BENCH_BOOTSTRAP": BOOTSTRAP}
    cmd = [
        sys.executable,
        str(REPO / "bench/bare_agent.py"),
        "worker",
        "-l",
        "warn",
        "--web-port",
        str(free_port()),
    ]
    with open(log, "ab") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)


def committed(group: str, topic: str, admin: KafkaAdminClient) -> int:
    offsets = admin.list_group_offsets(group).get(group, {})
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset > 0)


def time_consumption(
    group: str, topic: str, total: int, proc: subprocess.Popen[bytes], timeout: float = 600
) -> tuple[float, int]:
    """Seconds from the group's first commit until it has committed `total` messages,
    and how many were already committed at that first observation (start-up excluded)."""
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    try:
        deadline = time.monotonic() + timeout
        start: float | None = None
        base = 0
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{group}: the consumer exited with {proc.returncode}")
            done = committed(group, topic, admin)
            if start is None and done > 0:
                start, base = time.perf_counter(), done
            if done >= total and start is not None:
                return time.perf_counter() - start, base
            time.sleep(0.05)
        raise TimeoutError(f"group {group} did not finish {total} messages in {timeout}s")
    finally:
        admin.close()


def end_offsets(topic: str) -> int:
    from kafka import KafkaConsumer

    c = KafkaConsumer(bootstrap_servers=BOOTSTRAP)
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        return sum(c.end_offsets(tps).values())
    finally:
        c.close()


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
