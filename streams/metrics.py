"""Prometheus metrics: counters updated per event, gauges computed at scrape time.

Labels are bounded by construction (principle 6): unit, procedure group, rule, level,
event type, reason — never a dossier id or an officer.  Units and procedure groups come
from the events, so each label keeps at most `max_values` distinct values and folds the
rest into "other": a misbehaving emitter cannot explode the series count.

With several workers each reports only the dossiers of its own partitions, so sums
across workers are the centre's totals.

Decision 766's on-time rate per unit (deploy/prometheus/rules/recording.yml) reads
`dossierwatch_handled_dossiers`: the dossiers handled in the period — finished in the
last `period_days`, or still being handled — split by whether they count as on time.
It is a gauge computed from the table rather than a window over counters, so the rate
does not depend on Prometheus keeping 30 days of samples, on scrape gaps or on worker
restarts (the table is rebuilt from its changelog).
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from streams.contract.alerts import Alert
from streams.contract.events import TYPE_NAMES, DossierEvent, type_name
from streams.core.calendar import DAY
from streams.core.clock import SourceClocks
from streams.core.detectors import deadline
from streams.core.dossier import COMPLETED, DELIVERED, OPEN, SUPPLEMENT, Dossier
from streams.core.figures import on_time_766, timeliness
from streams.core.holidays import HolidayTable
from streams.core.policy import PolicyBook

OTHER = "other"
PERIOD_766_DAYS = 30
"""The rolling period of the 766 inputs; a worker must keep finished dossiers at least
this long (WorkerSettings.retention_days) or the finished side undercounts."""

# `_created` series double the count for no use in dashboards or rules.
disable_created_metrics()  # type: ignore[no-untyped-call]


class BoundedLabel:
    """Keeps a label's values to a fixed number; later newcomers become `other`."""

    def __init__(self, max_values: int = 200) -> None:
        self.max_values = max_values
        self._seen: set[str] = set()

    def __call__(self, value: str | None) -> str:
        if not value:
            return "none"
        if value in self._seen:
            return value
        if len(self._seen) < self.max_values:
            self._seen.add(value)
            return value
        return OTHER


