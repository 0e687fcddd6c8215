"""Takeover after a kill -9: how soon the survivor of two workers serves the dead one's
partitions, how soon it alerts on them, and whether any alert is lost.

    .venv/bin/python bench/takeover.py [--partitions 12] [--dossiers 3000] [--no-baseline]

Two workers (RocksDB stores, each its own data directory) share the topics' partitions.
Dossiers are received, each dated when sent, with an appointment date (explicit due)
spread over `--window` seconds starting `--lead` seconds after the planned kill, and a
trickle of unrelated live events keeps every partition's stream clock fed.  Once the
workers have read them (and the standbys copied their state), one worker is killed with
SIGKILL.  Measured from the kill:
(a) until the survivor's /health lists every partition and answers "ok" (owns them and
    is done restoring them);
(b) until the first overdue alert of a dossier on a partition the dead worker held;
(c) alerts lost: the overdue alerts the core fires when it replays the same receipts up
    to the last due instant, missing from the alerts topic (duplicates are counted apart:
    delivery is at least once, consumers dedupe by id), and unexpected: overdue alerts
    the replay does not fire (false alarms).
The baseline, in the same run, is the worker as it was before (Faust's defaults: no
standby, a 60 s session, 3 s heartbeats); `--no-baseline` skips it (about 90 s).
Target (issue #17): (a) and (b) ≤ 10 s, 0 alerts lost, none unexpected.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from benchlib import emit, environment, table
from kafka import KafkaConsumer, KafkaProducer
from kafka.partitioner.default import murmur2
from kafka_bench import (
    BOOTSTRAP,
    BREACH_ONLY,
    LOCAL,
    delete_topics,
    ensure_broker,
    fresh_topics,
    health,
    live_event,
    percentile,
    produce_all,
    start_worker,
    stop,
    web_port,
)

from streams.cli.common import policy_book
from streams.contract.events import event_from_dict
from streams.core.engine import Engine

TARGET_S = 10.0
BEFORE = (
    "--standby-replicas",
    "0",
    "--session-timeout",
    "60",
    "--heartbeat-interval",
    "3",
    "--rebalance-timeout",
    "60",
)
"""The worker before issue #17: Faust's defaults."""


def partition_of(key: str, partitions: int) -> int:
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def receipt(dossier: str, due: float) -> dict[str, Any]:
    data = {"procedure": "P", "unit": "A", "due": datetime.fromtimestamp(due, LOCAL).isoformat()}
    return live_event(dossier, f"{dossier}-received", "dossier.received", data)


def expected_alerts(receipts: list[dict[str, Any]], policy: Path, until: float) -> set[str]:
    """The ids of the overdue alerts the core fires on the same receipts by `until`."""
    engine = Engine(policy_book([str(policy)]))
    alerts = engine.drain([event_from_dict(r) for r in receipts])
    alerts += engine.advance(int(until) + 1)
    return {a.id for a in alerts if a.status == "firing" and a.level == "overdue"}


def trickle(topic: str, rate: float, stop_at: threading.Event) -> None:
    """Unrelated live events at `rate` per second, on keys spread over every partition."""
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, linger_ms=0)
    i = 0
    while not stop_at.is_set():
        key = f"LIVE-{i:07d}"
        body = live_event(key, f"{key}-assigned", "dossier.assigned", {"unit": "A"})
        producer.send(topic, key=key.encode(), value=json.dumps(body).encode())
        i += 1
        stop_at.wait(1 / rate)
    producer.flush(10)
    producer.close()


@dataclass
class Overdue:
    """The overdue alerts read from the alerts topic: (alert id, dossier, record time)."""

    seen: list[tuple[str, str, float]] = field(default_factory=list)

    def read(self, topic: str, stop_at: threading.Event) -> None:
        consumer = KafkaConsumer(topic, bootstrap_servers=BOOTSTRAP, auto_offset_reset="earliest")
        while not stop_at.is_set():
            for batch in consumer.poll(timeout_ms=300).values():
                for alert, ts in ((json.loads(m.value), m.timestamp) for m in batch):
                    if (alert["level"], alert["status"]) == ("overdue", "firing"):
                        self.seen.append((alert["id"], alert["dossier"], ts / 1000))
        consumer.close()


