"""Delivery guarantees measured: alerts lost, and duplicated before and after dedup, across
kill -9, a broker restart and rebalances, through real brokers and worker processes.

    .venv/bin/python bench/guarantees.py [--dossiers 300] [--seconds 30] [--outage 10]
        [--scenarios kill9,kill9-of-two,broker-restart,rebalances] [--store rocksdb://]
        [--repeat 1]

Each scenario gets fresh topics, real `dossierwatch worker` processes (the deployed
RocksDB store unless `--store` says otherwise; a restarted worker keeps its data folder,
as a pod keeps its volume) and the simulator's events fed at a steady pace over
`--seconds` by one idempotent producer, then a pulse per partition (tests/integration/
live.py) so that every partition's stream clock stands at one instant.  The disruption
lands while the events flow:

  kill9           the only worker killed with SIGKILL a third of the way in, restarted
  kill9-of-two    one of two workers killed with SIGKILL; the survivor takes over
  broker-restart  the broker (a private one: other ports, other data) stopped for
                  `--outage` seconds a third of the way in, then started again
  rebalances      a second worker joins, later leaves (SIGTERM), then a third joins

What should fire comes from replaying the same events through the same core (`judged`):
`want` at the pulses' instant, `ceiling` at that instant plus the scenario's duration (the
live clocks run on with the wall clock past the pulses).  Read back from the alerts topic:

  lost               want − the firing ids received (and the same for resolutions)
  dup before dedup   firing messages − distinct firing ids; ids repeated, most copies
  unexpected         ids received beyond the ceiling (a false alarm)
  after dedup (id)   what a consumer keeping the (alert_id header, status) pairs it has
                     seen passes on twice: 0 by construction, counted all the same
  after dedup (AM)   the real deduplicating consumer: `dossierwatch bridge` on the same
                     topic into a real Alertmanager (group_by alert_id, no group wait,
                     a webhook receiver); ids the bridge posted as new more than once, and
                     ids Alertmanager notified as firing more than once
  longest silence    the longest gap between two alerts of one partition: how long the
                     disruption held that partition's alerts back (takeover, outage)

Targets: lost = 0 and after dedup = 0 in every scenario; duplicates before dedup are
allowed (at least once) and measured.  The machine's load average is printed: on a shared
machine the takeover times and the duplicates vary from run to run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# The bench drives the same helpers as the integration tests (a worker process, the model
# of what should fire, Alertmanager, the bridge, a private broker) by importing them, not
# copying them.  tests/integration goes first: its conftest.py (topics, the broker script)
# is the `conftest` that workers.py imports; tests/ holds `helpers`, tests/alerting the
# bridge process.
REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests" / d) for d in ("integration", "alerting")] + [
    str(REPO / "tests")
]

import pytest  # noqa: E402
from alerting_support import BridgeProcess, offsets  # noqa: E402
from benchlib import emit, environment, table  # noqa: E402
from conftest import Topics, create_topics, delete_topics  # noqa: E402
from kafka import KafkaAdminClient, KafkaProducer  # noqa: E402
from kafka_bench import BOOTSTRAP, ensure_broker  # noqa: E402
from live import alert_ids, firing, judged, keyed, pulses  # noqa: E402
from services import AlertmanagerServer, WebhookReceiver  # noqa: E402
from test_broker_outage import Broker  # noqa: E402
from workers import WorkerProcess, collect  # noqa: E402

from producers.simulator import simulate  # noqa: E402
from streams.contract.events import DossierEvent, event_from_dict  # noqa: E402

PARTITIONS = 6
SOURCE = "dossierwatch-simulator"
SCENARIOS = ("kill9", "kill9-of-two", "broker-restart", "rebalances")
HEADERS = ("figure", "value", "target")


def stream(dossiers: int) -> tuple[list[DossierEvent], datetime]:
    """The simulator's events of `dossiers` dossiers, then a pulse per partition a day past
    the last one (where `want` is judged)."""
    start = datetime(2025, 9, 1, 8, 0, tzinfo=UTC)
    events = [
        event_from_dict(e)
        for e in simulate(seed=7, start=start, dossiers=dossiers, per_working_day=80)
    ]
    end = max(e.time for e in events) + timedelta(days=1)
    return events + pulses(end, PARTITIONS, source=SOURCE), end


class Feeder(threading.Thread):
    """One idempotent producer sending the messages at a steady pace over `seconds`; it
    rides out a broker outage (kafka-python retries until its delivery timeout)."""

    def __init__(self, bootstrap: str, topic: str, messages: list[Any], seconds: float) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.messages = bootstrap, topic, messages
        self.interval = seconds / len(messages)
        self.sent = 0
        self.started_at = 0.0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            producer = KafkaProducer(
                bootstrap_servers=self.bootstrap, acks="all", linger_ms=5, enable_idempotence=True
            )
            self.started_at = time.monotonic()
            for i, (key, value) in enumerate(self.messages):
                ahead = self.started_at + i * self.interval - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
                producer.send(self.topic, key=key, value=value)
                self.sent = i + 1
            producer.flush(180)
            producer.close()
        except BaseException as err:  # reported by finish(), in the main thread
            self.error = err

    @property
    def fraction(self) -> float:
        return self.sent / len(self.messages)

    def reach(self, fraction: float) -> None:
        """Wait until `fraction` of the messages went out."""
        while self.fraction < fraction and self.is_alive():
            time.sleep(0.05)

    def finish(self) -> None:
        self.join(300)
        if self.error is not None:
            raise RuntimeError(f"the feeder failed: {self.error!r}")
        if self.is_alive():
            raise RuntimeError("the feeder did not finish in 300 s")


@dataclass
class Stage:
    """What a scenario runs on: a broker, topics, workers of one group, the feeder."""

    bootstrap: str
    topics: Topics
    root: Path
    store: str
    feeder: Feeder
    app_id: str = field(default_factory=lambda: f"bench-guarantees-{uuid.uuid4().hex[:6]}")
    workers: list[WorkerProcess] = field(default_factory=list)
    marks: list[tuple[str, float, float]] = field(default_factory=list)
    """(what happened, seconds since the feed started, share of the events sent by then)."""

    def start(self, name: str) -> WorkerProcess:
        """A worker in the group; the same name again restarts it on its data folder."""
        w = WorkerProcess(
            self.bootstrap,
            self.topics,
            self.root / name,
            app_id=self.app_id,
            log=self.root / f"{name}.log",
            store=self.store,
        )
        self.workers.append(w)
        return w

    def mark(self, what: str) -> None:
        self.marks.append((what, time.monotonic() - self.feeder.started_at, self.feeder.fraction))


def owners(workers: list[WorkerProcess]) -> list[list[int]] | None:
    """Each worker's partitions if together they own every partition exactly once."""
    parts = []
    for w in workers:
        h = w.health()
        if not h or not h.get("assigned_partitions"):
            return None
        parts.append(list(h["assigned_partitions"]))
    flat = sorted(p for ps in parts for p in ps)
    return parts if flat == list(range(PARTITIONS)) else None


