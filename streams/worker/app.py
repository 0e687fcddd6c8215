"""The Faust app: a thin shell around `WorkerCore`.

Topics (all keyed by dossier id, raw bytes):
* dossier-events (in)  — CloudEvents from the handling systems;
* dossier-ticks (in/out, co-partitioned with events) — the timer's "look at this
  dossier now": Faust timers cannot write tables, so the timer sends a tick and the
  agent, which owns the dossier's table partition, fires what is due;
* dossier-alerts (out) — alert JSON, the alert id also in the `alert_id` header;
* dossier-events-dlq (out) — rejected events: the original bytes, the reason in headers.

Delivery: at least once.  Alerts (and dead letters) are awaited until the broker acks
them *before* the dossier state is written, so a crash can repeat an alert (every
consumer dedupes by id) but never lose one: a state that says "fired" is only
written after the alert is safely in Kafka.
"""

from __future__ import annotations

import asyncio
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

from streams.core.alerts import encode_alert
from streams.core.dossier import decode_state
from streams.core.policy import PolicyBook
from streams.metrics import OpenDossierCollector, PipelineMetrics
from streams.web import register_views
from streams.worker.core import DELETE, WorkerCore
from streams.worker.settings import WorkerSettings

log = structlog.get_logger("dossierwatch.worker")

MAX_MESSAGE_BYTES = 8 * 1024 * 1024
"""Producer/consumer ceiling: oversized events must reach the DLQ whole, not fail to send."""


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


