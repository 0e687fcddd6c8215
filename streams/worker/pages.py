"""The worker's own pages: /metrics (computed off the event loop) and /health (the truth
about the worker: a dead part answers 503 with why), and the event-loop watch behind
/health's `event_loop_lag_max_ms`."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from faust.web import Request, Response, View
from prometheus_client import CollectorRegistry, generate_latest

from streams.worker.agent import Progress
from streams.worker.core import WorkerCore
from streams.worker.settings import WorkerSettings
from streams.worker.vitals import Vitals

LOOP_STEP = 0.02


def register_pages(
    app: Any,
    s: WorkerSettings,
    registry: CollectorRegistry,
    core: WorkerCore,
    progress: Progress,
    vitals: Vitals,
) -> None:
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
        # Gauges are computed from every stored dossier: off the event loop, so that a
        # scrape of a large table never stalls the stream.
        loop = asyncio.get_running_loop()
        body = await loop.run_in_executor(None, generate_latest, registry)
        return web.bytes(body, content_type="text/plain; version=0.0.4")

    @app.page("/health")  # type: ignore[untyped-decorator]
    async def health_page(web: View, request: Request) -> Response:
        last = progress.last_event_wall
        crashed = app.crash_reason
        reason = vitals.fatal or (f"crashed: {crashed!r}" if crashed else None)
        body: dict[str, Any] = {
            "status": "dead" if reason else "ok",
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
        return web.json(body, status=503 if reason else 200)