def wait_owned(workers: list[WorkerProcess], timeout: float = 180) -> list[list[int]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for w in workers:
            if w.proc.poll() is not None:
                raise RuntimeError(f"worker exited {w.proc.returncode}: {w.tail()}")
        found = owners(workers)
        if found is not None:
            return found
        time.sleep(0.3)
    raise RuntimeError(f"the partitions not split among {len(workers)} worker(s) in {timeout} s")


def kill9(stage: Stage) -> None:
    first = stage.start("w1")
    wait_owned([first])
    stage.feeder.start()
    stage.feeder.reach(1 / 3)
    first.kill9()
    stage.mark("w1 killed (SIGKILL)")
    again = stage.start("w1")
    wait_owned([again])
    stage.mark("w1 restarted owns all partitions")


def kill9_of_two(stage: Stage) -> None:
    one, two = stage.start("w1"), stage.start("w2")
    wait_owned([one, two])
    stage.feeder.start()
    stage.feeder.reach(1 / 3)
    one.kill9()
    stage.mark("w1 killed (SIGKILL)")
    wait_owned([two])
    stage.mark("w2 owns all partitions")


def rebalances(stage: Stage) -> None:
    one = stage.start("w1")
    wait_owned([one])
    stage.feeder.start()
    stage.feeder.reach(0.15)
    two = stage.start("w2")
    stage.mark("w2 started")
    wait_owned([one, two])
    stage.mark("w1 + w2 own the partitions")
    stage.feeder.reach(0.4)
    two.stop()
    stage.mark("w2 left (SIGTERM)")
    wait_owned([one])
    stage.mark("w1 owns all partitions")
    stage.feeder.reach(0.6)
    three = stage.start("w3")
    stage.mark("w3 started")
    wait_owned([one, three])
    stage.mark("w1 + w3 own the partitions")


def broker_restart(broker: Broker, outage: float) -> Callable[[Stage], None]:
    def run(stage: Stage) -> None:
        first = stage.start("w1")
        wait_owned([first])
        stage.feeder.start()
        stage.feeder.reach(1 / 3)
        broker.run("down")
        stage.mark("broker stopped")
        time.sleep(outage)
        broker.run("up")
        stage.mark("broker started again")

    return run


AM_CONFIG = """\
route:
  receiver: hook
  group_by: [alert_id]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 24h
receivers:
  - name: hook
    webhook_configs:
      - url: {url}/
        send_resolved: true
"""
"""One notification per alert id, as soon as Alertmanager has it (no group wait, so that an
alert resolved a second later was still notified as firing), repeated only after a day: a
second firing notification of one id within the run is a duplicate that reached people."""


@dataclass
class Sink:
    """The deduplicating consumer downstream: the bridge into Alertmanager."""

    hook: WebhookReceiver
    alertmanager: AlertmanagerServer
    bridge: BridgeProcess
    group: str


@contextmanager
def sink(bootstrap: str, topic: str, root: Path) -> Iterator[Sink]:
    hook = WebhookReceiver()
    (root / "am").mkdir(parents=True)
    config = root / "am" / "alertmanager.yml"
    config.write_text(AM_CONFIG.format(url=hook.url))
    am = AlertmanagerServer(config, root / "am")
    group = f"bench-guarantees-bridge-{uuid.uuid4().hex[:6]}"
    # The bridge's own re-send interval (60 s), not the tests' 2 s.
    bridge = BridgeProcess(bootstrap, topic, group, am.url, root / "bridge.log", resend_interval=60)
    try:
        bridge.wait_assigned(timeout=120)
        yield Sink(hook, am, bridge, group)
    finally:
        bridge.stop()
        am.stop()
        hook.stop()


def drained(bootstrap: str, s: Sink, topic: str, timeout: float = 120) -> None:
    """Wait until the bridge committed every alert message, then for Alertmanager's flush."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, end = offsets(bootstrap, topic, s.group, PARTITIONS)
        if done >= end:
            break
        time.sleep(0.5)
    time.sleep(3)  # the group interval (1 s) and then some: the last notifications go out


def bridge_counts(events: list[dict[str, Any]]) -> Counter[str]:
    """What the bridge made of the messages: fire (new id), refresh (a repeat while
    firing), resolve, replayed (a repeat of something already ended), unknown, bad."""
    counts: Counter[str] = Counter()
    for e in events:
        if e["event"] == "batch_received":
            kinds = ("fire", "refresh", "resolve", "replayed", "unknown", "bad")
            counts.update({k: e.get(k, 0) for k in kinds})
    return counts


def notified(bodies: list[dict[str, Any]]) -> Counter[str]:
    """Firing notifications per alert id."""
    times: Counter[str] = Counter()
    for body in bodies:
        for a in body.get("alerts", []):
            if a["status"] == "firing":
                times[a["labels"]["alert_id"]] += 1
    return times


def passed_twice(messages: list[Any]) -> int:
    """A consumer that dedupes as docs/guarantees.md says, by the `alert_id` header and the
    status (the id alone would drop a resolution, which carries the id of what it
    resolves): how many alerts it passes on a second time, by their decoded (id, status)."""
    seen: set[tuple[bytes, str]] = set()
    passed: list[tuple[str, str]] = []
    for m in messages:
        body = json.loads(m.value)
        key = (dict(m.headers).get("alert_id", b""), body["status"])
        if key not in seen:
            seen.add(key)
            passed.append((body["id"], body["status"]))
    return len(passed) - len(set(passed))


def longest_silence(messages: list[Any]) -> float:
    """The longest gap (s) between consecutive alerts of one partition of the alerts topic."""
    by_partition: dict[int, list[int]] = {}
    for m in messages:
        by_partition.setdefault(m.partition, []).append(m.timestamp)
    gaps = []
    for stamps in by_partition.values():
        stamps.sort()
        gaps += [(b - a) / 1000 for a, b in itertools.pairwise(stamps)]
    return max(gaps, default=0.0)


@dataclass(frozen=True)
class Expected:
    want: set[str]
    want_resolved: set[str]
    ceiling: set[str]


def figures(
    messages: list[Any], expected: Expected, counts: Counter[str], notes: Counter[str]
) -> dict[str, Any]:
    fired, resolved = alert_ids(messages), alert_ids(messages, "resolved")
    copies = Counter(fired)
    return {
        "want": len(expected.want),
        "firing_messages": len(fired),
        "distinct_ids": len(copies),
        "lost": len(expected.want - set(fired)),
        "lost_ids": sorted(expected.want - set(fired))[:5],
        "dup_before_dedup": len(fired) - len(copies),
        "ids_repeated": sum(1 for n in copies.values() if n > 1),
        "max_copies": max(copies.values(), default=0),
        "unexpected": len(set(fired) - expected.ceiling),
        "unexpected_ids": sorted(set(fired) - expected.ceiling)[:5],
        "want_resolved": len(expected.want_resolved),
        "resolved_messages": len(resolved),
        "lost_resolved": len(expected.want_resolved - set(resolved)),
        "dup_resolved_before_dedup": len(resolved) - len(set(resolved)),
        "after_dedup_id": passed_twice(messages),
        "bridge_fired": counts["fire"],
        "bridge_absorbed": counts["refresh"] + counts["replayed"],
        "after_dedup_bridge": counts["fire"] - len(copies),
        "am_notified_ids": len(notes),
        "after_dedup_am": sum(1 for n in notes.values() if n > 1),
        "longest_silence_s": round(longest_silence(messages), 1),
    }


def met(ok: bool) -> str:
    return "0 MET" if ok else "0 NOT MET"


def report(title: str, f: dict[str, Any], marks: list[tuple[str, float, float]]) -> None:
    rows: list[tuple[object, ...]] = [
        ("expected firing ids (want)", f["want"], ""),
        ("firing messages received", f["firing_messages"], ""),
        ("distinct firing ids", f["distinct_ids"], ""),
        ("lost (want − received)", f["lost"], met(f["lost"] == 0)),
        ("resolutions lost", f["lost_resolved"], met(f["lost_resolved"] == 0)),
        ("duplicated before dedup (messages − ids)", f["dup_before_dedup"], "allowed"),
        ("  ids repeated / most copies of one", f"{f['ids_repeated']} / {f['max_copies']}", ""),
        ("  resolutions duplicated", f["dup_resolved_before_dedup"], "allowed"),
        ("unexpected (beyond the ceiling)", f["unexpected"], met(f["unexpected"] == 0)),
        ("after dedup by (alert_id, status)", f["after_dedup_id"], met(f["after_dedup_id"] == 0)),
        ("bridge: posted new / absorbed repeats", f"{f['bridge_fired']} / {f['bridge_absorbed']}"),
        (
            "after dedup, bridge (new − ids)",
            f["after_dedup_bridge"],
            met(f["after_dedup_bridge"] == 0),
        ),
        ("Alertmanager: ids notified firing", f["am_notified_ids"], ""),
        (
            "after dedup, Alertmanager (ids notified >1)",
            f["after_dedup_am"],
            met(f["after_dedup_am"] == 0),
        ),
        ("longest silence of a partition (s)", f["longest_silence_s"], ""),
    ]
    print(f"\n{title}")
    print(table(HEADERS, [(*r, "")[:3] for r in rows]))
    for key in ("lost_ids", "unexpected_ids"):
        if f[key]:
            print(f"  {key.replace('_', ' ')}: {', '.join(f[key])}")
    for what, at, share in marks:
        print(f"  {at:6.1f} s  ({share:4.0%} of the events sent)  {what}")


def run_scenario(
    bootstrap: str,
    root: Path,
    args: argparse.Namespace,
    script: Callable[[Stage], None],
) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    prefix = f"bench-guarantees-{tag}-"
    topics = Topics(
        f"{prefix}dossier-events",
        f"{prefix}dossier-alerts",
        f"{prefix}dossier-events-dlq",
        f"{prefix}dossier-ticks",
        PARTITIONS,
        prefix,
    )
    create_topics(bootstrap, topics.all(), PARTITIONS)
    events, end = stream(args.dossiers)
    want_all = judged(events, int(end.timestamp()))
    feeder = Feeder(bootstrap, topics.events, keyed(events), args.seconds)
    stage = Stage(bootstrap, topics, root, args.store, feeder)
    started = time.time()
    try:
        with sink(bootstrap, topics.alerts, root) as s:
            script(stage)
            feeder.finish()
            stage.mark("all events sent")
            want = firing(want_all)
            want_resolved = {a.id for a in want_all if a.status == "resolved"}

            def complete(ms: list[Any]) -> bool:
                return (
                    set(alert_ids(ms)) >= want and set(alert_ids(ms, "resolved")) >= want_resolved
                )

            collect(bootstrap, topics.alerts, until=complete, timeout=240)
            stage.mark("every expected alert received (or timed out)")
            drained(bootstrap, s, topics.alerts)
            messages = collect(bootstrap, topics.alerts, until=lambda m: False, timeout=3)
            counts, notes = bridge_counts(s.bridge.events()), notified(list(s.hook.received))
        # The live clocks ran on past the pulses for the scenario's own duration.
        ceiling = firing(judged(events, int(end.timestamp() + time.time() - started)))
        result = figures(messages, Expected(want, want_resolved, ceiling), counts, notes)
        result["marks"] = [(w, round(t, 1), round(f, 2)) for w, t, f in stage.marks]
        result["events"] = len(events)
        return result
    finally:
        for w in stage.workers:
            w.stop()
        delete_topics(bootstrap, [*topics.all(), *faust_topics(bootstrap, stage.app_id)])


def faust_topics(bootstrap: str, app_id: str) -> list[str]:
    """The changelogs and the assignor topic the workers created for their app id."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        return [t for t in admin.list_topics() if t.startswith(f"{app_id}-")]
    finally:
        admin.close()


TITLES = {
    "kill9": "kill -9 of the only worker, restarted on its data folder",
    "kill9-of-two": "kill -9 of one of two workers, the survivor takes over",
    "broker-restart": "the broker stopped and started again (a private broker)",
    "rebalances": "a worker joins, leaves (SIGTERM), a third joins",
}
SHARED: dict[str, Callable[[Stage], None]] = {
    "kill9": kill9,
    "kill9-of-two": kill9_of_two,
    "rebalances": rebalances,
}


def measure(name: str, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    folder.mkdir()
    if name in SHARED:
        return run_scenario(BOOTSTRAP, folder, args, SHARED[name])
    # Stopping the shared broker would break other people's tests: a broker of our own.
    broker = Broker(folder / "broker")
    broker.run("up")
    try:
        return run_scenario(broker.bootstrap, folder, args, broker_restart(broker, args.outage))
    finally:
        broker.run("down")
        shutil.rmtree(folder / "broker", ignore_errors=True)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dossiers", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the feed lasts")
    parser.add_argument("--outage", type=float, default=10.0, help="broker down, seconds")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--store", default="rocksdb://", help="the workers' table store")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each scenario")
    args = parser.parse_args(argv)
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in args.scenarios if s not in SCENARIOS]
    problem = (
        f"unknown scenario {unknown[0]!r} (known: {', '.join(SCENARIOS)})"
        if unknown
        else "--dossiers, --seconds, --repeat must be positive and --outage not negative"
        if args.dossiers <= 0 or args.seconds <= 0 or args.outage < 0 or args.repeat <= 0
        else "no scenario given"
        if not args.scenarios
        else None
    )
    if problem:
        print(f"guarantees: {problem}", file=sys.stderr)
        raise SystemExit(2)
    return args