class PipelineMetrics:
    """Per-event counters and histograms of one worker (or of the demo)."""

    def __init__(self, registry: CollectorRegistry, book: PolicyBook) -> None:
        self.book = book
        self.unit = BoundedLabel()
        self.group = BoundedLabel(100)
        self.events = Counter(
            "dossierwatch_events", "Dossier events processed, by type", ["type"], registry=registry
        )
        self.invalid = Counter(
            "dossierwatch_events_invalid",
            "Events rejected to the dead-letter topic, by reason",
            ["reason"],
            registry=registry,
        )
        self.duplicates = Counter(
            "dossierwatch_events_duplicate",
            "Events dropped as redeliveries of an event the dossier already has (same"
            " source, id and content)",
            registry=registry,
        )
        self.alerts = Counter(
            "dossierwatch_alerts",
            "Alerts fired, by rule and level (Cảnh báo theo quy tắc, mức)",
            ["rule", "level"],
            registry=registry,
        )
        self.unit_alerts = Counter(
            "dossierwatch_unit_alerts",
            "Alerts fired, by the unit holding the dossier and rule"
            " (ping-pong, overdue… per unit: Cảnh báo theo đơn vị)",
            ["unit", "rule"],
            registry=registry,
        )
        self.received = Counter(
            "dossierwatch_dossiers_received",
            "Dossiers accepted (Tiếp nhận), by receiving unit and procedure group",
            ["unit", "procedure_group"],
            registry=registry,
        )
        self.completed = Counter(
            "dossierwatch_dossiers_completed",
            "Dossiers finished, by procedure group and timeliness"
            " (early=Sớm hạn, on_time=Đúng hạn, late=Trễ hạn; Decision 766 method)",
            ["unit", "procedure_group", "timeliness"],
            registry=registry,
        )
        # Seconds, the base unit Prometheus expects (promtool lints "days"): working-day
        # time in which each working day weighs 86 400 s, so `/ 86400` gives working days.
        self.handling_time = Histogram(
            "dossierwatch_handling_working_time_seconds",
            "Working-day time from receipt to completion (one working day = 86400 s),"
            " supplement waits included",
            ["procedure_group"],
            buckets=tuple(days * DAY for days in (0.5, 1, 2, 3, 5, 7, 10, 15, 20, 30, 45, 60)),
            registry=registry,
        )
        self.state_migrations = Counter(
            "dossierwatch_state_migrations",
            "Stored table values read through a migration from an older layout, by table"
            " and the layout they had (streams/core/layouts.py)",
            ["table", "from_layout"],
            registry=registry,
        )
        self.latency = Histogram(
            "dossierwatch_event_to_alert_seconds",
            "Wall-clock seconds from an event entering Kafka to its alert being sent",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        )
        self.last_event_time = Gauge(
            "dossierwatch_last_event_timestamp_seconds",
            "Event time of the latest event processed (Unix seconds)",
            registry=registry,
        )
        self.last_processed = Gauge(
            "dossierwatch_last_processed_timestamp_seconds",
            "Wall-clock time the latest event was processed (Unix seconds)",
            registry=registry,
        )
        self.lag = Gauge(
            "dossierwatch_consumer_lag_messages",
            "Events waiting in each partition of dossier-events this worker owns",
            ["partition"],
            registry=registry,
        )
        # Per source (the handling systems: a handful, bounded like the units).
        self.source = BoundedLabel(64)
        self.source_events = Counter(
            "dossierwatch_source_events",
            "Events read from each source (its rate is the source's events per second)",
            ["source"],
            registry=registry,
        )
        self.source_late = Counter(
            "dossierwatch_source_late_events",
            "Events dated before their source's stream clock when read (applied in event"
            " time: alerts they prove wrong are resolved)",
            ["source"],
            registry=registry,
        )
        self.source_lateness = Histogram(
            "dossierwatch_source_lateness_seconds",
            "How far behind its source's stream clock a late event was",
            ["source"],
            buckets=(1, 5, 30, 60, 300, 900, 3600, 4 * 3600, 86400, 7 * 86400),
            registry=registry,
        )
        for t in sorted(TYPE_NAMES):
            self.events.labels(t)
        self._by_type = {t: self.events.labels(t) for t in TYPE_NAMES}
        # Computed at scrape time from the policies' holiday tables, on the same registry.
        registry.register(DerivedYearCollector(book))

    # -- the engine's observer (streams.core.engine.Observer) ------------------------

    def applied(
        self, event: DossierEvent, before: int | None, d: Dossier, alerts: list[Alert], at: int
    ) -> None:
        self.observe(type_name(event), before, d, alerts, at)

    def fired(self, before: int, d: Dossier, alerts: list[Alert]) -> None:
        if before != d.status:
            self.transition(before, d)
        self.count_alerts(alerts)

    def duplicate(self) -> None:
        self.duplicates.inc()

    def rejected(self, reason: str) -> None:
        self.invalid.labels(reason).inc()

    def read(self, source: str, lateness: int) -> None:
        """An event of `source` was read, `lateness` seconds behind its clock."""
        label = self.source(source)
        self.source_events.labels(label).inc()
        if lateness > 0:
            self.source_late.labels(label).inc()
            self.source_lateness.labels(label).observe(lateness)

    def observe(
        self,
        type_name: str,
        before: int | None,
        d: Dossier,
        alerts: Iterable[Alert],
        event_time: int,
    ) -> None:
        """Count one applied event, the transition it caused and the alerts it fired."""
        self._by_type[type_name].inc()
        self.last_event_time.set(event_time)
        self.last_processed.set(time.time())
        if before != d.status:
            self.transition(before, d)
        self.count_alerts(alerts)

    def transition(self, before: int | None, d: Dossier) -> None:
        if d.status == OPEN and before in (None, 0, 1):
            self.received.labels(self.unit(d.unit), self.group(d.group)).inc()
        elif d.status in (COMPLETED, DELIVERED) and before not in (COMPLETED, DELIVERED):
            group = self.group(d.group)
            self.completed.labels(self.unit(d.unit), group, timeliness(d)).inc()
            x = d.x
            if x is not None and x.completed_at is not None and d.received_at is not None:
                cal = self.book[d.policy].calendar
                worked = cal.working_seconds_between(d.received_at, x.completed_at)
                self.handling_time.labels(group).observe(worked)

    def count_alerts(self, alerts: Iterable[Alert]) -> None:
        for a in alerts:
            if a.status == "firing":
                self.alerts.labels(a.rule, a.level).inc()
                self.unit_alerts.labels(self.unit(a.unit), a.rule).inc()


