"""Breach lateness on a live source: how long after its due instant a dossier that
receives no further event is reported overdue, with 100,000 dossiers open at once.

    .venv/bin/python bench/breach_lateness.py [--dossiers 100000] [--spread 120]

All dossiers are received (each event dated when it is made, as a live source does) with
an appointment date (explicit due) spread over `--spread` seconds, starting once the
worker has read them all.  Meanwhile the source stays live: a trickle of unrelated events
(`--trickle` per second) keeps every partition's stream clock fed, as the handling
systems of a centre do during office hours.  Lateness in wall time = the overdue alert's
record timestamp minus the due instant; in stream time = that minus how far the source's
stream clock was behind the wall clock (`dossierwatch_source_behind_seconds`, sampled).
The bench policy keeps the deadline rules but drops the near-due warnings, so every tick
is a breach.  Target from the issue: p99 ≤ 1 s on a live source.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer
from kafka_bench import (
    BOOTSTRAP,
    delete_topics,
    end_offsets,
    ensure_broker,
    fresh_topics,
    percentile,
    produce_all,
    start_worker,
    stop,
)

LOCAL = timezone(timedelta(hours=7))
POLICY = """
[policy]
name = "bench-breach-only"
effective_from = 2000-01-01
[deadline]
warning_fractions = []
"""


def health(port: str) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
            result: dict[str, object] = json.loads(r.read())
            return result
    except OSError:
        return None


done_trickling = threading.Event()


def event(dossier: str, kind: str, data: dict[str, object]) -> tuple[bytes, bytes]:
    """One live event, dated when it is made."""
    body = {
        "specversion": "1.0",
        "id": f"{dossier}-{kind}",
        "source": "bench",
        "type": kind,
        "time": datetime.now(LOCAL).isoformat(),
        "subject": dossier,
        "data": data,
    }
    return dossier.encode(), json.dumps(body).encode()


def trickle(topic: str, rate: float, stop: threading.Event, port: str, behind: list[float]) -> None:
    """Unrelated live events at `rate` per second until `stop`; samples how far the
    source's stream clock is behind the wall clock every second."""
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, linger_ms=0)
    i, last_sample = 0, 0.0
    while not stop.is_set():
        key, value = event(f"LIVE-{i:07d}", "dossier.assigned", {"unit": "A"})
        producer.send(topic, key=key, value=value)
        i += 1
        if time.monotonic() - last_sample >= 1.0:
            last_sample = time.monotonic()
            gap = source_behind(port)
            if gap is not None:
                behind.append(gap)
        time.sleep(1 / rate)
    producer.flush(10)
    producer.close()


def source_behind(port: str) -> float | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            for line in r.read().decode().splitlines():
                if line.startswith('dossierwatch_source_behind_seconds{source="bench"}'):
                    return float(line.rsplit(" ", 1)[1])
    except OSError:
        return None
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dossiers", type=int, default=100_000)
    parser.add_argument("--spread", type=float, default=120.0)
    parser.add_argument(
        "--lead", type=float, default=90.0, help="seconds between sending and the first due instant"
    )
    parser.add_argument(
        "--trickle", type=float, default=20.0, help="unrelated live events per second meanwhile"
    )
    args = parser.parse_args()
    ensure_broker()
    prefix, topics = fresh_topics("breach")
    logs = Path(tempfile.mkdtemp(prefix="dw-bench-"))
    policy = logs / "policy.toml"
    policy.write_text(POLICY)
    group = f"bench-breach-{uuid.uuid4().hex[:6]}"
    worker = start_worker(prefix, group, logs / "worker.log", "--policy", str(policy))
    port = worker.args[worker.args.index("--web-port") + 1]  # type: ignore[union-attr]
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            h = health(port)
            if h and h["assigned_partitions"]:
                break
            time.sleep(0.3)
        now = datetime.now(LOCAL).replace(microsecond=0)
        first_due = now + timedelta(seconds=args.lead)
        dues: dict[str, float] = {}
        for i in range(args.dossiers):
            due = first_due + timedelta(seconds=int(i * args.spread / args.dossiers))
            dues[f"BR-{i:07d}"] = due.timestamp()

        def receipts() -> Iterator[tuple[bytes, bytes]]:
            for dossier, due in dues.items():
                yield event(
                    dossier,
                    "dossier.received",
                    {
                        "procedure": "P",
                        "unit": "A",
                        "due": datetime.fromtimestamp(due, LOCAL).isoformat(),
                    },
                )

        t_send = time.monotonic()
        produce_all(topics["events"], receipts())
        sent_s = time.monotonic() - t_send
        behind: list[float] = []
        trickler = threading.Thread(
            target=trickle,
            args=(topics["events"], args.trickle, done_trickling, port, behind),
            daemon=True,
        )
        trickler.start()
        late: dict[str, float] = {}
        done = threading.Event()

        def read() -> None:
            consumer = KafkaConsumer(
                topics["alerts"],
                bootstrap_servers=BOOTSTRAP,
                auto_offset_reset="earliest",
                consumer_timeout_ms=500,
            )
            while not done.is_set():
                for m in consumer:
                    alert = json.loads(m.value)
                    if alert["level"] == "overdue" and alert["status"] == "firing":
                        late[alert["dossier"]] = m.timestamp / 1000 - dues[alert["dossier"]]
            consumer.close()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        # Was everything read before the first due instant? (Otherwise lateness would
        # measure the backlog, not the timers.)
        total = end_offsets(topics["events"])
        read_all_at = None
        while time.monotonic() < t_send + args.lead + args.spread + 120:
            h = health(port)
            if (
                read_all_at is None
                and h
                and h.get("dossiers_waiting_for_a_deadline") == args.dossiers
            ):
                read_all_at = time.time()
            if len(late) >= args.dossiers:
                break
            time.sleep(0.5)
        done.set()
        done_trickling.set()
        reader.join(5)
        trickler.join(5)
        values = list(late.values())
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        lag = percentile(behind, 0.5) if behind else 0.0
        stream = [v - lag for v in values]
        s50, s99 = percentile(stream, 0.5), percentile(stream, 0.99)
        ready = "before" if read_all_at and read_all_at < first_due.timestamp() else "AFTER"
        print(
            f"{args.dossiers:,} open dossiers (sent in {sent_s:.1f} s, {total:,} events), "
            f"all read {ready} the first due instant"
        )
        print(
            f"overdue alerts: {len(values):,}; wall-time lateness p50 {p50 * 1000:.0f} ms, "
            f"p99 {p99 * 1000:.0f} ms, max {max(values) * 1000:.0f} ms (target p99 ≤ 1 s: "
            f"{'MET' if p99 <= 1.0 else 'NOT MET'})"
        )
        print(
            f"stream clock behind the wall clock: median {lag * 1000:.0f} ms over"
            f" {len(behind)} samples; stream-time lateness p50 {s50 * 1000:.0f} ms,"
            f" p99 {s99 * 1000:.0f} ms ({'MET' if s99 <= 1.0 else 'NOT MET'})"
        )
        print(
            json.dumps(
                {
                    "bench": "breach_lateness",
                    "dossiers": args.dossiers,
                    "alerts": len(values),
                    "p50_ms": round(p50 * 1000),
                    "p99_ms": round(p99 * 1000),
                    "stream_p50_ms": round(s50 * 1000),
                    "stream_p99_ms": round(s99 * 1000),
                    "clock_behind_ms": round(lag * 1000),
                    "max_ms": round(max(values) * 1000),
                    "read_before_first_due": ready == "before",
                }
            )
        )
    finally:
        stop(worker)
        delete_topics(topics.values())


if __name__ == "__main__":
    main()
