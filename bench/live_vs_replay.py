"""Live equals replay: a real log published to a worker at a steady pace (or as a backlog)
against the replay of the same events, dossier by dossier.

    .venv/bin/python bench/live_vs_replay.py [--log BPIC15_1.xes.gz] [--rate 400] [--backlog]

The log (a public one, held out of the stream-time tests) is mapped onto dossier events
as replay maps it, sorted by time, and published to fresh topics at `--rate` events per
second (or all before the worker starts, `--backlog`).  The worker's alerts are read back
until nothing new comes; each completed dossier's (alert id, status) pairs are compared
with the replay's.  Reported: alerts the worker said that the replay did not ("more"),
alerts the replay said that the worker did not ("fewer"), and dossiers that differ.
Target (the stream-time issue): zero of each for every completed dossier.  Dossiers the
log leaves open are compared too: the replay judges them as of the log's last event,
while the live worker's stream clock runs on past it, so there the worker may only say
more, and only about instants after that last event; "fewer", or "more" about an instant
before it, is a miss or a false alarm.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import urllib.request
import uuid
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from benchlib import emit, environment
from kafka import KafkaConsumer, KafkaProducer
from kafka_bench import BOOTSTRAP, delete_topics, ensure_broker, fresh_topics, start_worker, stop

from streams.contract.alerts import Alert
from streams.contract.events import DossierEvent, encode_event
from streams.core.dossier import FINISHED
from streams.core.engine import Engine
from streams.eventlogs.mapping import Mapping, trace_events
from streams.eventlogs.xes import read_xes
from streams.policy import builtin_book
from streams.replay.run import Replay

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
Said = dict[str, set[tuple[str, str]]]
Instants = dict[tuple[str, str], datetime]


def load(path: Path, unit_attr: str) -> list[DossierEvent]:
    mapping = Mapping(unit_attr=unit_attr, officer_attr=None)
    events = [e for t in read_xes(str(path)) for e in trace_events(t, mapping, str(path))]
    return sorted(events, key=lambda e: e.time)


def replayed(events: list[DossierEvent]) -> tuple[Said, set[str]]:
    said: Said = defaultdict(set)

    def keep(a: Alert) -> None:
        said[a.dossier].add((a.id, a.status))

    engine = Engine(builtin_book())
    replay = Replay(engine, keep)
    replay.stream((i, encode_event(e)) for i, e in enumerate(events))
    completed = {d.id for d in engine.states() if d.status in FINISHED}
    # Replay forgets nothing of a JSONL stream: every dossier the log completes is held.
    return dict(said), completed


def publish(topic: str, events: list[DossierEvent], rate: float | None) -> float:
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", linger_ms=5)
    started = time.monotonic()
    for i, e in enumerate(events):
        if rate:
            wait = started + i / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        producer.send(topic, key=e.subject.encode(), value=encode_event(e))
    producer.flush(120)
    producer.close()
    return time.monotonic() - started


def health(port: str) -> dict[str, object]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
            result: dict[str, object] = json.loads(r.read())
            return result
    except OSError:
        return {}


def read_alerts(topic: str, quiet: float) -> tuple[Said, Instants]:
    """Every alert on the topic, read until nothing new comes for `quiet` seconds, and
    the instant each (id, status) is about."""
    consumer = KafkaConsumer(
        topic, bootstrap_servers=BOOTSTRAP, auto_offset_reset="earliest", consumer_timeout_ms=1000
    )
    said: Said = defaultdict(set)
    instants: Instants = {}
    last_new = time.monotonic()
    while time.monotonic() - last_new < quiet:
        for m in consumer:
            body = json.loads(m.value)
            said[body["dossier"]].add((body["id"], body["status"]))
            instants[body["id"], body["status"]] = datetime.fromisoformat(body["at"])
            last_new = time.monotonic()
    consumer.close()
    return dict(said), instants


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", default=str(DATA / "BPIC15_1.xes.gz"))
    parser.add_argument("--unit-attr", default="org:resource")
    parser.add_argument("--rate", type=float, default=400.0, help="events per second")
    parser.add_argument("--backlog", action="store_true", help="publish all before the worker")
    parser.add_argument("--quiet", type=float, default=20.0, help="seconds without new alerts")
    args = parser.parse_args()
    log = Path(args.log)
    if not log.is_file():
        print(f"SKIPPED: {log} not found")
        emit({"bench": "live_vs_replay", "skipped": True})
        return
    ensure_broker()
    events = load(log, args.unit_attr)
    want, completed = replayed(events)
    prefix, topics = fresh_topics("live")
    logs = Path(tempfile.mkdtemp(prefix="dw-bench-"))
    worker = None
    try:
        if args.backlog:
            seconds = publish(topics["events"], events, None)
        worker = start_worker(prefix, f"bench-live-{uuid.uuid4().hex[:6]}", logs / "worker.log")
        port = worker.args[worker.args.index("--web-port") + 1]  # type: ignore[union-attr]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not health(port).get("assigned_partitions"):
            time.sleep(0.3)
        if not args.backlog:
            seconds = publish(topics["events"], events, args.rate)
        got, instants = read_alerts(topics["alerts"], args.quiet)
    finally:
        if worker is not None:
            stop(worker)
        delete_topics(topics.values())
    more = fewer = 0
    differ = 0
    for dossier in completed:
        w, r = got.get(dossier, set()), want.get(dossier, set())
        more += len(w - r)
        fewer += len(r - w)
        differ += w != r
    total = sum(len(want.get(d, ())) for d in completed)
    audit = events[-1].time  # the replay judges the dossiers left open as of this instant
    open_ = (set(want) | set(got)) - completed
    open_fewer = open_early = open_later = 0
    for dossier in open_:
        w, r = got.get(dossier, set()), want.get(dossier, set())
        open_fewer += len(r - w)
        for extra in w - r:
            if instants[extra] > audit:
                open_later += 1
            else:
                open_early += 1
                if open_early <= 5:  # the first few, to look into
                    print(f"  {dossier}: {extra} about {instants[extra].isoformat()}")
    mode = "as a backlog" if args.backlog else f"at {args.rate:,.0f} events/s"
    print(
        f"{log.name}: {len(events):,} dossier events {mode} ({seconds:.0f} s),"
        f" {len(completed):,} completed dossiers, {total:,} replay alerts (ids and statuses)"
    )
    met = more == fewer == differ == open_fewer == open_early == 0
    print(
        f"live vs replay over the completed dossiers: {more:,} more, {fewer:,} fewer,"
        f" {differ:,} dossiers differ (target 0)"
    )
    print(
        f"over the {len(open_):,} dossiers left open: {open_fewer:,} fewer,"
        f" {open_early:,} more about an instant up to the last event (target 0),"
        f" {open_later:,} more after it (the live clock ran on: allowed)"
        f" — {'MET' if met else 'NOT MET'}"
    )
    emit(
        {
            "bench": "live_vs_replay",
            "log": log.name,
            "events": len(events),
            "mode": "backlog" if args.backlog else "rate",
            "rate": None if args.backlog else args.rate,
            "completed": len(completed),
            "replay_alerts": total,
            "more": more,
            "fewer": fewer,
            "dossiers_differ": differ,
            "open": len(open_),
            "open_fewer": open_fewer,
            "open_more_before_last_event": open_early,
            "open_more_after_last_event": open_later,
            "met": met,
            **environment(),
        }
    )


if __name__ == "__main__":
    main()
