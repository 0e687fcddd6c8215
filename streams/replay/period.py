"""A log replayed for a period's report: the dossiers as they stood at the period's end.

The log is read whole (its span says whether it covers the period) but only the events
before the period's end are applied, and the dossiers still open then are judged at
that instant, as a worker's timers would have judged them.  The counts are
`streams.reports.figures.period_counts`, the board's and the API's own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from typing import IO

from streams.core.calendar import DAY
from streams.core.engine import Engine
from streams.core.policy import PolicyBook
from streams.eventlogs.mapping import Mapping
from streams.replay.run import replay_file
from streams.reports.figures import finished_at, period_counts


@dataclass(frozen=True)
class PeriodFigures:
    counts: dict[str, dict[str, int]]
    """Per unit, `period_counts`'s columns."""
    as_of: int
    """The instant the open dossiers were judged at: the period's end, or the log's last
    event when the log ends sooner."""
    first: int | None
    last: int | None
    """The log's first and last event times (None: it had none)."""

    def covers(self, start: int, end: int) -> bool:
        """Whether any of the log's span falls in [start, end)."""
        return (
            self.first is not None
            and self.last is not None
            and (self.last >= start and self.first < end)
        )


def replay_period(
    path: str,
    start: int,
    end: int,
    *,
    book: PolicyBook,
    fmt: str | None = None,
    mapping: Mapping | None = None,
    skip_invalid: bool = False,
    grace: Callable[[str], int] = lambda _: 0,
    timezone: tzinfo | None = None,
    progress: IO[str] | None = None,
) -> PeriodFigures:
    """The period [start, end)'s counts per unit from one log.  Raises LogFormatError."""
    # A finished dossier leaves the engine `retention` after its last event: long enough
    # that every one finished in the period is still there at its end (a closed one's
    # last event may precede its closure by the supplement window and a weekend).
    wait = max(p.supplement_wait_days for p in book.policies)
    engine = Engine(book, retention_days=-(-(end - start) // DAY) + wait + 7)
    replay = replay_file(
        path,
        fmt=fmt,
        mapping=mapping,
        engine=engine,
        skip_invalid=skip_invalid,
        progress=progress,
        grace=grace,
        timezone=timezone,
        before=end,
        keep=lambda d: (finished_at(d, book) or 0) >= start,
    )
    first, last = replay.summary.first, replay.summary.last
    as_of = end if last is None else min(end, last)
    replay.finish(as_of)
    counts = period_counts(engine.states(), start, as_of, book)
    return PeriodFigures(counts, as_of, first, last)
