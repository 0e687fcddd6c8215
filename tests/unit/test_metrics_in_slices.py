"""The worker's open-dossier gauges, counted on the event loop a slice at a time."""

from __future__ import annotations

import asyncio

from helpers.story import Story, at
from prometheus_client import CollectorRegistry, generate_latest

from streams.contract.events import encode_event
from streams.metrics import OpenDossierCollector, PipelineMetrics
from streams.policy import builtin_book
from streams.worker.core import TableStates, WorkerCore
from streams.worker.pages import SLICE, count_open_dossiers

BOOK = builtin_book()
RECEIVED = at("2025-09-08T09:00")


def table_of(n: int) -> TableStates:
    """A worker's table with `n` dossiers received at RECEIVED, half of them committed."""
    table: dict[bytes, bytes] = {}
    core = WorkerCore(BOOK, TableStates(table), PipelineMetrics(CollectorRegistry(), BOOK))
    for i in range(n):
        e = Story(f"HS-{i}").received("2025-09-08T09:00").events[0]
        core.on_event(encode_event(e), e.subject.encode(), 0, RECEIVED)
        if i == n // 2:  # the rest stays in the batch's pending writes
            table.update({k.encode(): v for k, v in core.store.take_writes().items() if v})
    return core.store


def exported(collector: OpenDossierCollector) -> bytes:
    registry = CollectorRegistry()
    registry.register(collector)
    return generate_latest(registry)


def test_the_sliced_count_exports_what_a_whole_scan_does() -> None:
    """Counting slice by slice, committed and pending dossiers alike, gives the same
    gauges as the scrape-time scan over the same table and instant."""
    store = table_of(3 * SLICE + 7)
    now = RECEIVED + 40 * 86400
    whole = OpenDossierCollector(store.states, BOOK, clock=lambda: now)
    sliced = OpenDossierCollector(None, BOOK, clock=lambda: now)
    asyncio.run(count_open_dossiers(store, sliced))
    assert exported(sliced) == exported(whole)
    assert b'dossierwatch_overdue_dossiers{unit="ONE_STOP"} 1507.0' in exported(sliced)


def test_the_stream_runs_between_slices() -> None:
    """Another task on the loop gets a turn after each slice, not only at the end."""
    store = table_of(4 * SLICE)
    gauges = OpenDossierCollector(None, BOOK, clock=lambda: RECEIVED)
    turns: list[bool] = []

    async def stream() -> None:
        while gauges.published is None:
            turns.append(True)
            await asyncio.sleep(0)

    async def main() -> None:
        other = asyncio.create_task(stream())
        await asyncio.sleep(0)
        await count_open_dossiers(store, gauges)
        await other

    asyncio.run(main())
    assert len(turns) >= 4


def test_before_the_first_count_the_gauges_are_empty_not_missing() -> None:
    """A scrape before any count exports the families with no unit rows."""
    text = exported(OpenDossierCollector(None, BOOK, clock=lambda: RECEIVED)).decode()
    assert "# TYPE dossierwatch_open_dossiers gauge" in text
    assert "dossierwatch_open_dossiers{" not in text