SUMMARY = (
    "scenario",
    "want",
    "messages",
    "ids",
    "lost",
    "dup before",
    "most copies",
    "unexpected",
    "after dedup id/bridge/AM",
    "silence (s)",
)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    ensure_broker()
    root = Path(tempfile.mkdtemp(prefix="dw-bench-guarantees-"))
    load_before = os.getloadavg()
    print(
        f"{args.dossiers} dossiers fed over {args.seconds:.0f} s, store {args.store}; logs {root}"
    )
    loads = ", ".join(f"{x:.2f}" for x in load_before)
    print(f"load average before: {loads} ({os.cpu_count()} cores, shared with other work)")
    results: dict[str, dict[str, Any]] = {}
    try:
        for run in range(1, args.repeat + 1):
            for name in args.scenarios:
                key = name if args.repeat == 1 else f"{name}#{run}"
                results[key] = measure(name, root / key, args)
                report(f"{key}: {TITLES[name]}", results[key], results[key]["marks"])
    except pytest.fail.Exception as err:  # a binary or the Kafka jars missing
        print(f"guarantees: {err}", file=sys.stderr)
        return 1
    load_after = os.getloadavg()
    rows = [
        (
            name,
            f["want"],
            f["firing_messages"],
            f["distinct_ids"],
            f["lost"] + f["lost_resolved"],
            f["dup_before_dedup"],
            f["max_copies"],
            f["unexpected"],
            f"{f['after_dedup_id']}/{f['after_dedup_bridge']}/{f['after_dedup_am']}",
            f["longest_silence_s"],
        )
        for name, f in results.items()
    ]
    print()
    print(table(SUMMARY, rows))
    lost_ok = all(f["lost"] == 0 and f["lost_resolved"] == 0 for f in results.values())
    dedup_ok = all(
        f["after_dedup_id"] == f["after_dedup_bridge"] == f["after_dedup_am"] == 0
        for f in results.values()
    )
    unexpected_ok = all(f["unexpected"] == 0 for f in results.values())
    print(f"target lost = 0 (firing and resolutions): {met(lost_ok)}")
    print(f"target after dedup = 0 (id, bridge, Alertmanager): {met(dedup_ok)}")
    print(f"and no false alarm, unexpected = 0 (docs/stream-time.md): {met(unexpected_ok)}")
    print(f"load average after: {', '.join(f'{x:.2f}' for x in load_after)}")
    emit(
        {
            "bench": "guarantees",
            "dossiers": args.dossiers,
            "seconds": args.seconds,
            "store": args.store,
            "repeat": args.repeat,
            "scenarios": results,
            "targets": {"lost": lost_ok, "after_dedup": dedup_ok, "unexpected": unexpected_ok},
            "load_before": load_before,
            "load_after": load_after,
            **environment(),
        }
    )
    for folder in list(root.rglob("*")):
        # Keep the logs; the workers' RocksDB folders and Alertmanager's data go.
        if folder.is_dir() and folder.name in {"data", "w1", "w2", "w3"}:
            shutil.rmtree(folder, ignore_errors=True)
    # A measurement, not a test: the targets are printed, the exit code says it ran.
    return 0


if __name__ == "__main__":
    sys.exit(main())
