"""The alert bridge (`dossierwatch bridge`): Kafka `dossier-alerts` → Alertmanager API v2.

At least once, nothing lost: a batch's offsets are committed only after Alertmanager took
every alert of it; while Alertmanager is down the bridge backs off and retries the same
batch, its partitions paused, so nothing newer is read meanwhile.  Firing alerts are kept
in memory (alerts/firing.py) and re-sent every --resend-interval, because Alertmanager
lets an alert expire at its `endsAt` and forgets all alerts when it restarts.  On start
the bridge re-reads the topic up to the group's committed offsets to know which alerts
are still firing, so a restarted bridge keeps them alive too.  Given a catalogue's names
(`--catalog`), the annotations name units and procedures; labels and ids stay codes.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import msgspec
import structlog
from kafka import KafkaConsumer
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition

from alerts.alertmanager import AlertmanagerClient, Rejected, Unavailable
from alerts.backoff import backoff
from alerts.firing import FiringSet, Postable, now_utc, rfc3339
from alerts.labels import Names, use_names
from streams.contract.alerts import decode_alert

log = structlog.get_logger("dossierwatch.bridge")

BAD_MESSAGE = (msgspec.DecodeError, msgspec.ValidationError, TypeError)
"""What decoding a message that is not an alert raises (TypeError: a null value)."""

CHUNK = 500
"""Alerts per POST: a re-send of a large firing set goes in several requests."""


@dataclass(frozen=True)
class BridgeSettings:
    bootstrap: str
    topic: str = "dossier-alerts"
    group: str = "dossierwatch-bridge"
    alertmanager: str = "http://127.0.0.1:9093"
    link_base: str = "http://127.0.0.1:6066"
    resend_interval: float = 60.0
    batch_size: int = 500
    max_backoff: float = 30.0
    client_config: Mapping[str, Any] = field(default_factory=dict)
    """kafka-python security settings of the consumers (`KafkaSecurity.kafka_kwargs()`)."""
    names: Names = field(default_factory=Names)
    """Unit and procedure names for the annotations (from a catalogue); empty: codes."""

    @property
    def ttl(self) -> timedelta:
        # As Prometheus does: several re-sends may be missed before an alert expires.
        return timedelta(seconds=4 * self.resend_interval)


def _chunks(items: Sequence[Postable], size: int = CHUNK) -> Iterator[Sequence[Postable]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class Bridge:
    def __init__(
        self,
        settings: BridgeSettings,
        consumer: KafkaConsumer,
        alertmanager: AlertmanagerClient,
        firing: FiringSet,
        stop: threading.Event,
    ) -> None:
        self.s = settings
        self.consumer = consumer
        self.am = alertmanager
        self.firing = firing
        self.stop = stop
        self.waiting = False
        """True while a delivery waits for Alertmanager: partitions stay paused."""
        self.outage = False
        self.resend_now = True

    def run(self) -> None:
        self.consumer.subscribe([self.s.topic], listener=_PauseWhileWaiting(self))
        next_resend = time.monotonic()
        while not self.stop.is_set():
            if self.resend_now or time.monotonic() >= next_resend:
                self.resend_now = False
                if not self.resend():
                    break
                next_resend = time.monotonic() + self.s.resend_interval
            wait = max(0.0, min(1.0, next_resend - time.monotonic()))
            batch = self.consumer.poll(timeout_ms=int(wait * 1000), max_records=self.s.batch_size)
            if batch:
                self.handle(batch)

    def handle(self, batch: dict[TopicPartition, list[Any]]) -> None:
        """Post what a batch changes, then commit it; a stop while waiting commits nothing."""
        posts: list[Postable] = []
        unknown: list[str] = []
        counts: Counter[str] = Counter()
        offsets: dict[TopicPartition, int] = {}
        now = now_utc()
        for tp, records in batch.items():
            for m in records:
                offsets[tp] = m.offset + 1
                try:
                    alert = decode_alert(m.value)
                except BAD_MESSAGE as err:
                    # Bad input never stops the stream: log it and move on.
                    log.warning(
                        "bad_message", partition=tp.partition, offset=m.offset, error=str(err)
                    )
                    counts["bad"] += 1
                    continue
                change = self.firing.apply(alert, now)
                counts[change.kind] += 1
                if change.postable is not None:
                    posts.append(change.postable)
                elif change.kind == "unknown":
                    unknown.append(change.alert_id)
        log.info(
            "batch_received",
            messages=sum(len(r) for r in batch.values()),
            offsets={f"{tp.partition}": o for tp, o in offsets.items()},
            firing=len(self.firing),
            **counts,
        )
        for alert_id in unknown:
            found = self._find(alert_id)
            if found is None:
                return
            posts += found
        if posts and not self.deliver(posts):
            return
        self.commit(offsets)
        log.info("batch_delivered", alerts=len(posts))

    def resend(self) -> bool:
        posts = self.firing.postables(now_utc())
        if not posts:
            return True
        ok = self.deliver(posts)
        if ok:
            log.info("resent", alerts=len(posts))
        return ok

    def deliver(self, alerts: Sequence[Postable]) -> bool:
        """Post until Alertmanager takes every alert; False only if stopped meanwhile."""
        return all(self._post(chunk) for chunk in _chunks(alerts))

    def _post(self, chunk: Sequence[Postable]) -> bool:
        delays = backoff(0.5, self.s.max_backoff)
        attempt = 0
        while True:
            try:
                self.am.post(chunk)
            except Unavailable as err:
                attempt += 1
                delay = next(delays)
                self.outage = True
                log.warning(
                    "alertmanager_unavailable",
                    attempt=attempt,
                    retry_in=round(delay, 2),
                    alerts=len(chunk),
                    error=str(err),
                )
                if not self._wait(delay):
                    return False
                continue
            except Rejected as err:
                if len(chunk) > 1:
                    # Find the alert Alertmanager refuses; the others go through.
                    return all(self._post([one]) for one in chunk)
                log.error("alert_rejected", labels=chunk[0]["labels"], error=str(err))
                return True
            if self.outage:
                # It may have restarted and forgotten every alert: re-send them all now.
                self.outage = False
                self.resend_now = True
                log.info("alertmanager_recovered", attempts=attempt)
            return True

    def _find(self, alert_id: str) -> list[Postable] | None:
        """The resolution of an alert this bridge never saw fire: end whatever Alertmanager
        holds under that id.  None if stopped while Alertmanager was down."""
        delays = backoff(0.5, self.s.max_backoff)
        while True:
            try:
                found = self.am.find(alert_id)
            except Unavailable as err:
                log.warning("alertmanager_unavailable", lookup=alert_id, error=str(err))
                if not self._wait(next(delays)):
                    return None
                continue
            except Rejected as err:
                log.error("lookup_rejected", alert_id=alert_id, error=str(err))
                return []
            now = now_utc()
            return [
                {**a, "endsAt": rfc3339(max(now, datetime.fromisoformat(a["startsAt"])))}
                for a in found
            ]

    def _wait(self, seconds: float) -> bool:
        """Sleep with the partitions paused, polling so the group keeps us as a member."""
        self.waiting = True
        paused = self.consumer.assignment()
        self.consumer.pause(*paused)
        try:
            until = time.monotonic() + seconds
            while not self.stop.is_set() and time.monotonic() < until:
                left = max(0.0, min(1.0, until - time.monotonic()))
                got = self.consumer.poll(timeout_ms=int(left * 1000))
                for tp, records in got.items():
                    # Should not happen (paused); if it does, read them again later.
                    self.consumer.seek(tp, records[0].offset)
        finally:
            self.waiting = False
            self.consumer.resume(*(tp for tp in self.consumer.paused()))
        return not self.stop.is_set()

    def commit(self, offsets: dict[TopicPartition, int]) -> None:
        mine = self.consumer.assignment()
        todo = {tp: OffsetAndMetadata(o, "", -1) for tp, o in offsets.items() if tp in mine}
        if not todo:
            return
        try:
            self.consumer.commit(todo)
        except KafkaError as err:
            # A rebalance took the partitions: their new owner re-reads and re-posts them,
            # which Alertmanager absorbs (same labels).
            log.warning("commit_failed", error=str(err))


class _PauseWhileWaiting(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge

    def on_partitions_revoked(self, revoked: Any) -> None:
        log.info("partitions_revoked", partitions=sorted(tp.partition for tp in revoked))

    def on_partitions_assigned(self, assigned: Any) -> None:
        log.info("partitions_assigned", partitions=sorted(tp.partition for tp in assigned))
        if self.bridge.waiting and assigned:
            self.bridge.consumer.pause(*assigned)


def rebuild(s: BridgeSettings, firing: FiringSet, stop: threading.Event) -> int:
    """Replay the topic up to the group's committed offsets into `firing` (posting nothing):
    what was committed was delivered, and what is still firing must be kept alive."""
    owner = KafkaConsumer(
        bootstrap_servers=s.bootstrap, group_id=s.group, enable_auto_commit=False, **s.client_config
    )
    reader = KafkaConsumer(
        bootstrap_servers=s.bootstrap, group_id=None, enable_auto_commit=False, **s.client_config
    )
    try:
        parts = reader.partitions_for_topic(s.topic) or set()
        tps = [TopicPartition(s.topic, p) for p in sorted(parts)]
        ends = {tp: owner.committed(tp) for tp in tps}
        todo = {tp: end for tp, end in ends.items() if end}
        if not todo:
            return 0
        reader.assign(list(todo))
        reader.seek_to_beginning(*todo)
        read = 0
        now = now_utc()
        while todo and not stop.is_set():
            for tp in [tp for tp, end in todo.items() if reader.position(tp) >= end]:
                reader.pause(tp)
                del todo[tp]
            if not todo:
                break
            for tp, records in reader.poll(timeout_ms=1000, max_records=5000).items():
                for m in records:
                    if m.offset >= ends[tp]:
                        continue
                    read += 1
                    with contextlib.suppress(*BAD_MESSAGE):
                        firing.apply(decode_alert(m.value), now)
        return read
    finally:
        reader.close()
        owner.close(autocommit=False)


def serve(s: BridgeSettings) -> int:
    """Run until SIGTERM or SIGINT: rebuild the firing set, then bridge."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    use_names(s.names)
    firing = FiringSet(s.link_base, s.ttl)
    read = rebuild(s, firing, stop)
    log.info(
        "bridge_started",
        topic=s.topic,
        group=s.group,
        replayed=read,
        firing=len(firing),
        unit_names=len(s.names.units),
        procedure_names=len(s.names.procedures),
    )
    consumer = KafkaConsumer(
        bootstrap_servers=s.bootstrap,
        group_id=s.group,
        client_id="dossierwatch-bridge",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=s.batch_size,
        # A bridge restarted after a crash takes the partitions over within 10 s; the
        # client's default (45 s) would leave alerts waiting that long.
        session_timeout_ms=10_000,
        heartbeat_interval_ms=3_000,
        **s.client_config,
    )
    try:
        Bridge(s, consumer, AlertmanagerClient(s.alertmanager), firing, stop).run()
    finally:
        consumer.close(autocommit=False)
        log.info("bridge_stopped", firing=len(firing))
    return 0
