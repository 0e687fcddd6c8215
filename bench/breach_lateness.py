"""Breach lateness in live mode: how long after its due instant a dossier that receives
no further event is reported overdue, with 100,000 dossiers open at once.

    .venv/bin/python bench/breach_lateness.py [--dossiers 100000] [--spread 120]

All dossiers are received now with an appointment date (explicit due) spread over
`--spread` seconds, starting once the worker has read them all.  Lateness = the overdue
alert's record timestamp minus the due instant.  The bench policy keeps the deadline
rules but drops the near-due warnings, so every tick is a breach.
Target from the issue: p99 ≤ 1 s.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from kafka import KafkaConsumer
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dossiers", type=int, default=100_000)
    parser.add_argument("--spread", type=float, default=120.0)
    parser.add_argument(
        "--lead", type=float, default=90.0, help="seconds between sending and the first due instant"
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
        items = []
        for i in range(args.dossiers):
            dossier = f"BR-{i:07d}"
            due = first_due + timedelta(seconds=int(i * args.spread / args.dossiers))
            dues[dossier] = due.timestamp()
            items.append(
                (
                    dossier.encode(),
                    json.dumps(
                        {
                            "specversion": "1.0",
                            "id": f"{dossier}-r",
                            "source": "bench",
                            "type": "dossier.received",
                            "time": now.isoformat(),
                            "subject": dossier,
                            "data": {"procedure": "P", "unit": "A", "due": due.isoformat()},
                        }
                    ).encode(),
                )
            )
        t_send = time.monotonic()
        produce_all(topics["events"], items)
        sent_s = time.monotonic() - t_send
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
        reader.join(5)
        values = list(late.values())
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        ready = "before" if read_all_at and read_all_at < first_due.timestamp() else "AFTER"
        print(
            f"{args.dossiers:,} open dossiers (sent in {sent_s:.1f} s, {total:,} events), "
            f"all read {ready} the first due instant"
        )
        print(
            f"overdue alerts: {len(values):,}; lateness p50 {p50 * 1000:.0f} ms, "
            f"p99 {p99 * 1000:.0f} ms, max {max(values) * 1000:.0f} ms (target p99 ≤ 1 s)"
        )
        print(
            json.dumps(
                {
                    "bench": "breach_lateness",
                    "dossiers": args.dossiers,
                    "alerts": len(values),
                    "p50_ms": round(p50 * 1000),
                    "p99_ms": round(p99 * 1000),
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
