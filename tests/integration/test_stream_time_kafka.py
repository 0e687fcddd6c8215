"""Stream time on a real broker: a live worker says what a replay of the same log says,
whatever the pace, as a backlog, after a pause, and when a source sends late."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import Topics
from real_logs.conftest import data_path
from workers import WorkerProcess, collect, produce

from streams.contract.alerts import Alert
from streams.contract.events import DossierEvent, encode_event, event_from_dict
from streams.core.engine import Engine
from streams.eventlogs.mapping import Mapping, trace_events
from streams.eventlogs.xes import read_xes
from streams.policy import builtin_book
from streams.replay.run import Replay

pytestmark = pytest.mark.kafka

Said = dict[str, set[tuple[str, str]]]
"""Per dossier: the (alert id, status) pairs said about it."""


def receipt_log() -> list[DossierEvent]:
    """The public WABO receipt log as dossier events, in time order (stable: a case keeps
    its own order), every case completed by its last event."""
    path = data_path("receipt.xes.gz")
    mapping = Mapping(unit_attr="org:group", due_attr="deadline")
    events = [e for trace in read_xes(path) for e in trace_events(trace, mapping, path)]
    return sorted(events, key=lambda e: e.time)


def replayed(events: list[DossierEvent]) -> Said:
    said: Said = defaultdict(set)

    def keep(a: Alert) -> None:
        said[a.dossier].add((a.id, a.status))

    replay = Replay(Engine(builtin_book()), keep)
    replay.stream((i, encode_event(e)) for i, e in enumerate(events))
    return dict(said)


def from_topic(messages: list[Any]) -> Said:
    said: Said = defaultdict(set)
    for m in messages:
        body = json.loads(m.value)
        said[body["dossier"]].add((body["id"], body["status"]))
    return dict(said)


def published(events: list[DossierEvent]) -> list[tuple[bytes | None, bytes]]:
    return [(e.subject.encode(), encode_event(e)) for e in events]


def await_said(bootstrap: str, topics: Topics, want: Said, timeout: float = 180) -> Said:
    """Read the alerts until every dossier has at least what `want` says, then a little
    longer (anything extra would show), and return them all."""

    def enough(messages: list[Any]) -> bool:
        got = from_topic(messages)
        return all(pairs <= got.get(d, set()) for d, pairs in want.items())

    collect(bootstrap, topics.alerts, until=enough, timeout=timeout)
    time.sleep(2)
    return from_topic(collect(bootstrap, topics.alerts, until=lambda m: False, timeout=3))


@pytest.fixture
def worker_factory(kafka_bootstrap: str, topics: Topics, tmp_path: Path):  # type: ignore[no-untyped-def]
    started: list[WorkerProcess] = []
    app_id = f"dw-time-{uuid.uuid4().hex[:8]}"

    def start(name: str = "w1") -> WorkerProcess:
        w = WorkerProcess(
            kafka_bootstrap, topics, tmp_path / name, app_id=app_id, log=tmp_path / f"{name}.log"
        )
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()


def test_a_backlog_is_judged_as_a_replay_is(
    kafka_bootstrap: str, topics: Topics, worker_factory: Any
) -> None:
    """The whole receipt log on the topic before the worker starts: every dossier's alerts
    (ids and statuses) are exactly the replay's — the clocks held while events waited."""
    events = receipt_log()
    want = replayed(events)
    assert sum(len(p) for p in want.values()) > 1000
    produce(kafka_bootstrap, topics.events, published(events))
    worker = worker_factory()
    worker.wait_assigned()
    got = await_said(kafka_bootstrap, topics, want)
    assert got == want, worker.tail()


def test_a_restart_after_a_pause_is_judged_as_a_replay_is(
    kafka_bootstrap: str, topics: Topics, worker_factory: Any
) -> None:
    """The worker stops half-way; the rest of the log is published while it is down; on
    restart it resumes at the stream time where it stopped: the replay's alerts, exactly."""
    events = receipt_log()
    half = len(events) // 2
    first = events[:half]
    produce(kafka_bootstrap, topics.events, published(first))
    worker = worker_factory("w1")
    worker.wait_assigned()
    deadline = time.monotonic() + 90  # until every event of the first half is read
    while time.monotonic() < deadline and worker.counter_total("dossierwatch_events") < len(first):
        time.sleep(0.5)
    assert worker.counter_total("dossierwatch_events") == len(first), worker.tail()
    time.sleep(2)  # past the commit interval
    worker.stop()
    produce(kafka_bootstrap, topics.events, published(events[half:]))
    again = worker_factory("w2")
    again.wait_assigned()
    want = replayed(events)
    got = await_said(kafka_bootstrap, topics, want)
    assert got == want, again.tail()


SLOW_PACE = 15.0
"""Seconds between a dossier's steps in the slow-pace test: well over the ~10 s at which
the wall clock used to fire deadlines the next event would have prevented."""