class OpenDossierCount:
    """Trong hạn / Sắp đến hạn / Quá hạn per unit as of `now`, one dossier at a time
    (so that a driver can count a large table in slices between its other work)."""

    def __init__(self, now: int, unit: Callable[[str | None], str], period: int) -> None:
        self.now = now
        self.unit = unit
        self.period_start = now - period
        self.period_days = period // DAY
        self.open, self.at_risk = Tally[str](), Tally[str]()
        self.overdue, self.waiting = Tally[str](), Tally[str]()
        self.handled = Tally[tuple[str, str, str]]()
        self.oldest = 0

    def add(self, d: Dossier) -> None:
        now, unit = self.now, self.unit(d.unit)
        if d.status in (OPEN, SUPPLEMENT):
            on_time = on_time_766(d, now)
            self.handled[unit, "in_progress", "on_time" if on_time else "late"] += 1
        elif (
            d.status in (COMPLETED, DELIVERED)
            and d.x is not None
            and d.x.completed_at is not None
            and d.x.completed_at >= self.period_start
        ):
            self.handled[unit, "finished", timeliness(d)] += 1
        if d.status == OPEN:
            self.open[unit] += 1
            if d.due is not None and d.due < now:
                self.overdue[unit] += 1
                self.oldest = max(self.oldest, now - d.due)
            elif deadline.is_near_due(d, now):
                self.at_risk[unit] += 1
        elif d.status == SUPPLEMENT:
            self.waiting[unit] += 1

    def families(self) -> Iterator[GaugeMetricFamily]:
        yield _family(
            "dossierwatch_open_dossiers",
            "Open dossiers whose time limit runs, by unit (Đang xử lý)",
            self.open,
        )
        yield _family(
            "dossierwatch_at_risk_dossiers",
            "Open dossiers past their first near-due warning (Sắp đến hạn)",
            self.at_risk,
        )
        yield _family(
            "dossierwatch_overdue_dossiers",
            "Open dossiers past their due date (Quá hạn)",
            self.overdue,
        )
        yield _family(
            "dossierwatch_waiting_supplement_dossiers",
            "Dossiers waiting for the citizen's documents (time limit stopped)",
            self.waiting,
        )
        g = GaugeMetricFamily(
            "dossierwatch_oldest_overdue_seconds",
            "How long the most overdue open dossier has been overdue",
        )
        g.add_metric([], self.oldest)
        yield g
        yield _handled_family(self.handled, self.period_days)


class OpenDossierCollector(Collector):
    """The open-dossier gauges, computed from the state at scrape time.

    With `states`, a scrape counts every dossier itself.  Without, a driver that must not
    hold its event loop that long counts ahead (`start`, then `add` in slices) and hands
    the finished count over with `publish`; a scrape exports the last one published."""

    def __init__(
        self,
        states: Callable[[], Iterable[Dossier]] | None,
        book: PolicyBook,
        clock: Callable[[], float] = time.time,
        max_units: int = 200,
        period_days: int = PERIOD_766_DAYS,
    ) -> None:
        self.states = states
        self.book = book
        self.clock = clock
        self.unit = BoundedLabel(max_units)
        self.period = period_days * DAY
        self.published: OpenDossierCount | None = None

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # computed at scrape time; nothing to check at registration

    def start(self) -> OpenDossierCount:
        """A new, empty count as of the clock's present."""
        return OpenDossierCount(int(self.clock()), self.unit, self.period)

    def publish(self, count: OpenDossierCount) -> None:
        self.published = count

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self.states is None:
            count = self.published or self.start()
        else:
            count = self.start()
            for d in self.states():
                count.add(d)
        yield from count.families()