def create_app(s: WorkerSettings, book: PolicyBook) -> faust.App:
    registry = CollectorRegistry()
    metrics = PipelineMetrics(registry, book)

    def partition_of(name: str) -> int:
        # The producers' partitioner (murmur2, as Java's and kafka-python's).
        return int(murmur2(name.encode()) & 0x7FFFFFFF) % s.partitions

    core = WorkerCore(book, metrics, s.retention_days, partition_of=partition_of)
    app = faust.App(
        s.app_id,
        broker=f"kafka://{s.bootstrap}",
        store=s.store,
        datadir=s.data_dir,
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
    )
    raw: dict[str, Any] = {
        "key_type": bytes,
        "value_type": bytes,
        "key_serializer": "raw",
        "value_serializer": "raw",
    }
    source = app.topic(s.events_topic, s.ticks_topic, **raw)
    table = app.Table(
        "dossiers",
        default=None,
        partitions=s.partitions,
        schema=faust.Schema(**raw),
        # The store and the changelog recovery take their codec from these types (bytes
        # → raw); without them recovery would read the msgpack states as JSON.
        key_type=bytes,
        value_type=bytes,
        # Compacted changelog: only the latest state of each dossier matters on recovery.
        extra_topic_configs={"cleanup.policy": "compact"},
    )

    state: dict[str, Any] = {"last_event_wall": None, "recoveries": 0}
    processed: dict[int, int] = {}  # partition of the events topic → last offset handled
    started_at: dict[int, int] = {}  # partition → last offset committed when assigned
    lag_reported: set[int] = set()

    def states() -> Any:
        for value in table.values():
            if value:
                yield decode_state(value)

    registry.register(OpenDossierCollector(states, book))

    async def send_direct(
        topic: str, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]] | None
    ) -> Any:
        # Straight to the Kafka producer, past Faust's send buffer: an alert must not
        # queue behind the batch's changelog writes, since the batch waits for its ack.
        return await app.producer.send(topic, key, value, None, None, headers)

    def dead_letter_headers(err: Any, message: Any) -> list[tuple[str, bytes]]:
        return [
            ("reason", err.reason.encode()),
            ("error", err.message[:1000].encode()),
            ("source_topic", str(message.topic).encode()),
            ("source_partition", str(message.partition).encode()),
            ("source_offset", str(message.offset).encode()),
        ]

    @app.agent(source)
    async def process(stream: faust.StreamT[bytes]) -> None:
        # Batches, so that the wait for the broker's acknowledgement of alerts (which
        # must come before the state that says "fired" is written) is paid once per
        # batch rather than once per alert.
        pending: dict[bytes, tuple[bytes, Any]] = {}  # key → (new state, its event)

        def load(key: bytes) -> bytes | None:
            if key in pending:
                return pending[key][0] or None
            value: bytes | None = table.get(key)
            return value

        batches = stream.take_events(s.batch_size, within=s.batch_window)  # type: ignore[attr-defined]
        async for batch in batches:
            pending.clear()
            sent: list[Any] = []
            latencies: list[float] = []

            for event in batch:
                message = event.message
                key: bytes | None = event.key
                value: bytes = event.value or b""
                if message.topic == s.ticks_topic:
                    if not key:
                        continue
                    outcome = core.on_tick(key.decode(), load(key), int(value or 0))
                else:
                    state["last_event_wall"] = time.time()
                    processed[message.partition] = message.offset
                    outcome = core.on_event(
                        value, lambda d: load(d.encode()), key.decode() if key else None
                    )
                    if outcome.invalid is not None:
                        err = outcome.invalid
                        sent.append(
                            await send_direct(
                                s.dlq_topic, key, value, dead_letter_headers(err, message)
                            )
                        )
                        log.warning(
                            "event rejected to the dead-letter topic",
                            reason=err.reason,
                            error=err.message[:200],
                            partition=message.partition,
                            offset=message.offset,
                        )
                        continue
                    if outcome.alerts:
                        latencies.append(message.timestamp)
                assert outcome.dossier is not None
                key = outcome.dossier.encode()
                for a in outcome.alerts:
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
                        level=a.level,
                        unit=a.unit,
                    )
                if outcome.state is not None:
                    pending[key] = (outcome.state, event)
            if sent:
                await asyncio.gather(*sent)  # the broker has them: now the state may say so
            now = time.time()
            for started in latencies:
                metrics.latency.observe(max(now - started, 0.0))
            for key, (new_state, event) in pending.items():
                with writing_as(event):
                    if new_state == DELETE:
                        if key in table:
                            del table[key]
                    else:
                        table[key] = new_state

    @app.timer(interval=s.tick_interval)  # type: ignore[untyped-decorator]
    async def look_for_due_deadlines() -> None:
        # The wall clock decides breaches, but only where the partition has no unread
        # events: one of them may complete the dossier (a backlog after a restart, or
        # a replayed history), and firing first would raise a false alarm.
        assigned = [tp for tp in app.consumer.assignment() if tp.topic == s.events_topic]
        # The high-water marks the fetcher already saw (every fetch response carries
        # them): asking the broker here would take longer than the timer's interval.
        ends = {tp: app.consumer.highwater(tp) for tp in assigned}
        caught_up = set()
        for tp, end in ends.items():
            if end is None:
                continue  # not fetched yet: unknown, so not caught up
            # Read up to: what this worker handled, else where the group had committed
            # when the partition was assigned (an idle partition after a restart).
            done = max(processed.get(tp.partition, -1), started_at.get(tp.partition, -1))
            lag = max(end - 1 - done, 0)
            metrics.lag.labels(str(tp.partition)).set(lag)
            if lag == 0:
                caught_up.add(tp.partition)
        for gone in lag_reported - {tp.partition for tp in assigned}:
            metrics.lag.remove(str(gone))  # another worker reports it now
        lag_reported.clear()
        lag_reported.update(tp.partition for tp in assigned)
        # "now" is one second ahead so that a deadline at second T fires as soon as the
        # wall clock reaches T (timers fire strictly before "now").
        now = int(time.time()) + 1
        for name in core.due(now, caught_up):
            await send_direct(s.ticks_topic, name.encode(), str(now).encode(), None)

    async def rebuild_index() -> None:
        for tp in app.consumer.assignment():
            if tp.topic == s.events_topic:
                position = await app.consumer.position(tp)
                started_at[tp.partition] = (position or 0) - 1
                processed.pop(tp.partition, None)
        count = core.rebuild((k.decode(), v) for k, v in table.items() if v)
        state["recoveries"] += 1
        log.info("deadline index rebuilt", dossiers_waiting=count)

    table.on_recover(rebuild_index)

    @app.page("/metrics")
    async def metrics_page(web: View, request: Request) -> Response:
        return web.bytes(generate_latest(registry), content_type="text/plain; version=0.0.4")

    @app.page("/health")
    async def health_page(web: View, request: Request) -> Response:
        last = state["last_event_wall"]
        return web.json(
            {
                "status": "ok",
                "assigned_partitions": sorted(
                    tp.partition
                    for tp in app.assignor.assigned_actives()
                    if tp.topic == s.events_topic
                ),
                "dossiers_waiting_for_a_deadline": core.waiting(),
                "seconds_since_last_event": None if last is None else round(time.time() - last, 3),
                "index_rebuilds": state["recoveries"],
            }
        )

    register_views(app, table=table, core=core, settings=s, book=book)
    app.dossierwatch_core = core  # type: ignore[attr-defined]
    return app