@dataclass
class Outcome:
    partitions: int
    dossiers: int
    killed_partitions: list[int]
    owns_all_s: float | None
    """Kill → the survivor's /health lists every partition (perhaps still restoring)."""
    ready_s: float | None
    """Kill → every partition listed and /health "ok"."""
    first_alert_s: float | None
    """Kill → the first overdue alert of a dossier on a taken-over partition."""
    taken_over_late_max_s: float | None
    """Latest alert on a taken-over partition after its due instant (its due came during
    the takeover or after)."""
    own_late_p50_s: float | None
    """The survivor's own partitions, for comparison: median lateness."""
    expected: int
    lost: int
    unexpected: int
    """Overdue alerts the replay does not fire: a false alarm (e.g. a stale tick fired
    on a state that lacked its dossier's events)."""
    duplicates: int

    def met(self, target: float = TARGET_S) -> bool:
        return (
            self.ready_s is not None
            and self.ready_s <= target
            and self.first_alert_s is not None
            and self.first_alert_s <= target
            and self.lost == 0
            and self.unexpected == 0
        )


def wait_for(pred: Any, timeout: float, step: float = 0.3) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return False


def run(
    *,
    partitions: int,
    dossiers: int,
    lead: float,
    window: float,
    settle: float,
    trickle_rate: float,
    workdir: Path,
    worker_flags: tuple[str, ...] = (),
    grace: float = 30.0,
) -> Outcome:
    """One takeover, start to end, on fresh topics (deleted afterwards)."""
    prefix, topics = fresh_topics("takeover", partitions)
    policy = workdir / "policy.toml"
    policy.write_text(BREACH_ONLY)
    group = f"bench-takeover-{uuid.uuid4().hex[:6]}"
    flags = ("--partitions", str(partitions), "--policy", str(policy), "--log-level", "info")
    workers = [
        start_worker(
            prefix,
            group,
            workdir / f"{group}-{name}.log",
            *flags,
            *worker_flags,
            store="rocksdb://",
            data_dir=workdir / f"{group}-{name}",
        )
        for name in ("a", "b")
    ]
    victim = workers[1]
    ports = [web_port(w) for w in workers]
    stop_at = threading.Event()
    threads: list[threading.Thread] = []
    try:

        def split() -> bool:
            answers = [health(p) for p in ports]
            if any(a is None or a.get("status") != "ok" for a in answers):
                return False
            owned = [set(a["assigned_partitions"]) for a in answers if a]
            return all(owned) and sorted(owned[0] | owned[1]) == list(range(partitions))

        if not wait_for(split, 120):
            raise RuntimeError(f"the two workers never split the partitions (logs: {workdir})")
        t_kill = time.time() + settle
        # Whole seconds: the core judges due instants to the second.
        dues = {
            f"TK-{i:06d}": float(int(t_kill + lead + i * window / dossiers))
            for i in range(dossiers)
        }
        receipts = [receipt(d, due) for d, due in dues.items()]
        produce_all(
            topics["events"], ((r["subject"].encode(), json.dumps(r).encode()) for r in receipts)
        )
        overdue = Overdue()
        threads = [
            threading.Thread(target=overdue.read, args=(topics["alerts"], stop_at), daemon=True),
            threading.Thread(
                target=trickle, args=(topics["events"], trickle_rate, stop_at), daemon=True
            ),
        ]
        for t in threads:
            t.start()
        time.sleep(max(0.0, t_kill - time.time()))
        before = health(ports[1]) or {}
        killed = sorted(before.get("assigned_partitions", []))
        victim.kill()
        t_kill = time.time()
        victim.wait(10)
        owns_all_at = ready_at = None
        all_partitions = list(range(partitions))
        while time.time() < t_kill + 120 and ready_at is None:
            h = health(ports[0]) or {}
            if sorted(h.get("assigned_partitions", [])) == all_partitions:
                owns_all_at = owns_all_at or time.time()
                if h.get("status") == "ok":
                    ready_at = time.time()
            time.sleep(0.05)
        expected = expected_alerts(receipts, policy, max(dues.values()))
        wait_for(
            lambda: expected <= {a for a, _, _ in overdue.seen},
            max(dues.values()) + grace - time.time(),
        )
        stop_at.set()
        for t in threads:
            t.join(10)
        taken = set(killed)
        mine = [(d, ts) for _, d, ts in overdue.seen if partition_of(d, partitions) in taken]
        own = [
            ts - dues[d] for _, d, ts in overdue.seen if partition_of(d, partitions) not in taken
        ]
        ids = [a for a, _, _ in overdue.seen]
        return Outcome(
            partitions=partitions,
            dossiers=dossiers,
            killed_partitions=killed,
            owns_all_s=None if owns_all_at is None else round(owns_all_at - t_kill, 2),
            ready_s=None if ready_at is None else round(ready_at - t_kill, 2),
            first_alert_s=round(min(ts for _, ts in mine) - t_kill, 2) if mine else None,
            taken_over_late_max_s=round(max(ts - dues[d] for d, ts in mine), 2) if mine else None,
            own_late_p50_s=round(percentile(own, 0.5), 3) if own else None,
            expected=len(expected),
            lost=len(expected - set(ids)),
            unexpected=len(set(ids) - expected),
            duplicates=len(ids) - len(set(ids)),
        )
    finally:
        stop_at.set()
        for w in workers:
            stop(w)
        delete_topics(topics.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partitions", type=int, default=12)
    parser.add_argument("--dossiers", type=int, default=3000)
    parser.add_argument("--lead", type=float, default=1.0, help="kill → first due instant (s)")
    parser.add_argument("--window", type=float, default=30.0, help="due instants spread (s)")
    parser.add_argument("--settle", type=float, default=8.0, help="receipts sent → kill (s)")
    parser.add_argument("--trickle", type=float, default=20.0, help="live events per second")
    parser.add_argument("--no-baseline", action="store_true", help="skip the old settings")
    args = parser.parse_args()
    ensure_broker()
    workdir = Path(tempfile.mkdtemp(prefix="dw-takeover-"))
    common = {
        "partitions": args.partitions,
        "dossiers": args.dossiers,
        "lead": args.lead,
        "window": args.window,
        "settle": args.settle,
        "trickle_rate": args.trickle,
        "workdir": workdir,
    }
    runs = {"now": run(**common)}  # type: ignore[arg-type]
    if not args.no_baseline:
        # The old 60 s session needs a window past it, or every due would fall in it.
        runs["before"] = run(**{**common, "window": 90.0}, worker_flags=BEFORE)  # type: ignore[arg-type]
    rows = [
        [
            name,
            o.owns_all_s,
            o.ready_s,
            o.first_alert_s,
            o.taken_over_late_max_s,
            o.own_late_p50_s,
            o.expected,
            o.lost,
            o.unexpected,
            o.duplicates,
        ]
        for name, o in runs.items()
    ]
    print(
        f"{args.partitions} partitions, 2 workers (RocksDB), {args.dossiers:,} dossiers due"
        f" from {args.lead:g} s after the kill, {args.trickle:g} live events/s; logs: {workdir}"
    )
    print(
        table(
            [
                "settings",
                "owns all s",
                "ready s",
                "1st alert s",
                "late max s",
                "own late p50 s",
                "expected",
                "lost",
                "unexpected",
                "dup",
            ],
            rows,
        )
    )
    now = runs["now"]
    print(
        f"takeover (kill → ready) {now.ready_s} s, first alert on a taken-over partition"
        f" {now.first_alert_s} s, {now.lost} lost, {now.unexpected} unexpected"
        f" (target ≤ {TARGET_S:g} s, 0 lost, 0 unexpected):"
        f" {'MET' if now.met() else 'NOT MET'}"
    )
    emit(
        {
            "bench": "takeover",
            **{name: asdict(o) for name, o in runs.items()},
            "met": now.met(),
            **environment(),
        }
    )


if __name__ == "__main__":
    main()
