"""Recovery: a worker with an empty data directory restoring 1,000,000 open dossiers from
the `dossiers` table's changelog, until it is ready to judge them.

    .venv/bin/python bench/recovery.py [--dossiers 1000000] [--partitions 6]

The changelog is filled directly, as Faust writes it: raw key (the dossier id) and raw
value (the packed state, streams/core/store.py via the worker's own `TableStates`), on
the key's partition (murmur2, as the worker's tables).  The states are those of real
stories (receipt, transfer, assignment: bench/memory_per_dossier.py's) applied by the
engine for `--templates` dossiers, then given to every id in turn: a state never holds
its dossier's id.  Then, timed:
(a) the baseline: a bare kafka-python consumer reading the whole changelog;
(b) the worker, started with an empty data directory: from its start until /health
    answers "ok" with every dossier in its deadline index (restore, then the index
    rebuilt from the table), /health polled every 0.2 s meanwhile (how often it said
    "recovering"), and its log's progress lines ("recovering: N of M records") counted,
    with the longest gap between two.
Target (issue #17): (b) ≤ 60 s for 1,000,000 dossiers on this machine.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from benchlib import emit, environment, rate, table
from kafka import KafkaAdminClient, KafkaConsumer
from kafka.admin import NewTopic
from kafka.structs import TopicPartition
from kafka_bench import (
    BOOTSTRAP,
    delete_topics,
    ensure_broker,
    fresh_topics,
    health,
    produce_all,
    start_worker,
    stop,
    web_port,
)
from memory_per_dossier import events

from streams.contract.events import decode_event
from streams.core.engine import Engine
from streams.policy import builtin_book
from streams.worker.core import TableStates
from streams.worker.topics import COMPACTED, TABLES, changelog_topic

TARGET_S = 60.0
PROGRESS = re.compile(r"recovering: ([\d,]+) of ([\d,]+) records")


def template_states(n: int) -> list[bytes]:
    """The packed states of `n` real dossiers, as the worker writes them to its table."""
    states = TableStates({})
    engine = Engine(builtin_book(), store=states)
    for raw in events(n, engine.book):
        engine.apply(decode_event(raw))
    return [v for v in states.take_writes().values() if v is not None]


def changelog(dossiers: int, templates: list[bytes]) -> Iterator[tuple[bytes, bytes]]:
    for i in range(dossiers):
        yield f"REC-{i:07d}".encode(), templates[i % len(templates)]


def bare_read(topic: str, partitions: int, total: int) -> float:
    """Seconds a bare consumer takes to read `total` records of `topic` from the start."""
    consumer = KafkaConsumer(
        bootstrap_servers=BOOTSTRAP,
        enable_auto_commit=False,
        fetch_max_bytes=32 * 1024 * 1024,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
    consumer.seek_to_beginning()
    started, seen = time.perf_counter(), 0
    try:
        while seen < total:
            seen += sum(len(b) for b in consumer.poll(timeout_ms=500, max_records=50_000).values())
        return time.perf_counter() - started
    finally:
        consumer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--templates", type=int, default=20_000)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    ensure_broker()
    workdir = Path(tempfile.mkdtemp(prefix="dw-recovery-"))
    app_id = f"bench-recovery-{uuid.uuid4().hex[:6]}"
    prefix, topics = fresh_topics("recovery", args.partitions)
    changelogs = [changelog_topic(app_id, name) for name in TABLES]
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    admin.create_topics(
        [NewTopic(t, args.partitions, 1, topic_configs=COMPACTED) for t in changelogs]
    )
    admin.close()
    worker = None
    try:
        templates = template_states(args.templates)
        size = sum(map(len, templates)) / len(templates)
        started = time.perf_counter()
        produce_all(changelogs[0], changelog(args.dossiers, templates))
        produced_s = time.perf_counter() - started
        bare_s = bare_read(changelogs[0], args.partitions, args.dossiers)
        log = workdir / "worker.log"
        flags = ("--partitions", str(args.partitions), "--log-level", "info")
        t0 = time.monotonic()
        worker = start_worker(
            prefix, app_id, log, *flags, store="rocksdb://", data_dir=workdir / "data"
        )
        port = web_port(worker)
        said: dict[str, int] = {}
        ready_s = None
        while time.monotonic() < t0 + args.timeout:
            if worker.poll() is not None:
                raise RuntimeError(f"the worker exited {worker.returncode}; log: {log}")
            h = health(port) or {}
            status = str(h.get("status", "no answer"))
            said[status] = said.get(status, 0) + 1
            if status == "ok" and h.get("dossiers_waiting_for_a_deadline", 0) >= args.dossiers:
                ready_s = time.monotonic() - t0
                break
            time.sleep(0.2)
        text = log.read_text(errors="replace")
        lines = [json.loads(x) for x in text.splitlines() if x.startswith("{")]
        progress = [x for x in lines if PROGRESS.match(str(x.get("event", "")))]
        stamps = [datetime.fromisoformat(x["timestamp"].rstrip("Z")) for x in progress]
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(stamps)]
        gap = max(gaps, default=float("nan"))
        done = [x["event"] for x in lines if str(x.get("event", "")).startswith("recovered:")]
    finally:
        if worker is not None:
            stop(worker)
        delete_topics([*topics.values(), *changelogs])
    print(
        f"{args.dossiers:,} dossier states ({size:.0f} bytes each on average, from"
        f" {len(templates):,} real stories) in {args.partitions} changelog partitions,"
        f" produced in {produced_s:.1f} s; log: {log}"
    )
    print(
        table(
            ["reader", "seconds", "records/s"],
            [
                ["(a) bare consumer, whole changelog", bare_s, rate(args.dossiers, bare_s)],
                [
                    "(b) worker: start → ready (restored, index rebuilt)",
                    ready_s if ready_s is not None else float("nan"),
                    rate(args.dossiers, ready_s) if ready_s else float("nan"),
                ],
            ],
        )
    )
    print(f"/health meanwhile: {', '.join(f'{k} ×{v}' for k, v in said.items())}")
    print(
        f"progress lines: {len(progress)}, longest gap {gap:.0f} s; "
        f"{done[-1] if done else 'no recovered line'}"
    )
    met = ready_s is not None and ready_s <= TARGET_S
    print(
        f"recovery of {args.dossiers:,} dossiers:"
        f" {ready_s if ready_s is None else round(ready_s, 1)} s"
        f" (target ≤ {TARGET_S:g} s): {'MET' if met else 'NOT MET'}"
    )
    emit(
        {
            "bench": "recovery",
            "dossiers": args.dossiers,
            "bare_s": round(bare_s, 2),
            "ready_s": None if ready_s is None else round(ready_s, 2),
            "health": said,
            "progress_lines": len(progress),
            "progress_gap_max_s": gap,
            "met": met,
            **environment(),
        }
    )


if __name__ == "__main__":
    main()
