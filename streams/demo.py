"""`dossierwatch demo`: the embedded default — no broker, the simulator feeding the core
in-process, a live board in the terminal, and on localhost the wallboard, the dossier pages
(streams/web/demo_server.py) and Prometheus metrics.

Stream time, as everywhere (DESIGN principle 2): events are released on a compressed
timeline (`producers.pacing`) and read on the same stream clocks as the live worker's
(streams/core/clock.py), running at the compression rate, so a dossier that hears
nothing still breaches on time.  The clock moves forward only while pacing waits for the
next event: that event lies ahead of the clock, so nothing fires ahead of an event that
would have prevented it, and a run gives the alerts a replay of the same events gives.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from producers.pacing import paced
from streams.contract.alerts import Alert
from streams.contract.events import InvalidEvent, event_from_dict
from streams.core.boundary import Reject, take_event
from streams.core.calendar import to_instant
from streams.core.clock import SourceClocks
from streams.core.engine import Engine
from streams.core.policy import PolicyBook
from streams.web.auth import Guard, wsgi_guard

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from streams.catalog import Catalog
    from streams.metrics import PipelineMetrics

ICT = timezone(timedelta(hours=7))
DEFAULT_START = datetime(2025, 9, 8, 7, 30, tzinfo=ICT)
"""A Monday under Decree 118: a fixed start keeps `--seed` runs identical."""
DEFAULT_PER_DAY = 300.0
DEFAULT_COMPRESSION = 43200.0  # a working month (30 calendar days) in about a minute
DEFAULT_METRICS_PORT = 9464
DEFAULT_WEB_PORT = 8464
DEFAULT_STALE_AFTER = 10.0
"""Wall-clock seconds without an event or a clock tick before the wallboard says its
figures are stale: at the default pace, several simulated days."""
RECENT_ALERTS = 200
ALERTS_KEPT_FOR = 20_000
"""Dossiers whose alerts the run keeps for their pages (the latest that had one)."""


class _Stop(Exception):
    """The --duration has run out (raised from inside the pacing wait)."""


class DemoRun:
    """Feeds paced simulator events to an engine and keeps the figures the screen shows.

    `clock` and `sleep` are injected so tests run the loop on a fake clock."""

    def __init__(
        self,
        engine: Engine,
        *,
        compression: float,
        refresh: float = 1.0,
        duration: float | None = None,
        metrics: PipelineMetrics | None = None,
        lock: threading.Lock | None = None,
        on_refresh: Callable[[DemoRun], None] | None = None,
        on_alert: Callable[[Alert], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        step: float = 0.05,
    ) -> None:
        self.engine = engine
        self.compression = compression
        self.refresh = refresh
        self.duration = duration
        self.metrics = metrics
        self.lock = lock or threading.Lock()
        self.on_refresh = on_refresh
        self.on_alert = on_alert
        self.clock = clock
        self.sleep = sleep
        self.step = step  # longest real sleep: how often the clock and the screen move
        self.recent: deque[Alert] = deque(maxlen=RECENT_ALERTS)
        self.fired: Counter[tuple[str, str]] = Counter()
        self.resolved = 0
        self.invalid = 0
        self.started = clock()  # reset by run(); set here for a Ctrl-C before it starts
        self.first_event: int | None = None
        # When (on `clock`) the run last read an event and last moved stream time on:
        # what tells a screen its figures are live.
        self.last_event: float | None = None
        self.last_tick: float | None = None
        self.by_dossier: OrderedDict[str, list[Alert]] = OrderedDict()
        # Stream time at the compression rate; nothing to settle: pacing releases every
        # event exactly when its time comes, in order.
        self.clocks = SourceClocks(rate=compression, settle=0)
        if metrics is not None:
            engine.observer = metrics
        self._deadline: float | None = None
        self._next_refresh = 0.0

    @property
    def now(self) -> int | None:
        """The simulated instant the engine has reached (what the screen and gauges show)."""
        return self.engine.now

    @property
    def alerts_fired(self) -> int:
        return sum(self.fired.values())

    def run(self, events: Iterable[Mapping[str, object]]) -> str:
        """Consume `events` in time order; 'finished' when they end, 'duration' on time-out."""
        self.started = self._next_refresh = self.clock()
        if self.duration is not None:
            self._deadline = self.started + self.duration
        try:
            for raw in paced(
                events, compression=self.compression, clock=self.clock, sleep=self._wait
            ):
                self._take(raw)
                self._housekeeping()
        except _Stop:
            return "duration"
        return "finished"

    def _take(self, raw: Mapping[str, object]) -> None:
        engine = self.engine
        try:
            event = event_from_dict(dict(raw))
        except InvalidEvent as err:
            self._invalid(err.reason)
            return
        t = to_instant(event.time)
        with self.lock:
            if self.first_event is None:
                self.first_event = t
            self.clocks.read(event.source, t, self.clock())
            self._judge()
            alerts = take_event(engine, event)
            self.last_event = self.clock()
            if isinstance(alerts, Reject):
                self._invalid(alerts.reason)
                return
            self._record(alerts)

    def _invalid(self, reason: str) -> None:
        self.invalid += 1
        if self.metrics is not None:
            self.metrics.rejected(reason)

    def _judge(self) -> None:
        """Bring every source's dossiers up to its stream clock (the lock held)."""
        wall = self.last_tick = self.clock()
        for lane in sorted(self.engine.lanes):
            judge = self.clocks.judge(self.engine.source_names[lane[1]], wall)
            if judge is not None:
                self._record(self.engine.advance(judge, [lane]))
                if self.engine.now is None or judge > self.engine.now:
                    self.engine.now = judge

    def _record(self, alerts: list[Alert]) -> None:
        for a in alerts:
            if a.status == "firing":
                self.fired[(a.rule, a.level)] += 1
                self.recent.append(a)
            else:
                self.resolved += 1
            self._keep(a)
            if self.on_alert is not None:
                self.on_alert(a)

    def _keep(self, a: Alert) -> None:
        kept = self.by_dossier.pop(a.dossier, None) or []
        kept.append(a)
        self.by_dossier[a.dossier] = kept[-20:]
        if len(self.by_dossier) > ALERTS_KEPT_FOR:
            self.by_dossier.popitem(last=False)

    def alerts_of(self, dossier: str) -> list[Alert]:
        """The alerts recorded for `dossier` (its latest 20), oldest first."""
        with self.lock:
            return list(self.by_dossier.get(dossier, ()))

    def heartbeat(self) -> tuple[float | None, float | None, float]:
        """(last event, last tick, start) as epoch seconds, for the board's freshness."""
        offset = time.time() - self.clock()
        last_event, last_tick = self.last_event, self.last_tick
        return (
            None if last_event is None else last_event + offset,
            None if last_tick is None else last_tick + offset,
            self.started + offset,
        )

    def _wait(self, seconds: float) -> None:
        """Pacing holds the next event back: let simulated time run up to the wall clock."""
        self.sleep(min(seconds, self.step))
        if self.first_event is not None:
            with self.lock:
                self._judge()
        self._housekeeping()

    def _housekeeping(self) -> None:
        wall = self.clock()
        if self._deadline is not None and wall >= self._deadline:
            raise _Stop
        if wall >= self._next_refresh:
            self._next_refresh = wall + self.refresh
            if self.on_refresh is not None and self.engine.now is not None:
                self.on_refresh(self)


