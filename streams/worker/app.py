"""The Faust app: a thin shell around `WorkerCore`.

Topics (all keyed by dossier id, raw bytes):
* dossier-events (in)  — CloudEvents from the handling systems;
* dossier-ticks (in/out, co-partitioned with events) — the timer's "look at this
  dossier at this stream time": Faust timers cannot write tables, so the timer sends a
  tick and the agent, which owns the dossier's table partition, fires what is due;
* dossier-alerts (out) — alert JSON, the alert id also in the `alert_id` header;
* dossier-events-dlq (out) — rejected events: the original key and bytes, the reason in
  headers, written to the partition the event came from.

Tables (co-partitioned with the events, compacted changelogs): `dossiers` (each
dossier's packed state, streams/core/store.py) and `clocks` (each partition's stream
clocks, so a restarted worker resumes at the stream time where it stopped).

Delivery: at least once.  Alerts (and dead letters) are awaited until the broker acks
them *before* the dossier state is written, so a crash can repeat an alert (every
consumer dedupes by id) but never lose one: a state that says "fired" is only
written after the alert is safely in Kafka.

Never silent: any event goes through the core's boundary (rejects are dead-lettered,
counted, logged at a bounded rate); anything else that escapes the agent or the timer
marks the worker dead — /health answers 503 with the reason — and stops the process
with a non-zero exit so that its supervisor restarts it.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import faust
import structlog
from aiokafka.partitioner import murmur2
from faust.streams import _current_event
from faust.web import Request, Response, View
from prometheus_client import CollectorRegistry, generate_latest

from streams.contract.alerts import encode_alert
from streams.core.boundary import Reject
from streams.core.clock import graces
from streams.core.policy import PolicyBook
from streams.metrics import OpenDossierCollector, PipelineMetrics, StreamClockCollector
from streams.web import register_views
from streams.web.auth import Guard
from streams.web.guard import middleware
from streams.worker.core import TableStates, WorkerCore
from streams.worker.dead_letters import DeadLetters
from streams.worker.lag import unread
from streams.worker.settings import WorkerSettings
from streams.worker.vitals import Vitals

log = structlog.get_logger("dossierwatch.worker")

MAX_MESSAGE_BYTES = 8 * 1024 * 1024
"""Producer/consumer ceiling: oversized events must reach the DLQ whole, not fail to send."""
FAULT_SUBJECT = "__dossierwatch_fault__"
"""With DOSSIERWATCH_INJECT_FAULT=agent|timer, the event keyed by this id makes that part
die (tests check that a dead agent is never a silent one)."""


@contextmanager
def writing_as(event: Any) -> Iterator[None]:
    """Make `event` the current one while its dossier's state is written.

    Faust's stores file a table write under the partition of the event being processed;
    a batch writes after all its events, so each write is filed under its own event's
    partition explicitly (the co-partitioning the table relies on)."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


