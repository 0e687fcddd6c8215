"""Event → alert latency through the real broker and one worker at a steady event rate.

    .venv/bin/python bench/pipeline_latency.py [--rate 1000] [--seconds 30]

Each simulated dossier is received in unit A, sent to B and returned to A: the third
event is a ping-pong bounce, whose alert the worker must emit.  Latency is the alert
record's timestamp (set by the worker's producer) minus the moment the bounce event was
handed to our producer; the consumer's receive time is reported too.
Target from the issue: p99 ≤ 250 ms at 1,000 events/s.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer
from kafka_bench import (
    BOOTSTRAP,
    delete_topics,
    ensure_broker,
    fresh_topics,
    live_event,
    percentile,
    start_worker,
    stop,
)


def event(dossier: str, n: int, kind: str, data: dict[str, str]) -> bytes:
    return json.dumps(live_event(dossier, f"{dossier}-{n}", kind, data)).encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    ensure_broker()
    prefix, topics = fresh_topics("latency")
    logs = Path(tempfile.mkdtemp(prefix="dw-bench-"))
    group = f"bench-latency-{uuid.uuid4().hex[:6]}"
    worker = start_worker(prefix, group, logs / "worker.log")
    try:
        port = worker.args[worker.args.index("--web-port") + 1]  # type: ignore[union-attr]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                    if json.loads(r.read())["assigned_partitions"]:
                        break
            except OSError:
                pass
            time.sleep(0.3)
        sent_at: dict[str, float] = {}
        received: dict[str, tuple[float, float]] = {}
        stop_reading = threading.Event()

        def read_alerts() -> None:
            consumer = KafkaConsumer(
                topics["alerts"],
                bootstrap_servers=BOOTSTRAP,
                auto_offset_reset="earliest",
                consumer_timeout_ms=200,
                fetch_max_wait_ms=10,
            )
            while not stop_reading.is_set():
                for m in consumer:
                    alert = json.loads(m.value)
                    if alert["rule"] == "ping_pong_unit":
                        received[alert["dossier"]] = (m.timestamp / 1000, time.time())
            consumer.close()

        reader = threading.Thread(target=read_alerts, daemon=True)
        reader.start()
        producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, acks=1, linger_ms=0)
        total = int(args.rate * args.seconds)
        start = time.perf_counter()
        for i in range(total):
            dossier, step = f"LAT-{i // 3:07d}", i % 3
            if step == 0:
                value = event(
                    dossier,
                    0,
                    "dossier.received",
                    {"procedure": "P", "unit": "A", "time_limit": "30wd"},
                )
            elif step == 1:
                value = event(dossier, 1, "dossier.transferred", {"from_unit": "A", "to_unit": "B"})
            else:
                value = event(dossier, 2, "dossier.returned", {"from_unit": "B", "to_unit": "A"})
            target = start + i / args.rate
            delay = target - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            if step == 2:
                sent_at[dossier] = time.time()
            producer.send(topics["events"], key=dossier.encode(), value=value)
        producer.flush()
        achieved = total / (time.perf_counter() - start)
        deadline = time.monotonic() + 60
        while len(received) < len(sent_at) and time.monotonic() < deadline:
            time.sleep(0.2)
        stop_reading.set()
        reader.join(5)
        produced = [received[d][0] - t for d, t in sent_at.items() if d in received]
        consumed = [received[d][1] - t for d, t in sent_at.items() if d in received]
        ms = {
            name: (percentile(v, 0.5) * 1000, percentile(v, 0.99) * 1000, max(v) * 1000)
            for name, v in (("alert produced", produced), ("alert consumed", consumed))
        }
        print(
            f"{total:,} events at {achieved:,.0f}/s; {len(produced):,} of {len(sent_at):,} alerts"
        )
        print(f"{'latency (ms)':<18}{'p50':>8}{'p99':>8}{'max':>8}")
        for name, (p50, p99, top) in ms.items():
            print(f"{name:<18}{p50:>8.1f}{p99:>8.1f}{top:>8.1f}")
        by_time = [
            received[d][0] - t
            for d, t in sorted(sent_at.items(), key=lambda x: x[1])
            if d in received
        ]
        fifth = max(len(by_time) // 5, 1)
        trend = [
            round(percentile(by_time[i : i + fifth], 0.5) * 1000)
            for i in range(0, len(by_time), fifth)
        ]
        print(f"median by fifth of the run (ms): {trend}")
        print("target: p99 ≤ 250 ms (alert produced)")
        print(
            json.dumps(
                {
                    "bench": "pipeline_latency",
                    "rate": round(achieved),
                    "alerts": len(produced),
                    "expected_alerts": len(sent_at),
                    "p50_ms": round(ms["alert produced"][0], 1),
                    "p99_ms": round(ms["alert produced"][1], 1),
                    "consumed_p99_ms": round(ms["alert consumed"][1], 1),
                }
            )
        )
    finally:
        stop(worker)
        delete_topics(topics.values())


if __name__ == "__main__":
    main()
