"""The worker's agent: batches of events and ticks through `WorkerCore`, alerts and dead
letters acknowledged by the broker before the states that say so are written.

Delivery: at least once.  A crash can repeat an alert (every consumer dedupes by id) but
never lose one: a state that says "fired" is only written after the alert is in Kafka.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import faust
import structlog

from streams.contract.alerts import encode_alert, with_url
from streams.core.boundary import Reject
from streams.metrics import PipelineMetrics
from streams.worker.changelog import ChangelogWriter
from streams.worker.core import WorkerCore
from streams.worker.dead_letters import DeadLetters
from streams.worker.settings import WorkerSettings
from streams.worker.topology import Topology

log = structlog.get_logger("dossierwatch.worker")

FAULT_SUBJECT = "__dossierwatch_fault__"
"""With DOSSIERWATCH_INJECT_FAULT=agent|timer, the event keyed by this id makes that part
die (tests check that a dead agent is never a silent one)."""

Send = Callable[..., Awaitable[Any]]


@dataclass
class Progress:
    """What the worker has read, shared by the agent, the timer and /health."""

    last_event_wall: float | None = None
    recoveries: int = 0
    processed: dict[int, int] = field(default_factory=dict)
    """Partition of the events topic → the last offset handled."""
    loop_lag_max: float = 0.0


@dataclass(frozen=True)
class Parts:
    """What the agent and the timer share."""

    s: WorkerSettings
    topology: Topology
    core: WorkerCore
    metrics: PipelineMetrics
    progress: Progress
    send: Send
    dead_letters: DeadLetters
    changelog: ChangelogWriter
    fault: str = ""


class BatchAgent:
    """Takes batches from the stream: events through the boundary, ticks to the engine."""

    def __init__(self, parts: Parts) -> None:
        self.parts = parts

    async def run(self, stream: faust.StreamT[bytes]) -> None:
        # Batches, so that the wait for the broker's acknowledgement of alerts (which
        # must come before the state that says "fired" is written) is paid once per
        # batch rather than once per alert.
        s = self.parts.s
        batches = stream.take_events(s.batch_size, within=s.batch_window)  # type: ignore[attr-defined]
        async for batch in batches:
            await self.batch(batch)

    async def batch(self, batch: list[Any]) -> None:
        s, core, progress = self.parts.s, self.parts.core, self.parts.progress
        sent: list[Any] = []
        latencies: list[float] = []
        owner: dict[str, Any] = {}  # dossier → the message whose partition it is in
        touched: dict[int, Any] = {}  # partition of events read → one of its events
        for event in batch:
            message = event.message
            value: bytes = event.value or b""
            if message.topic == s.ticks_topic:
                outcome = core.on_tick(event.key, value, message.partition, time.time())
            else:
                wall = time.time()
                progress.last_event_wall = wall
                progress.processed[message.partition] = message.offset
                touched[message.partition] = event
                if self.parts.fault == "agent" and event.key == FAULT_SUBJECT.encode():
                    raise RuntimeError("injected fault (DOSSIERWATCH_INJECT_FAULT=agent)")
                outcome = core.on_event(value, event.key, message.partition, wall)
                if outcome.alerts:
                    latencies.append(message.timestamp)
            if outcome.reject is not None:
                _log_reject(outcome.reject, message)
                sent.append(
                    await self.parts.dead_letters.reject(message, event.key, value, outcome.reject)
                )
            for found in outcome.alerts:
                # The link people follow from an e-mail or Zalo message: the dossier's page.
                a = with_url(found, s.public_url)
                sent.append(
                    await self.parts.send(
                        s.alerts_topic,
                        a.dossier.encode(),
                        encode_alert(a),
                        [("alert_id", a.id.encode())],
                    )
                )
                log.info(
                    "alert",
                    alert_id=a.id,
                    status=a.status,
                    rule=a.rule,
                    alert_level=a.level,
                    unit=a.unit,
                )
            if outcome.dossier is not None:
                owner[outcome.dossier] = event
        pending = [f for f in sent if f is not None]
        if pending:
            await asyncio.gather(*pending)  # the broker has them: now the state may say so
        now = time.time()
        for started in latencies:
            self.parts.metrics.latency.observe(max(now - started, 0.0))
        await self.write(owner, touched, now)

    async def write(self, owner: dict[str, Any], touched: dict[int, Any], now: float) -> None:
        """The batch's states and the touched partitions' clocks, into their tables.  The
        states stay readable from the batch's writes (the board, /metrics, a recovery)
        until the table holds them all: the writes wait for the producer in between."""
        topology, core = self.parts.topology, self.parts.core
        await self.parts.changelog.write(
            topology.dossiers,
            [(key.encode(), state, owner[key]) for key, state in core.store.writes().items()],
        )
        core.store.take_writes()
        await self.parts.changelog.write(
            topology.clocks,
            [
                (str(partition).encode(), core.saved_clocks(partition, now), event)
                for partition, event in touched.items()
            ],
        )


def _log_reject(r: Reject, message: Any) -> None:
    # One template per reason: the rate limiter (streams/infra/logs.py) keeps one line per
    # reason per interval, with the count of the ones it held back.
    log.warning(
        f"event rejected to the dead-letter topic: {r.reason}",
        error_class=r.error,
        error=r.message[:200],
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
    )