def create_app(
    s: WorkerSettings, book: PolicyBook, guard: Guard, officer_key: bytes | None = None
) -> faust.App:
    registry = CollectorRegistry()
    metrics = PipelineMetrics(registry, book)
    vitals = Vitals()
    fault = os.environ.get("DOSSIERWATCH_INJECT_FAULT", "")

    def partition_of(name: str) -> int:
        # The producers' partitioner (murmur2, as Java's and kafka-python's).
        return int(murmur2(name.encode()) & 0x7FFFFFFF) % s.partitions

    datadir = os.path.join(s.data_dir, s.app_id)
    os.makedirs(datadir, exist_ok=True)
    app = faust.App(
        s.app_id,
        broker=f"kafka://{s.bootstrap}",
        store=s.store,
        # One folder per app id: two apps on one machine never share table files.
        datadir=datadir,
        topic_partitions=s.partitions,
        table_standby_replicas=0,
        topic_disable_leader=True,
        web_enabled=True,
        web_host=s.web_host,
        web_bind=s.web_host,  # listen where we say, not on every interface
        web_port=s.web_port,
        # How the other workers reach this one, to answer for dossiers it owns.
        canonical_url=f"http://{s.web_host}:{s.web_port}",
        producer_max_request_size=MAX_MESSAGE_BYTES,
        producer_linger=0.005,
        consumer_max_fetch_size=MAX_MESSAGE_BYTES,
        stream_wait_empty=False,
        broker_commit_every=1000,
        broker_commit_interval=1.0,
        # Faust's /router and /table pages show table contents: only when asked for.
        web_router_enabled=s.faust_pages,
        web_tables_enabled=s.faust_pages,
        **s.faust_client_config(),
    )
    # Before any route: every request meets the guard first (streams/web/guard.py).
    app.web.web_app.middlewares.append(middleware(guard))  # type: ignore[attr-defined]
    raw: dict[str, Any] = {
        "key_type": bytes,
        "value_type": bytes,
        "key_serializer": "raw",
        "value_serializer": "raw",
    }
    source = app.topic(s.events_topic, s.ticks_topic, **raw)

    def bytes_table(name: str) -> Any:
        return app.Table(
            name,
            default=None,
            partitions=s.partitions,
            schema=faust.Schema(**raw),
            # The store and the changelog recovery take their codec from these types
            # (bytes → raw); without them recovery would read the states as JSON.
            key_type=bytes,
            value_type=bytes,
            # Compacted changelog: only the latest value of each key matters on recovery.
            extra_topic_configs={"cleanup.policy": "compact"},
        )

    table = bytes_table("dossiers")
    clocks_table = bytes_table("clocks")
    store = TableStates(table)
    core = WorkerCore(
        book,
        store,
        metrics,
        s.retention_days,
        partition_of=partition_of,
        settle=s.settle_seconds,
        grace=graces(s.source_grace, s.default_grace),
        officer_key=officer_key,
    )

    state: dict[str, Any] = {"last_event_wall": None, "recoveries": 0}
    processed: dict[int, int] = {}  # partition of the events topic → last offset handled
    started_at: dict[int, int] = {}  # partition → last offset committed when assigned
    lag_reported: set[int] = set()

    registry.register(
        OpenDossierCollector(store.states, book, clock=lambda: core.stream_now(time.time()))
    )
    registry.register(StreamClockCollector(lambda: core.clocks.values(), metrics.source))

    async def send_direct(
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: list[tuple[str, bytes]] | None,
        partition: int | None = None,
    ) -> Any:
        # Straight to the Kafka producer, past Faust's send buffer: an alert must not
        # queue behind the batch's changelog writes, since the batch waits for its ack.
        return await app.producer.send(topic, key, value, partition, None, headers)

    dead_letters = DeadLetters(s, send_direct)

    @app.agent(source)
    async def process(stream: faust.StreamT[bytes]) -> None:
        # Batches, so that the wait for the broker's acknowledgement of alerts (which
        # must come before the state that says "fired" is written) is paid once per
        # batch rather than once per alert.
        try:
            await process_batches(stream)
        except asyncio.CancelledError:
            raise  # a rebalance or a stop: Faust restarts or ends the agent itself
        except Exception as err:
            vitals.die("agent", err)
            raise

    async def process_batches(stream: faust.StreamT[bytes]) -> None:
        batches = stream.take_events(s.batch_size, within=s.batch_window)  # type: ignore[attr-defined]
        async for batch in batches:
            sent: list[Any] = []
            latencies: list[float] = []
            owner: dict[str, Any] = {}  # dossier → the message whose partition it is in
            touched: dict[int, Any] = {}  # partition of events read → one of its events
            for event in batch:
                message = event.message
                value: bytes = event.value or b""
                if message.topic == s.ticks_topic:
                    outcome = core.on_tick(event.key, value, message.partition, time.time())
                else:
                    wall = time.time()
                    state["last_event_wall"] = wall
                    processed[message.partition] = message.offset
                    touched[message.partition] = event
                    if fault == "agent" and event.key == FAULT_SUBJECT.encode():
                        raise RuntimeError("injected fault (DOSSIERWATCH_INJECT_FAULT=agent)")
                    outcome = core.on_event(value, event.key, message.partition, wall)
                    if outcome.alerts:
                        latencies.append(message.timestamp)
                if outcome.reject is not None:
                    _log_reject(outcome.reject, message)
                    sent.append(
                        await dead_letters.reject(message, event.key, value, outcome.reject)
                    )
                for a in outcome.alerts:
                    key = a.dossier.encode()
                    sent.append(
                        await send_direct(
                            s.alerts_topic, key, encode_alert(a), [("alert_id", a.id.encode())]
                        )
                    )
                    log.info(
                        "alert",
                        alert_id=a.id,
                        status=a.status,
                        rule=a.rule,
                        alert_level=a.level,
                        unit=a.unit,
                    )
                if outcome.dossier is not None:
                    owner[outcome.dossier] = event
            pending = [f for f in sent if f is not None]
            if pending:
                await asyncio.gather(*pending)  # the broker has them: now the state may say so
            now = time.time()
            for started in latencies:
                metrics.latency.observe(max(now - started, 0.0))
            for key_text, new_state in store.take_writes().items():
                key = key_text.encode()
                with writing_as(owner[key_text]):
                    if new_state is None:
                        if key in table:
                            del table[key]
                    else:
                        table[key] = new_state
            for partition, event in touched.items():
                with writing_as(event):
                    clocks_table[str(partition).encode()] = core.clock(partition).state(now)

    def _log_reject(r: Reject, message: Any) -> None:
        # One template per reason: the rate limiter (streams/infra/logs.py) keeps one line per
        # reason per interval, with the count of the ones it held back.
        log.warning(
            f"event rejected to the dead-letter topic: {r.reason}",
            error_class=r.error,
            error=r.message[:200],
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
        )

    async def look_for_due_deadlines() -> None:
        # Stream time decides, per partition and source, and only where the partition has
        # no unread events: one of them may complete the dossier (a backlog after a
        # restart, a replayed history), and firing first would raise a false alarm.
        assigned = [tp for tp in app.consumer.assignment() if tp.topic == s.events_topic]
        # The high-water marks the fetcher already saw (every fetch response carries
        # them): asking the broker here would take longer than the timer's interval.
        caught_up = set()
        for tp in assigned:
            lag = unread(
                app.consumer.highwater(tp),
                processed.get(tp.partition),
                started_at.get(tp.partition),
            )
            if lag is None:
                continue  # not fetched yet: unknown, so not caught up
            metrics.lag.labels(str(tp.partition)).set(lag)
            if lag == 0:
                caught_up.add(tp.partition)
        for gone in lag_reported - {tp.partition for tp in assigned}:
            metrics.lag.remove(str(gone))  # another worker reports it now
        lag_reported.clear()
        lag_reported.update(tp.partition for tp in assigned)
        if fault == "timer" and state["last_event_wall"] is not None:
            raise RuntimeError("injected fault (DOSSIERWATCH_INJECT_FAULT=timer)")
        wall = time.time()
        for name, now in core.due(wall, sorted(tp.partition for tp in assigned), caught_up):
            await send_direct(s.ticks_topic, name.encode(), str(now).encode(), None)

    app.timer(interval=s.tick_interval, name="look_for_due_deadlines")(
        vitals.guard("timer", look_for_due_deadlines)
    )

    async def rebuild_index() -> None:
        try:
            assigned = [tp for tp in app.consumer.assignment() if tp.topic == s.events_topic]
            for tp in assigned:
                try:
                    position = await app.consumer.position(tp)
                except Exception:  # a rebalance took it away meanwhile: not ours to track
                    continue
                started_at[tp.partition] = (position or 0) - 1
                processed.pop(tp.partition, None)
            core.clocks.clear()
            for tp in assigned:
                saved = clocks_table.get(str(tp.partition).encode())
                if saved:
                    core.clock(tp.partition).restore(saved)
            dead_letters.forget()
            count = core.rebuild()
        except Exception as err:
            vitals.die("recovery", err)
            raise
        state["recoveries"] += 1
        log.info("deadline index rebuilt", dossiers_waiting=count)
        # What start-up and recovery built lives as long as the worker: out of the
        # collector's sight, a full collection (which holds the event loop, whichever
        # thread triggers it) scans only what came since — tens of ms, not hundreds.
        gc.collect()
        gc.freeze()

    table.on_recover(rebuild_index)

    loop_lag = {"max": 0.0}

    @app.task  # type: ignore[untyped-decorator]
    async def watch_the_event_loop() -> None:
        # How long the loop was held by one piece of work: every request, scrape and
        # batch shares it with the stream, so none may hold it long (issue: bounded web).
        step = 0.02
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(step)
            loop_lag["max"] = max(loop_lag["max"], loop.time() - started - step)

    @app.page("/metrics")
    async def metrics_page(web: View, request: Request) -> Response:
        # Gauges are computed from every stored dossier: off the event loop, so that a
        # scrape of a large table never stalls the stream.
        loop = asyncio.get_running_loop()
        body = await loop.run_in_executor(None, generate_latest, registry)
        return web.bytes(body, content_type="text/plain; version=0.0.4")

    @app.page("/health")
    async def health_page(web: View, request: Request) -> Response:
        last = state["last_event_wall"]
        crashed = app.crash_reason
        reason = vitals.fatal or (f"crashed: {crashed!r}" if crashed else None)
        body: dict[str, Any] = {
            "status": "dead" if reason else "ok",
            "assigned_partitions": sorted(
                tp.partition for tp in app.assignor.assigned_actives() if tp.topic == s.events_topic
            ),
            "dossiers_waiting_for_a_deadline": core.waiting(),
            "seconds_since_last_event": None if last is None else round(time.time() - last, 3),
            "index_rebuilds": state["recoveries"],
            # The longest the event loop was held since the previous /health answer.
            "event_loop_lag_max_ms": round(loop_lag["max"] * 1000, 1),
        }
        loop_lag["max"] = 0.0
        if reason:
            body["reason"] = reason
        return web.json(body, status=503 if reason else 200)

    register_views(app, table=table, core=core, settings=s, book=book)
    app.dossierwatch_vitals = vitals  # type: ignore[attr-defined]
    return app
