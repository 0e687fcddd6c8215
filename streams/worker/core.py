"""What a worker does with each message, without Faust: testable with plain bytes.

A message is either a dossier event (raw CloudEvent bytes) or a tick (the timer's "look
at this dossier now, at this stream time").  Both go through the engine the replay uses,
with the dossiers in the worker's table (`TableStates`), and come back as an `Outcome`:
the alerts to publish, or the `Reject` to dead-letter.  Each partition has its stream
clocks (streams/core/clock.py); `due` asks them which dossiers to tick.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field

import structlog

from streams.contract.alerts import Alert
from streams.core.boundary import Reject, admitted, take_event
from streams.core.clock import SourceClocks
from streams.core.dossier import Dossier
from streams.core.engine import Engine
from streams.core.layouts import NewerLayoutError, Observer
from streams.core.policy import PolicyBook
from streams.core.pseudonyms import pseudonymise
from streams.core.store import (
    StoredStateError,
    live,
    pack,
    pack_clocks,
    unpack,
    unpack_clocks,
)
from streams.metrics import PipelineMetrics

log = structlog.get_logger("dossierwatch.worker")


@dataclass
class Outcome:
    alerts: list[Alert] = field(default_factory=list)
    reject: Reject | None = None
    dossier: str | None = None
    """The dossier whose state changed (to be written once the alerts are acknowledged)."""


class TableStates:
    """The worker's dossiers: its table, and this batch's writes on top of it until the
    broker has acknowledged the batch's alerts (then `take_writes` hands them over)."""

    def __init__(
        self, table: MutableMapping[bytes, bytes], observe: Observer | None = None
    ) -> None:
        self.table = table
        self.observe = observe
        """Told of each value read through a migration (an older layout's)."""
        self._writes: dict[str, bytes | None] = {}

    def _raw(self, key: str) -> bytes | None:
        if key in self._writes:
            return self._writes[key]
        value: bytes | None = self.table.get(key.encode())
        return value or None

    def get(self, key: str) -> Dossier | None:
        raw = self._raw(key)
        return None if raw is None else unpack(key, raw, observe=self.observe)

    def put(self, d: Dossier) -> None:
        self._writes[d.id] = pack(d)

    def discard(self, key: str) -> Dossier | None:
        d = self.get(key)
        self._writes[key] = None
        return d

    def live(self, key: str) -> tuple[int, int] | None:
        raw = self._raw(key)
        return None if raw is None else live(raw, observe=self.observe)

    def live_entries(self) -> Iterator[tuple[str, tuple[int, int]]]:
        """Read off the table's own iterator (one pass per partition's store), then this
        batch's writes on top."""
        writes = self._writes
        for raw_key, value in self.table.items():
            key = raw_key.decode()
            if key not in writes and value and (entry := live(value, observe=self.observe)):
                yield key, entry
        for key, pending in list(writes.items()):
            if pending is not None and (entry := live(pending, observe=self.observe)):
                yield key, entry

    def __iter__(self) -> Iterator[str]:
        for key in list(self.table.keys()):
            if key.decode() not in self._writes:
                yield key.decode()
        # A copy: a scrape counting in slices reads on while the stream writes.
        yield from [k for k, v in self._writes.items() if v is not None]

    def states(self) -> Iterator[Dossier]:
        """Every readable dossier (for the board and the metrics)."""
        for key in self:
            try:
                d = self.get(key)
            except StoredStateError:
                continue
            if d is not None:
                yield d

    def writes(self) -> Mapping[str, bytes | None]:
        """This batch's writes, still read through while they are being written (a view:
        take what is needed before the batch goes on)."""
        return self._writes

    def take_writes(self) -> dict[str, bytes | None]:
        writes, self._writes = self._writes, {}
        return writes


