"""Faust's table restore, with its per-record overheads taken out of the loop.

Restoring a table reads its changelog into the store before the agent may see an event.
Faust 0.15.3's loop (`Recovery._slurp_changelogs`) pays, for every record, an
`asyncio.wait_for` on the changelog queue (a task and a timer), two debug f-strings built
whether or not they are logged, and a recount of the records left over every partition
to learn whether the restore is over.  Profiled restoring 400,000 dossiers, those took
most of the loop's 22 % of the event loop, while the store's batched writes took 1 %.

`Restore` keeps Faust's loop record for record — the same offsets kept, the same buffers
written to the store at the same sizes, the same end-of-restore signal — and changes only
how often the overheads run: a record already in the queue is taken without waiting, and
the "is it over" checks run when the queue runs dry or every `CHECK_EVERY` records.
The waiting, the timeout and aborted-transaction handling are Faust's, except that a
partition without a consumer position is skipped there instead of raising TypeError.

It is installed through Faust's public `TableManager` setting (`Tables`), and depends on
Faust 0.15.3's Recovery internals: the version is pinned, and
tests/integration/test_recovery_kafka.py restores a real changelog through it."""

from __future__ import annotations

import asyncio
from time import monotonic
from typing import Any

from faust.tables import TableManager
from faust.tables.recovery import Recovery
from faust.types import TP
from faust.utils.tracing import finish_span
from mode import Service
from mode.utils.queues import ThrowableQueue

CHECK_EVERY = 1_000
"""Records taken between two "is the restore over" checks while the queue stays full."""


class Restore(Recovery):
    """Faust's recovery service with `_slurp_changelogs` taking records in runs."""

    @Service.task
    async def _slurp_changelogs(self) -> None:
        queue = self.tables.changelog_queue
        timeout_count = 0
        taken = 0
        while not self.should_stop:
            try:
                self.signal_recovery_end.clear()
                if queue.empty():
                    try:
                        event = await asyncio.wait_for(queue.get(), timeout=5.0)
                    except TimeoutError:
                        timeout_count += 1
                        if self.should_stop:
                            return
                        await self._maybe_signal_recovery_end(timeout_count)
                        continue
                else:
                    event = queue.get_nowait()
                timeout_count = 0
                self._take(event)
                taken += 1
                if taken >= CHECK_EVERY or queue.empty():
                    taken = 0
                    await self._maybe_signal_recovery_end(0)
                    self._maybe_standbys_ready()
            except Exception as ex:
                self.log.warning("Error in recovery %r", ex)

    def _take(self, event: Any) -> None:
        """One changelog record into its table's buffer (Faust's loop body, without its
        debug lines, and dropping a record of a partition it does not restore)."""
        now = monotonic()
        message = event.message
        tp = message.tp
        offset = message.offset
        bufsize = self.buffer_sizes.get(tp)
        is_active = False
        if tp in self.active_tps:
            is_active = True
            table = self.tp_to_table[tp]
            offsets = self.active_offsets
            if bufsize is None:
                bufsize = self.buffer_sizes[tp] = table.recovery_buffer_size
            self._active_events_received_at[tp] = now
        elif tp in self.standby_tps:
            table = self.tp_to_table[tp]
            offsets = self.standby_offsets
            if bufsize is None:
                bufsize = self.buffer_sizes[tp] = table.standby_buffer_size
                self._standby_events_received_at[tp] = now
        else:
            # Faust logs this and then applies the record to the previous record's table;
            # a record of a partition this worker neither owns nor stands by for is
            # dropped here instead.
            self.log.warning("recovery unknown topic %r offset %r", tp, offset)
            return
        seen_offset = offsets.get(tp, None)
        if seen_offset is None or offset > seen_offset:
            offsets[tp] = offset
            buf = self.buffers[table]
            buf.append(event)
            # Faust awaits table.on_changelog_event here, which only calls the table's
            # changelog callback; the worker's tables have none (`Tables` refuses one).
            if len(buf) >= bufsize:
                table.apply_changelog_batch(buf)
                buf.clear()
                self._last_flush_at = now
            now_after = monotonic()
            if is_active:
                processing_times = self._processing_times
                last_processed_at = self._last_active_event_processed_at
                if last_processed_at is not None:
                    processing_times.append(now_after - last_processed_at)
                    if len(processing_times) > self.num_samples_required_for_estimate:
                        processing_times.popleft()
                self._last_active_event_processed_at = now_after

    async def _maybe_signal_recovery_end(self, timeout_count: int) -> None:
        # Faust waits for two empty cycles before the aborted-transaction fix-up, to avoid
        # racing the consumer's position against the queue's draining.
        if timeout_count > 1 and self.app.in_transaction:
            await self._detect_aborted_tx()
        if self.in_recovery and not self.need_recovery():
            self.flush_buffers()  # what is still in the buffers
            self._set_recovery_ended()
            if self._actives_span is not None:
                self._actives_span.set_tag("Actives-Ready", True)
            self.signal_recovery_end.set()

    async def _detect_aborted_tx(self) -> None:
        offsets = self.active_offsets
        for tp, highwater in self.active_highwaters.items():
            if highwater is not None and offsets[tp] is not None and offsets[tp] < highwater:
                position = await self.app.consumer.position(tp)
                if position is not None and position >= highwater:
                    self.log.info("Aborted tx until highwater for %r", tp)
                    offsets[tp] = highwater

    def _maybe_standbys_ready(self) -> None:
        standby_ready = self._standbys_span is None and self.tables.standbys_ready
        if not standby_ready and not self.standby_remaining_total():
            if self._standbys_span:
                finish_span(self._standbys_span)
                self._standbys_span = None
            self.tables.on_standbys_ready()


class Tables(TableManager):
    """Faust's table manager, restoring through `Restore`, with a changelog queue that
    keeps its records when the flow resumes.

    Faust makes the changelog queue `clear_on_resume`, and resumes the flow once the
    stream partitions are sought, after the standby partitions already read on: the
    standby records queued in between were thrown away while the consumer's position had
    passed them, and the next record taken moved the standby's offset past the hole, so a
    takeover later restored nothing of it.  Seen with a worker's log of every record
    cleared and every offset skipped (tests/integration/test_takeover_kafka.py): 3 runs of
    40 lost a clocks record so.  Records now stay queued until `Restore` takes them (its
    offsets drop one read twice); a revocation empties the queue itself, after the buffers
    went into the stores, so the next recovery reads those records again."""

    @property
    def changelog_queue(self) -> ThrowableQueue[Any]:
        if self._changelog_queue is None:
            self._changelog_queue = self.app.FlowControlQueue(
                maxsize=self.app.conf.stream_buffer_maxsize, clear_on_resume=False
            )
        return self._changelog_queue

    def on_partitions_revoked(self, revoked: set[TP]) -> None:
        super().on_partitions_revoked(revoked)  # the buffers into the stores first
        self.changelog_queue.clear()

    def add(self, table: Any) -> Any:
        if table._on_changelog_event is not None:
            raise ValueError(f"table {table.name}: Restore does not call on_changelog_event")
        return super().add(table)

    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            self._recovery = Restore(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery
