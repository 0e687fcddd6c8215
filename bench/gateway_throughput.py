"""The ingest gateway through the real broker: throughput against a bare producer, and
request latency at a paced rate.

    .venv/bin/python bench/gateway_throughput.py [--events 50000] [--seconds 15]

(needs the local broker: `make kafka-up`; about a minute.)  The same simulated events,
pre-encoded, go (a) from a bare kafka-python producer (acks=all, idempotent, the
gateway's linger; key and value only), the baseline, and (b) through a gateway started
as `dossierwatch ingest` in its own process, in batches of 500 with 4 requests in
flight; each side's events/s is from its first send to its last acknowledgement (the
last 202).  Then (c) 1,000 events/s paced for --seconds: a batch of 10 every 10 ms,
each request's latency from send to its 202.  Targets: (b)/(a) ≥ 0.5; p99 of (c) ≤ 100 ms
(the latter is this bench's own bar: a 202 costs one acks=all round trip on top of HTTP).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
from benchlib import emit, environment, rate, ratio, table
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka_bench import BIN, BOOTSTRAP, PARTITIONS, ensure_broker, free_port, percentile, stop

from producers.simulator import simulate
from streams.contract.events import encode_event, event_from_dict

ICT = timezone(timedelta(hours=7))
SOURCE = "dossierwatch-simulator"
BATCH = 500
IN_FLIGHT = 4
PACED_BATCH = 10
TARGET_RATIO = 0.5
TARGET_P99_MS = 100.0


def make_events(n: int) -> list[tuple[bytes, bytes]]:
    """(dossier id, CloudEvent JSON) for `n` simulated events, encoded once, untimed."""
    out: list[tuple[bytes, bytes]] = []
    for e in simulate(seed=7, start=datetime(2025, 7, 7, tzinfo=ICT), per_working_day=5000):
        event = event_from_dict(e)
        out.append((event.subject.encode(), encode_event(event)))
        if len(out) == n:
            return out
    return out


def bare(topic: str, items: list[tuple[bytes, bytes]]) -> float:
    producer = KafkaProducer(
        bootstrap_servers=BOOTSTRAP, acks="all", enable_idempotence=True, linger_ms=5
    )
    producer.partitions_for(topic)
    started = time.perf_counter()
    for key, value in items:
        producer.send(topic, key=key, value=value)
    producer.flush(120)
    seconds = time.perf_counter() - started
    producer.close()
    return seconds


def body(items: list[tuple[bytes, bytes]]) -> bytes:
    return b"[" + b",".join(v for _, v in items) + b"]"


async def through_gateway(url: str, token: str, items: list[tuple[bytes, bytes]]) -> float:
    bodies = [body(items[i : i + BATCH]) for i in range(0, len(items), BATCH)]
    headers = {
        "Content-Type": "application/cloudevents-batch+json",
        "Authorization": f"Bearer {token}",
    }
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    async with aiohttp.ClientSession() as session:

        async def client() -> None:
            while not queue.empty():
                data = queue.get_nowait()
                async with session.post(url, data=data, headers=headers) as r:
                    if r.status != 202:
                        raise RuntimeError(f"gateway answered {r.status}: {await r.text()}")

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(IN_FLIGHT)))
        return time.perf_counter() - started


async def paced(
    url: str, token: str, items: list[tuple[bytes, bytes]], seconds: float
) -> tuple[list[float], int]:
    """Latencies (ms) of batches of PACED_BATCH sent every PACED_BATCH ms (1,000 events/s),
    and how many requests were not answered 202."""
    bodies = [body(items[i : i + PACED_BATCH]) for i in range(0, len(items), PACED_BATCH)]
    count = min(len(bodies), int(seconds * 1000 / PACED_BATCH))
    headers = {
        "Content-Type": "application/cloudevents-batch+json",
        "Authorization": f"Bearer {token}",
    }
    latencies: list[float] = []
    failed = 0
    async with aiohttp.ClientSession() as session:

        async def one(data: bytes) -> None:
            nonlocal failed
            began = time.perf_counter()
            async with session.post(url, data=data, headers=headers) as r:
                await r.read()
                if r.status != 202:
                    failed += 1
            latencies.append((time.perf_counter() - began) * 1000)

        loop = asyncio.get_running_loop()
        start = loop.time() + 0.1
        tasks = []
        for i in range(count):
            await asyncio.sleep(max(0.0, start + i * PACED_BATCH / 1000 - loop.time()))
            tasks.append(asyncio.create_task(one(bodies[i])))
        await asyncio.gather(*tasks)
    return latencies, failed


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the gateway exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                if json.loads(r.read())["kafka"] == "connected":
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError("the gateway did not come up")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    ensure_broker()
    every = make_events(args.events + int(args.seconds * 1000))
    items, paced_items = every[: args.events], every[args.events :]
    tag = f"bench-gateway-{time.monotonic_ns() % 10**8}"
    topics = [f"{tag}-bare", f"{tag}-gateway"]
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in topics])
    work = Path(tempfile.mkdtemp(prefix="dw-bench-gateway-"))
    tokens = work / "ingest-tokens.toml"
    token = subprocess.run(
        [str(BIN), "ingest", "token", "--file", str(tokens), "--name", "bench", "--source", SOURCE],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    port = free_port()
    log = work / "gateway.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                *(str(BIN), "ingest", "--token-file", str(tokens), "--port", str(port)),
                *("--bootstrap", BOOTSTRAP, "--topic", topics[1], "--log-level", "warning"),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/v1/events"
    try:
        wait_ready(port, proc)
        asyncio.run(through_gateway(url, token, items[:BATCH]))  # warm-up, untimed
        bare_s = bare(topics[0], items)
        gateway_s = asyncio.run(through_gateway(url, token, items))
        latencies, failed = asyncio.run(paced(url, token, paced_items, args.seconds))
    finally:
        stop(proc)
        try:
            admin.delete_topics(topics)
        finally:
            admin.close()
    bare_rate, gateway_rate = rate(len(items), bare_s), rate(len(items), gateway_s)
    got = ratio(gateway_rate, bare_rate)
    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    print(
        table(
            ["path", "events", "seconds", "events/s"],
            [
                ["(a) bare kafka-python producer", len(items), bare_s, bare_rate],
                [f"(b) gateway, batches of {BATCH}", len(items), gateway_s, gateway_rate],
            ],
        )
    )
    print(
        f"(b)/(a) = {got}  target >= {TARGET_RATIO}: {'MET' if got >= TARGET_RATIO else 'NOT MET'}"
    )
    print(
        f"(c) paced 1,000 events/s ({PACED_BATCH} per request): {len(latencies):,} requests,"
        f" {failed} not 202, p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(latencies):.1f} ms"
        f"  target p99 <= {TARGET_P99_MS:g} ms:"
        f" {'MET' if p99 <= TARGET_P99_MS and not failed else 'NOT MET'}"
    )
    emit(
        {
            "bench": "gateway_throughput",
            "events": len(items),
            "bare_events_per_s": round(bare_rate),
            "gateway_events_per_s": round(gateway_rate),
            "ratio": got,
            "ratio_met": got >= TARGET_RATIO,
            "paced_requests": len(latencies),
            "paced_failed": failed,
            "p50_ms": round(p50, 1),
            "p99_ms": round(p99, 1),
            "p99_met": p99 <= TARGET_P99_MS and not failed,
            **environment(),
        }
    )
    sys.exit(0)


if __name__ == "__main__":
    main()