class WorkerCore:
    def __init__(
        self,
        book: PolicyBook,
        store: TableStates | None = None,
        metrics: PipelineMetrics | None = None,
        retention_days: int = 30,
        *,
        partition_of: Callable[[str], int] = lambda _: 0,
        settle: int = 0,
        grace: Callable[[str], int] = lambda _: 0,
        officer_key: bytes | None = None,
    ) -> None:
        self.book = book
        self.metrics = metrics
        self.store = store if store is not None else TableStates({})
        self.engine = Engine(
            book,
            retention_days=retention_days,
            store=self.store,
            partition_of=partition_of,
            observer=metrics,
        )
        self.partition_of = partition_of
        self.settle = settle
        self.grace = grace
        self.clocks: dict[int, SourceClocks] = {}
        self.officer_key = officer_key
        self._migrated_tables: set[str] = set()
        if self.store.observe is None:
            self.store.observe = self.migrated

    def clock(self, partition: int) -> SourceClocks:
        c = self.clocks.get(partition)
        if c is None:
            c = self.clocks[partition] = SourceClocks(settle=self.settle, grace=self.grace)
        return c

    def saved_clocks(self, partition: int, wall: float) -> bytes:
        """The partition's stream clocks as its `clocks` table value."""
        return pack_clocks(self.clock(partition).state(wall))

    def restore_clocks(self, partition: int, raw: bytes) -> None:
        """Take back the partition's clocks from its `clocks` table value (any layout up
        to ours; a newer one raises `NewerLayoutError`)."""
        self.clock(partition).restore(unpack_clocks(raw, observe=self.migrated))

    def migrated(self, table: str, from_layout: int) -> None:
        """A stored value was read through a migration: counted, and said once per table
        (the first of possibly millions)."""
        if self.metrics:
            self.metrics.state_migrations.labels(table, str(from_layout)).inc()
        if table not in self._migrated_tables:
            self._migrated_tables.add(table)
            log.info(
                "stored state of an older layout: migrated as read, rewritten when it changes",
                table=table,
                from_layout=from_layout,
            )

    # -- messages ------------------------------------------------------------------

    def on_event(self, raw: bytes, key: bytes | None, partition: int, wall: float) -> Outcome:
        """One event through the boundary; read on the partition's clock at `wall`."""
        event = admitted(raw, key, self.book.bounds)
        if not isinstance(event, Reject) and self.officer_key is not None:
            event = pseudonymise(event, self.officer_key)  # before anything keeps the id
        if not isinstance(event, Reject):
            # Read on the clock once admitted, as replay does: a well-formed event moves
            # its source's stream time even if its dossier then refuses it.
            # The clock keeps the event's sub-second time: a live source's stream time
            # is then behind the wall clock by its transport delay only.
            lateness = self.clock(partition).read(event.source, event.time.timestamp(), wall)
            if self.metrics:
                self.metrics.read(event.source, lateness)
            alerts = take_event(self.engine, event, bounds_checked=True)  # `admitted` did
            if not isinstance(alerts, Reject):
                return Outcome(alerts=alerts, dossier=event.subject)
            event = alerts
        if self.metrics:
            self.metrics.rejected(event.reason)
        return Outcome(reject=event)

    def on_tick(self, raw_key: bytes | None, value: bytes, partition: int, wall: float) -> Outcome:
        """Fire what is due on one dossier at the stream time the tick says — never past
        its source's clock: anyone who can write to the ticks topic could otherwise
        forge time and fire deadlines early."""
        try:
            key, now = (raw_key or b"").decode(), int(value)
            d = self.store.get(key)
            if d is None:
                return Outcome()
            clock = self.clock(partition)
            judge = clock.judge(d.source, wall)
            if judge is None or clock.held:
                # Not now: a source this partition has not read, or events of the
                # partition wait to be read (or its clocks, just restored, were not looked
                # at yet).  A tick sent before a rebalance, read by the new owner ahead of
                # the events it re-reads, would otherwise fire on a state that lacks them:
                # a false alarm.  The dossier goes back on the schedule, for the timer to
                # tick again once the partition is caught up.
                self.engine.defer(key)
                return Outcome()
            alerts = self.engine.fire(key, min(now, judge))
        except NewerLayoutError:
            raise  # not a bad tick: this worker cannot run on that state at all
        except Exception as err:  # a forged tick, or a stored state we cannot judge
            reject = Reject.of(err)
            return Outcome(reject=Reject("bad_tick", reject.error, reject.message))
        return Outcome(alerts=alerts, dossier=key)

    # -- time ----------------------------------------------------------------------

    def due(
        self, wall: float, partitions: Iterable[int], caught_up: set[int]
    ) -> list[tuple[str, int]]:
        """(dossier, stream time) to tick: in the caught-up partitions, every lane's
        dossiers due on its source's clock; the other partitions' clocks hold still."""
        out: list[tuple[str, int]] = []
        for p in partitions:
            c = self.clock(p)
            if p not in caught_up:
                c.hold(wall)
                continue
            c.release(wall)
            for lane, source in self.engine.lanes_of(p):
                judge = c.judge(source, wall)
                if judge is not None:
                    out.extend((key, judge) for key in self.engine.due(lane, judge))
        return out

    def stream_now(self, wall: float) -> int:
        """What the board judges at: the most advanced source's stream time, or the wall
        clock before any event was read."""
        times = [t for c in self.clocks.values() if (t := c.latest(wall)) is not None]
        return max(times) if times else int(wall)

    def rebuild(self) -> int:
        """Start the schedule afresh from the table (after a rebalance or a restart)."""
        return self.engine.rebuild()

    def waiting(self) -> int:
        return self.engine.waiting()