def test_a_slow_pace_is_judged_as_a_replay_is(
    kafka_bootstrap: str, topics: Topics, worker_factory: Any
) -> None:
    """Dossiers of a real log published in time order, each dossier's events at least
    SLOW_PACE apart in wall time (the clocks run on between them; the wall clock used to
    fire deadlines when steps were more than ~10 s apart): the replay's alerts."""
    subset = _open_together(road_fines(3000), limit=60)
    want = replayed(subset)
    assert sum(len(p) for p in want.values()) >= 20
    worker = worker_factory()
    worker.wait_assigned()
    last: dict[str, tuple[float, datetime]] = {}
    start = time.monotonic()
    for e in subset:
        before = last.get(e.subject)
        if before is not None and before[1] != e.time:  # a dossier's next step
            wait = before[0] + SLOW_PACE - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        produce(kafka_bootstrap, topics.events, published([e]))
        if before is None or before[1] != e.time:
            last[e.subject] = (time.monotonic(), e.time)
    assert time.monotonic() - start >= SLOW_PACE
    got = await_said(kafka_bootstrap, topics, want)
    assert got == want, worker.tail()


def road_fines(cases: int) -> list[DossierEvent]:
    """The first cases of the public road-traffic fines log, in time order."""
    path = data_path("Road_Traffic_Fine_Management_Process.xes.gz")
    traces = itertools.islice(read_xes(path), cases)
    events = [e for trace in traces for e in trace_events(trace, Mapping(), path)]
    return sorted(events, key=lambda e: e.time)


def _open_together(events: list[DossierEvent], *, limit: int) -> list[DossierEvent]:
    """Dossiers open at one instant with two or three steps each: published in time order
    at SLOW_PACE per dossier step, they take a few steps of wall time in all, not one per
    dossier."""
    by_dossier: dict[str, list[DossierEvent]] = defaultdict(list)
    for e in events:
        by_dossier[e.subject].append(e)
    middle = events[len(events) // 3].time
    chosen = sorted(
        d
        for d, es in by_dossier.items()
        if 2 <= len({e.time for e in es}) <= 3 and es[0].time < middle < es[-1].time
    )[:limit]
    keep = set(chosen)
    return [e for e in events if e.subject in keep]


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _event(kind: str, subject: str, when: datetime, **data: Any) -> DossierEvent:
    return event_from_dict(
        {
            "specversion": "1.0",
            "id": f"{subject}-{kind}",
            "source": "late-portal",
            "type": f"dossier.{kind}",
            "time": when.isoformat(),
            "subject": subject,
            "data": data,
        }
    )


SOURCE_DELAY = 30
"""Seconds the late source sends each event after its time (longer than the limit, so
the completion of a dossier done in time reaches Kafka after its due instant)."""


def test_a_source_that_sends_late(
    kafka_bootstrap: str, topics: Topics, worker_factory: Any
) -> None:
    """Every event published a fixed delay (30 s, longer than the 20 s limit) after its
    time: a dossier completed before its due instant (its completion reaching Kafka after
    that instant) gets no breach; one completed late does; one never completed breaches
    about the delay after its due."""
    worker = worker_factory()
    worker.wait_assigned()
    tag = uuid.uuid4().hex[:6]
    t0 = _now() + timedelta(seconds=2)
    due = t0 + timedelta(seconds=20)
    receipt = {"procedure": "P", "unit": "A", "due": due.isoformat()}
    on_time, late, never = f"ONTIME-{tag}", f"LATE-{tag}", f"NEVER-{tag}"
    plan = sorted(
        [
            (t0, _event("received", on_time, t0, **receipt)),
            (t0, _event("received", late, t0, **receipt)),
            (t0, _event("received", never, t0, **receipt)),
            (t0 + timedelta(seconds=15), _event("completed", on_time, t0 + timedelta(seconds=15))),
            (t0 + timedelta(seconds=25), _event("completed", late, t0 + timedelta(seconds=25))),
        ],
        key=lambda p: p[0],
    )
    for when, e in plan:
        wait = (when + timedelta(seconds=SOURCE_DELAY) - datetime.now(UTC)).total_seconds()
        if wait > 0:
            time.sleep(wait)
        produce(kafka_bootstrap, topics.events, published([e]))

    def breach_of(messages: list[Any], dossier: str) -> list[Any]:
        return [
            m
            for m in messages
            if json.loads(m.value)["id"].startswith(f"{dossier}/deadline/overdue/")
            and json.loads(m.value)["status"] == "firing"
        ]

    got = collect(
        kafka_bootstrap, topics.alerts, until=lambda m: bool(breach_of(m, never)), timeout=60
    )
    time.sleep(3)
    got = collect(kafka_bootstrap, topics.alerts, until=lambda m: False, timeout=3)
    assert not breach_of(got, on_time), worker.tail()
    assert breach_of(got, late)
    (breach,) = breach_of(got, never)
    lateness = breach.timestamp / 1000 - due.timestamp()
    assert SOURCE_DELAY <= lateness < SOURCE_DELAY + 3, lateness
