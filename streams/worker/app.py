"""The Faust app: a thin shell around `WorkerCore`, wired from its parts —
`topology` (app, topics, tables), `agent` (batches), `deadlines` (timer, recovery),
`pages` (/metrics, /health), `vitals` (no silent death), `dead_letters`.

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
with a non-zero exit so that its supervisor restarts it.  While the tables are restored
from their changelogs /health answers 503 "recovering", and a line says how far.

Takeover: standby table replicas, a 6 s session and 1.5 s heartbeats (WorkerSettings)
let the survivor of a kill -9 serve the dead worker's partitions within ~10 s.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import faust
from prometheus_client import CollectorRegistry

from streams.catalog.metrics import CatalogCollector
from streams.core.clock import graces
from streams.core.policy import PolicyBook
from streams.metrics import OpenDossierCollector, PipelineMetrics, StreamClockCollector
from streams.web import register_views
from streams.web.auth import Guard
from streams.worker import rewinding, topology
from streams.worker.agent import BatchAgent, Parts, Progress
from streams.worker.changelog import ChangelogWriter, drop_if_stale
from streams.worker.core import TableStates, WorkerCore
from streams.worker.dead_letters import DeadLetters
from streams.worker.deadlines import Deadlines
from streams.worker.pages import register_pages
from streams.worker.recovering import RecoveryProgress, watch
from streams.worker.settings import WorkerSettings
from streams.worker.vitals import Vitals


def create_app(
    s: WorkerSettings, book: PolicyBook, guard: Guard, officer_key: bytes | None = None
) -> faust.App:
    """The app, wired: topology, core, agent, timer, recovery, pages."""
    t = topology.build(s, guard)
    app = t.app
    # Before any store opens: tables a refused changelog record left stale are dropped.
    drop_if_stale(Path(app.conf.datadir), Path(app.conf.tabledir))
    registry = CollectorRegistry()
    metrics = PipelineMetrics(registry, book)
    vitals = Vitals()
    progress = Progress()
    fault = os.environ.get("DOSSIERWATCH_INJECT_FAULT", "")
    if fault == "slow_seek":
        rewinding.hold_seeks(app, 5.0)
    store = TableStates(t.dossiers)
    core = WorkerCore(
        book,
        store,
        metrics,
        s.retention_days,
        partition_of=t.partition_of,
        settle=s.settle_seconds,
        grace=graces(s.source_grace, s.default_grace),
        officer_key=officer_key,
    )
    # Counted by the /metrics page in slices (pages.count_open_dossiers), not by the scrape.
    gauges = OpenDossierCollector(None, book, clock=lambda: core.stream_now(time.time()))
    registry.register(gauges)
    registry.register(StreamClockCollector(lambda: core.clocks.values(), metrics.source))
    if s.catalog is not None:
        registry.register(CatalogCollector(s.catalog))
    if t.rocksdb is not None:
        from streams.worker.rocksdb_store import RocksDBMemory

        registry.register(RocksDBMemory(t.rocksdb))

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

    def changelog_failed(err: BaseException) -> None:
        # A state the broker refused: no commit may pass its event, and the worker stops.
        rewinding.refuse_commits(app, f"changelog record refused: {type(err).__name__}: {err}")
        vitals.die("changelog", err)

    dead_letters = DeadLetters(s, send_direct)
    changelog = ChangelogWriter(app, changelog_failed)
    parts = Parts(s, t, core, metrics, progress, send_direct, dead_letters, changelog, fault)
    agent, deadlines = BatchAgent(parts), Deadlines(parts)

    @app.agent(t.source)
    async def process(stream: faust.StreamT[bytes]) -> None:
        try:
            await agent.run(stream)
        except asyncio.CancelledError:
            raise  # a rebalance or a stop: Faust restarts or ends the agent itself
        except Exception as err:
            vitals.die("agent", err)
            raise

    app.timer(interval=s.tick_interval, name="look_for_due_deadlines")(
        vitals.guard("timer", deadlines.look)
    )
    t.dossiers.on_recover(vitals.guard("recovery", deadlines.recover))
    restore = RecoveryProgress()

    async def watch_the_restore(_: Any) -> AsyncIterator[None]:
        # Faust starts app tasks only once the first restore is over: the watch runs with
        # the web server instead, which serves /health from the start.
        task = asyncio.ensure_future(watch(app, restore))
        yield
        task.cancel()

    app.web.web_app.cleanup_ctx.append(watch_the_restore)  # type: ignore[attr-defined]

    register_pages(app, s, registry, core, progress, vitals, gauges, restore)
    register_views(app, table=t.dossiers, core=core, settings=s, book=book)
    app.dossierwatch_vitals = vitals  # type: ignore[attr-defined]
    return app