def serve_metrics(
    port: int, engine: Engine, book: PolicyBook, lock: threading.Lock, guard: Guard
) -> tuple[PipelineMetrics, WSGIServer]:
    """/metrics on 127.0.0.1:`port`, behind the guard: the event counters and the
    open-dossier gauges, the gauges computed at the engine's simulated now so that they
    match the board."""
    from wsgiref.simple_server import make_server

    from prometheus_client import CollectorRegistry, make_wsgi_app
    from prometheus_client.core import Metric
    from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler
    from prometheus_client.registry import Collector

    from streams.metrics import OpenDossierCollector, PipelineMetrics

    class Locked(Collector):
        """Scrapes run on the server's thread: read the state only between events."""

        def __init__(self, inner: Collector) -> None:
            self.inner = inner

        def describe(self) -> Iterator[Metric]:
            return iter(())  # the inner collector's series change: nothing to check upfront

        def collect(self) -> Iterator[Metric]:
            with lock:
                families = list(self.inner.collect())
            return iter(families)

    registry = CollectorRegistry()
    metrics = PipelineMetrics(registry, book)
    registry.register(
        # Every state, finished ones included: the 766 gauge counts those finished in its
        # period, as the worker's does (the board's rate is the same number).
        Locked(OpenDossierCollector(engine.states, book, clock=lambda: engine.now or 0))
    )
    app = wsgi_guard(make_wsgi_app(registry), guard)
    server = make_server(
        "127.0.0.1", port, app, server_class=ThreadingWSGIServer, handler_class=_SilentHandler
    )
    threading.Thread(target=server.serve_forever, daemon=True, name="metrics").start()
    return metrics, server


def serve_web(
    port: int,
    run: DemoRun,
    book: PolicyBook,
    guard: Guard,
    *,
    catalog: Catalog | None = None,
    stale_after: float | None = None,
) -> WSGIServer:
    """The wallboard, its API and the dossier pages on 127.0.0.1:`port`, behind the guard,
    read from the run's engine under its lock."""
    from streams.web.demo_server import DemoSite, serve

    site = DemoSite(
        run.engine,
        book,
        run.lock,
        guard,
        heartbeat=run.heartbeat,
        alerts=run.alerts_of,
        stale_after=DEFAULT_STALE_AFTER if stale_after is None else stale_after,
        catalog=catalog,
    )
    return serve(site, port)
