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
    if x is None or x.completed_at is None:
        return "on_time"
    if x.late:
        return "late"
    if d.due is None:
        return "on_time"
    return "early" if local_day(x.completed_at) < local_day(d.due - 1) else "on_time"


def on_time_766(d: Dossier, now: int) -> bool:
    """Whether a dossier counts as on time in Decision 766, as of `now`.

    The one definition the API, the board, the metrics and the reports use:
    * finished: not `late` — finished by its due instant with at most one supplement
      request (`_finish` in streams/core/machine.py sets `late`);
    * still being handled: its due instant not passed and at most one supplement request.
      While the citizen holds the dossier the time limit is stopped, so waiting alone
      never makes it late.
    The due instant is the receipt's, restarted after a supplement (so supplement time is
    excluded), or a lawful re-appointment's; an unlawful re-appointment (a second one, or
    one issued later than a working day before the due date) does not move it."""
    x = d.x
    if x is not None and x.completed_at is not None:
        return not x.late
    if x is not None and x.supplements > 1:
        return False
    return d.status == SUPPLEMENT or d.due is None or d.due >= now


def step_scores(d: Dossier) -> tuple[tuple[str, int], ...]:
    """Each finished routing-slip step as (unit, points): an agency's time against its
    quota, as Circular 01/2018 arts 13–14 score it — 2 if it passed the dossier on before
    its due day, 1 on it (by the due instant), 0 late.  Open steps are not scored yet."""
    x = d.x
    if x is None:
        return ()
    return tuple(
        (unit, 0 if left > due else 2 if local_day(left) < local_day(due - 1) else 1)
        for unit, _, due, left in x.steps
        if left
    )
