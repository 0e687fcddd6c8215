"""Restoring the tables from their changelogs, said out loud: a progress line at most every
few seconds, and what /health answers meanwhile.

Faust restores a table partition the worker was given (at start with an empty data
directory, or a partition without a standby copy) by reading its changelog up to the
high-water mark before the agent sees any event; with 10⁶ dossiers that takes a while,
and its own progress lines wait for 1,000 samples and come as terminal tables.  This
watch reads Faust's recovery state (`app.tables.recovery`: `in_recovery` and the records
still to read) and turns it into one line a person or a log search can follow."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

log = structlog.get_logger("dossierwatch.worker")

LOG_EVERY = 3.0
"""Seconds between two progress lines during a restore."""
POLL_EVERY = 0.25
"""Seconds between two looks at Faust's recovery state: cheap (a sum over partitions)."""


@dataclass
class RecoveryProgress:
    """One restore followed from its first sight to its end (pure: times are given)."""

    every: float = LOG_EVERY
    total: int = 0
    remaining: int = 0
    started: float | None = None
    _logged: float = float("-inf")

    @property
    def active(self) -> bool:
        return self.started is not None

    @property
    def done(self) -> int:
        return self.total - self.remaining

    def observe(self, in_recovery: bool, remaining: int, now: float) -> str | None:
        """Take Faust's state at `now`; the line to log then, if any.

        The total is the most ever left to read during this restore: what was read before
        the watch's first look is not counted, since Faust keeps no offset the restore
        started from (usually a poll's worth, a few hundred records; on a loaded machine
        once a sixth of a 15,000-record restore)."""
        if in_recovery and remaining > 0:
            if self.started is None:
                self.started, self.total = now, 0
            self.total, self.remaining = max(self.total, remaining), remaining
            if now - self._logged >= self.every:
                self._logged = now
                return self.line()
            return None
        if self.started is not None and not in_recovery:
            seconds, total = now - self.started, self.total
            self.started, self.total, self.remaining = None, 0, 0
            self._logged = float("-inf")
            return f"recovered: {total:,} records in {seconds:.1f} s"
        return None

    def line(self) -> str:
        share = 100 * self.done // self.total if self.total else 100
        return f"recovering: {self.done:,} of {self.total:,} records ({share} %)"

    def as_json(self) -> dict[str, int]:
        return {"records_done": self.done, "records_total": self.total}


def health(fatal: str | None, in_recovery: bool) -> tuple[str, int]:
    """/health's status word and HTTP status: a dead part first, then a restore (not ready
    to judge: its dossiers are not all known yet), else ok."""
    if fatal:
        return "dead", 503
    if in_recovery:
        return "recovering", 503
    return "ok", 200


def in_recovery(app: Any) -> bool:
    """Whether Faust is restoring tables now (False before its recovery service exists:
    the public `app.tables.recovery` would build it, outside Faust's start-up order)."""
    recovery = getattr(app.tables, "_recovery", None)
    return bool(recovery is not None and recovery.in_recovery)


async def watch(
    app: Any, progress: RecoveryProgress, clock: Callable[[], float] = time.monotonic
) -> None:
    """Log a restore's progress for as long as the worker runs."""
    while True:
        recovery = getattr(app.tables, "_recovery", None)
        if recovery is not None:
            line = progress.observe(
                recovery.in_recovery, recovery.active_remaining_total(), clock()
            )
            if line:
                log.info(line, **progress.as_json())
        await asyncio.sleep(POLL_EVERY)
