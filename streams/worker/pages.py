"""The worker's own pages: /metrics (the table counted in slices between the stream's
work) and /health (the truth about the worker: a dead part answers 503 with why), and the
event-loop watch behind /health's `event_loop_lag_max_ms`.  While Faust restores the
tables /health answers 503 "recovering" (streams/worker/recovering.py): not ready.
/health/live is for a liveness probe: 503 only once a part is dead, 200 while recovering."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from faust.web import Request, Response, View
from prometheus_client import CollectorRegistry, generate_latest

from streams.metrics import OpenDossierCollector
from streams.worker.agent import Progress
from streams.worker.core import TableStates, WorkerCore
from streams.worker.recovering import RecoveryProgress, health, in_recovery
from streams.worker.settings import WorkerSettings
from streams.worker.vitals import Vitals

LOOP_STEP = 0.02

SLICE = 500
"""Dossiers counted for a scrape between two turns of the event loop: a few milliseconds."""


async def count_open_dossiers(store: TableStates, gauges: OpenDossierCollector) -> None:
    """Count the table for the open-dossier gauges on the event loop, a slice at a time.

    Not in a thread: a thread decoding 100,000 states holds the GIL against the stream
    for seconds (each of the loop's many small waits then costs it a switch interval), so
    on a live source the stream clock stalls behind its unread events and deadlines fire
    seconds late (bench/breach_lateness.py: p99 12 s with a scrape a second, against
    0.8 s without).  A thread would also read the table and the clocks while the stream
    changes them."""
    count = gauges.start()
    for i, d in enumerate(store.states(), 1):
        count.add(d)
        if i % SLICE == 0:
            await asyncio.sleep(0)
    gauges.publish(count)


def register_pages(
    app: Any,
    s: WorkerSettings,
    registry: CollectorRegistry,
    core: WorkerCore,
    progress: Progress,
    vitals: Vitals,
    gauges: OpenDossierCollector,
    restore: RecoveryProgress,
) -> None:
    counting = asyncio.Lock()  # two scrapes at once: the second waits, then counts anew

    @app.task  # type: ignore[untyped-decorator]
    async def watch_the_event_loop() -> None:
        # How long the loop was held by one piece of work: every request, scrape and
        # batch shares it with the stream, so none may hold it long.
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(LOOP_STEP)
            progress.loop_lag_max = max(progress.loop_lag_max, loop.time() - started - LOOP_STEP)

    @app.page("/metrics")  # type: ignore[untyped-decorator]
    async def metrics_page(web: View, request: Request) -> Response:
        async with counting:
            await count_open_dossiers(core.store, gauges)
            body = generate_latest(registry)  # the rest is small: bounded labels
        return web.bytes(body, content_type="text/plain; version=0.0.4")

    def fatal_reason() -> str | None:
        crashed = app.crash_reason
        return vitals.fatal or (f"crashed: {crashed!r}" if crashed else None)

    @app.page("/health/live")  # type: ignore[untyped-decorator]
    async def liveness_page(web: View, request: Request) -> Response:
        # For a liveness probe: a restore of a large changelog takes minutes and is not a
        # reason to restart the process (that would start the restore over), so only a
        # dead part answers 503 here; /health is the readiness answer.
        reason = fatal_reason()
        status, http = health(reason, False)
        body = {"status": "recovering" if status == "ok" and in_recovery(app) else status}
        return web.json({**body, "reason": reason} if reason else body, status=http)

    @app.page("/health")  # type: ignore[untyped-decorator]
    async def health_page(web: View, request: Request) -> Response:
        last = progress.last_event_wall
        reason = fatal_reason()
        status, http = health(reason, in_recovery(app))
        body: dict[str, Any] = {
            "status": status,
            "assigned_partitions": sorted(
                tp.partition for tp in app.assignor.assigned_actives() if tp.topic == s.events_topic
            ),
            "dossiers_waiting_for_a_deadline": core.waiting(),
            "seconds_since_last_event": None if last is None else round(time.time() - last, 3),
            "index_rebuilds": progress.recoveries,
            # The longest the event loop was held since the previous /health answer.
            "event_loop_lag_max_ms": round(progress.loop_lag_max * 1000, 1),
        }
        progress.loop_lag_max = 0.0
        if reason:
            body["reason"] = reason
        if status == "recovering" and restore.active:
            body["recovery"] = restore.as_json()
        return web.json(body, status=http)
