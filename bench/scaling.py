"""Events/s with 1, 2 and 4 workers on 12 partitions, through the real broker, in one run.

    .venv/bin/python bench/scaling.py [--events 120000] [--workers 1,2,4]

For each worker count a fresh consumer group (a fresh app id) of that many
`dossierwatch worker` processes is started on an empty 12-partition events topic and
left to settle (the group Stable with every member holding partitions), so start-up and
the join rebalances are not timed.  Then the same pre-encoded simulated events are
produced as fast as the producer goes, and the time from the group's first offset commit
to its last is measured.  Each count gets topics of its own (the same events in each).

What it shows on this machine: the worker is CPU-bound in one Python process (one core
each), so going from 1 to 2 workers may gain at most the second core, minus what the
broker (a JVM on the same 2 cores) and the producer take; past 2 workers there is no core
left, and 4 workers only add rebalancing and context switches.  On a machine with a core
per worker the curve keeps rising until the partitions (12) run out.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from benchlib import environment, table
from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka_bench import (
    BOOTSTRAP,
    delete_topics,
    ensure_broker,
    produce_all,
    start_worker,
    stop,
    time_consumption,
)

from producers.simulator import simulate
from streams.contract.events import encode_event, event_from_dict

PARTITIONS = 12


def topics_for(tag: str) -> tuple[str, list[str]]:
    """A prefix and its four topics with PARTITIONS partitions, created empty."""
    prefix = f"bench-scaling-{tag}-{uuid.uuid4().hex[:6]}-"
    names = [f"{prefix}dossier-{s}" for s in ("events", "alerts", "events-dlq", "ticks")]
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    try:
        admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in names])
    finally:
        admin.close()
    return prefix, names


def wait_stable(group: str, members: int, timeout: float = 180) -> float:
    """Seconds until the group is Stable with `members` members."""
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    started = time.monotonic()
    try:
        while time.monotonic() - started < timeout:
            # Faust's own assignor ("faust" protocol) encodes assignments its own way, so
            # the members are counted, not their partitions: Stable means every member
            # got its share.
            info = admin.describe_groups([group]).get(group, {})
            if info.get("group_state") == "Stable" and len(info.get("members", [])) == members:
                return time.monotonic() - started
            time.sleep(0.5)
    finally:
        admin.close()
    raise TimeoutError(f"group {group} not stable with {members} members in {timeout:.0f} s")


def events(n: int) -> list[tuple[bytes, bytes]]:
    items = []
    start = datetime(2025, 9, 1, 1, tzinfo=UTC)
    for raw in simulate(seed=5, start=start, per_working_day=3000):
        e = event_from_dict(raw)
        items.append((e.subject.encode(), encode_event(e)))
        if len(items) >= n:
            break
    return items


def run_with(workers: int, items: list[tuple[bytes, bytes]], logs: Path) -> dict[str, float]:
    prefix, names = topics_for(f"w{workers}")
    group = f"bench-scaling-{workers}-{uuid.uuid4().hex[:6]}"
    data = Path(tempfile.mkdtemp(prefix="dw-scaling-"))
    procs = [
        start_worker(
            prefix,
            group,
            logs / f"{workers}-workers-{i}.log",
            "--partitions",
            str(PARTITIONS),
            "--data-dir",
            str(data / str(i)),
        )
        for i in range(workers)
    ]
    try:
        settle = wait_stable(group, workers)
        total = produce_all(names[0], items)
        seconds, base = time_consumption(group, names[0], total, procs[0])
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError(f"a worker exited with {p.returncode}: see {logs}")
        return {"eps": (total - base) / seconds, "seconds": seconds, "settle_s": settle}
    finally:
        for p in procs:
            stop(p)
        delete_topics(names)
        shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=120_000)
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated")
    args = parser.parse_args()
    counts = [int(c) for c in args.workers.split(",")]
    ensure_broker()
    logs = Path(tempfile.mkdtemp(prefix="dw-bench-scaling-"))
    items = events(args.events)
    results = {n: run_with(n, items, logs) for n in counts}
    one = results[counts[0]]["eps"]
    rows = [
        (
            n,
            f"{r['eps']:,.0f}",
            f"{r['eps'] / one:.2f}",
            f"{r['eps'] / one / (n / counts[0]):.2f}",
            f"{r['settle_s']:.1f}",
        )
        for n, r in results.items()
    ]
    print(f"{len(items):,} events, {PARTITIONS} partitions, {os.cpu_count()} cores; logs {logs}")
    print(table(("workers", "events/s", "speed-up", "efficiency", "group settled (s)"), rows))
    best = max(results, key=lambda n: results[n]["eps"])
    print(
        f"stops scaling at {best} worker(s) here: each worker is one Python process on one"
        f" core and this machine has {os.cpu_count()} (the broker shares them)"
    )
    print(
        json.dumps(
            {
                "bench": "scaling",
                "events": len(items),
                "partitions": PARTITIONS,
                "workers": {str(n): round(r["eps"]) for n, r in results.items()},
                **environment(),
            }
        )
    )


if __name__ == "__main__":
    main()