# Every combination is reported for each unit with a handled dossier, zeros included, so
# that a rule selecting timeliness!="late" never loses a unit whose dossiers are all late.
_HANDLED_KINDS = (
    ("finished", "early"),
    ("finished", "on_time"),
    ("finished", "late"),
    ("in_progress", "on_time"),
    ("in_progress", "late"),
)


def _handled_family(handled: Tally[tuple[str, str, str]], days: int) -> GaugeMetricFamily:
    g = GaugeMetricFamily(
        "dossierwatch_handled_dossiers",
        f"Decision 766 inputs: dossiers handled in the period, by unit — finished in the last"
        f" {days} days (stage=finished: early=Sớm hạn, on_time=Đúng hạn, late=Trễ hạn) or"
        " being handled (stage=in_progress: on_time=Trong hạn, late=Quá hạn or more than"
        " one supplement request)",
        labels=["unit", "stage", "timeliness"],
    )
    for unit in sorted({unit for unit, _, _ in handled}):
        for stage, kind in _HANDLED_KINDS:
            g.add_metric([unit, stage, kind], handled[unit, stage, kind])
    return g


def _family(name: str, doc: str, values: Tally[str]) -> GaugeMetricFamily:
    g = GaugeMetricFamily(name, doc, labels=["unit"])
    for unit, n in sorted(values.items()):
        g.add_metric([unit], n)
    return g


class StreamClockCollector(Collector):
    """Each source's stream clock against the wall clock, at scrape time: a source that
    falls silent or behind shows here before its dossiers are misjudged."""

    def __init__(
        self,
        clocks: Callable[[], Iterable[SourceClocks]],
        label: BoundedLabel,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clocks = clocks
        self.label = label
        self.clock = clock

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        wall = self.clock()
        stream: dict[str, int] = {}
        read: dict[str, float] = {}
        for clocks in self.clocks():
            for source in clocks.sources():
                label = self.label(source)
                now, last = clocks.now(source, wall), clocks.last_read(source)
                if now is not None:
                    stream[label] = max(stream.get(label, now), now)
                if last is not None:
                    read[label] = max(read.get(label, last), last)
        behind = GaugeMetricFamily(
            "dossierwatch_source_behind_seconds",
            "Wall clock minus the source's stream time (how late its dossiers are judged)",
            labels=["source"],
        )
        times = GaugeMetricFamily(
            "dossierwatch_source_stream_time_seconds",
            "The source's stream time (Unix seconds): its latest event time plus the wall"
            " time since, held while events wait to be read",
            labels=["source"],
        )
        last_read = GaugeMetricFamily(
            "dossierwatch_source_last_read_timestamp_seconds",
            "Wall-clock time the source's latest event was read (Unix seconds)",
            labels=["source"],
        )
        for label in sorted(stream):
            behind.add_metric([label], wall - stream[label])
            times.add_metric([label], stream[label])
        for label in sorted(read):
            last_read.add_metric([label], read[label])
        yield behind
        yield times
        yield last_read


class DerivedYearCollector(Collector):
    """The years some calendar counted in days off derived from the Labour Code's rule
    rather than the published table, at scrape time: their swaps and bridges are unknown,
    so limits reaching into them may end a day or two early or late."""

    def __init__(self, book: PolicyBook) -> None:
        # One table per distinct holiday table: the built-in policies share one.
        tables: dict[int, HolidayTable] = {}
        for p in book.policies:
            for spec in (p.calendar.spec, *p.unit_calendars.values()):
                if spec.national_holidays:
                    tables[id(spec.holidays)] = spec.holidays
        self.tables = list(tables.values())

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        g = GaugeMetricFamily(
            "dossierwatch_calendar_year_derived",
            "1 for each year a calendar counted with days off derived from the Labour Code"
            " (no official table loaded: swaps and make-up Saturdays unknown, limits may be"
            " off by a day or more); load the official days-off table for that year into"
            " streams/policy/holidays-vn.toml",
            labels=["year"],
        )
        years = sorted({y for table in self.tables for y in table.derived_years_used()})
        for year in years:
            g.add_metric([str(year)], 1)
        yield g
