"""Decision 766's figures for one dossier: how it finished (Sớm / Đúng / Trễ hạn) and
whether it counts as on time.  One definition, read by the metrics, the board, the
reports and the replay summary alike."""

from __future__ import annotations

from streams.core.calendar import local_day
from streams.core.dossier import SUPPLEMENT, Dossier


def timeliness(d: Dossier) -> str:
    """Sớm hạn / Đúng hạn / Trễ hạn: finished before the due day, on it, or late.

    Decision 766 counts a dossier with more than one supplement request as late."""
    x = d.x
    if x is None or x.completed_at is None or d.due is None:
        return "on_time"
    if x.late:
        return "late"
    return "early" if local_day(x.completed_at) < local_day(d.due - 1) else "on_time"


def on_time_766(d: Dossier, now: int) -> bool:
    """Whether a dossier being handled still counts as on time in Decision 766: its
    appointment not passed and at most one supplement request (`_finish` in
    streams/core/machine.py judges a finished dossier the same way).  While the citizen
    holds the dossier the time limit is stopped, so waiting alone never makes it late."""
    if d.x is not None and d.x.supplements > 1:
        return False
    return d.status == SUPPLEMENT or d.due is None or d.due >= now
