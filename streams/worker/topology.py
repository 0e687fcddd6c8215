"""The worker's Faust topology: the app, its topics and its two tables.

Topics (all keyed by dossier id, raw bytes): dossier-events (in), dossier-ticks (in and
out, co-partitioned with the events), dossier-alerts and dossier-events-dlq (out).
Tables (co-partitioned with the events, compacted changelogs): `dossiers` (each
dossier's packed state, streams/core/store.py) and `clocks` (each partition's stream
clocks, so a restarted worker resumes at the stream time where it stopped).
"""

from __future__ import annotations

import functools
import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import faust
from aiokafka.partitioner import murmur2
from faust.streams import _current_event

from streams.web.auth import Guard
from streams.web.guard import middleware
from streams.worker import rewinding
from streams.worker.restoring import Tables
from streams.worker.settings import WorkerSettings

MAX_MESSAGE_BYTES = 8 * 1024 * 1024
"""Producer/consumer ceiling: oversized events must reach the DLQ whole, not fail to send."""
RAW: dict[str, Any] = {
    "key_type": bytes,
    "value_type": bytes,
    "key_serializer": "raw",
    "value_serializer": "raw",
}


@dataclass(frozen=True)
class Topology:
    app: faust.App
    source: Any
    """dossier-events and dossier-ticks, read by one agent."""
    dossiers: Any
    clocks: Any
    rocksdb: Any = None
    """The RocksDB options every table shares (`BudgetOptions`), None on the memory store."""

    def partition_of(self, name: str) -> int:
        return partition(name, self.partitions)

    @functools.cached_property
    def partitions(self) -> int:
        # Read once: a Faust setting is a property behind a registry, several µs a read.
        return int(self.app.conf.topic_partitions)


@functools.lru_cache(maxsize=4096)
def partition(name: str, partitions: int) -> int:
    """The producers' partitioner (murmur2, as Java's and kafka-python's).  Pure Python,
    and asked two or three times per event for the same dossier: remembered for the
    dossiers seen last."""
    return int(murmur2(name.encode()) & 0x7FFFFFFF) % partitions


def build(s: WorkerSettings, guard: Guard) -> Topology:
    datadir = os.path.join(s.data_dir, s.app_id)
    os.makedirs(datadir, exist_ok=True)
    app = faust.App(
        s.app_id,
        broker=f"kafka://{s.bootstrap}",
        store=s.store,
        # One folder per app id: two apps on one machine never share table files.
        datadir=datadir,
        topic_partitions=s.partitions,
        # A standby copy of every table partition on another worker: after a kill the
        # survivor serves the partitions it takes over from state it already holds.
        table_standby_replicas=s.standby_replicas,
        # How soon a dead worker's partitions move (docs/operations.md, "Takeover").
        broker_session_timeout=s.session_timeout,
        broker_heartbeat_interval=s.heartbeat_interval,
        broker_rebalance_timeout=s.rebalance_timeout,
        consumer_group_instance_id=s.group_instance_id,
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
        # Tables restored by our loop, not Faust's record-by-record one (restoring.py).
        TableManager=Tables,
        **s.faust_client_config(),
    )
    # Before anything reaches the transport: events a rebalance dropped are read again.
    rewinding.install(app)
    # Before any route: every request meets the guard first (streams/web/guard.py).
    app.web.web_app.middlewares.append(middleware(guard))  # type: ignore[attr-defined]
    source = app.topic(s.events_topic, s.ticks_topic, **RAW)
    dossiers, clocks = _bytes_table(app, s, "dossiers"), _bytes_table(app, s, "clocks")
    if s.store.startswith("rocksdb"):
        from streams.worker.rocksdb_store import apply_budget

        budgeted = apply_budget([dossiers, clocks], s.rocksdb)
        return Topology(app, source, dossiers, clocks, budgeted)
    return Topology(app, source, dossiers, clocks)


def _bytes_table(app: faust.App, s: WorkerSettings, name: str) -> Any:
    return app.Table(
        name,
        default=None,
        partitions=s.partitions,
        schema=faust.Schema(**RAW),
        # The store and the changelog recovery take their codec from these types
        # (bytes → raw); without them recovery would read the states as JSON.
        key_type=bytes,
        value_type=bytes,
        # Compacted changelog: only the latest value of each key matters on recovery.
        extra_topic_configs={"cleanup.policy": "compact"},
    )


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
