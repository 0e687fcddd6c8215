"""The per-unit board staff read: Đang xử lý / Trong hạn / Sắp đến hạn / Quá hạn.

Pure: dossiers and an instant in, rows out.  The terminal view and the wallboard draw
the same rows, and the counts agree with `OpenDossierCollector`'s gauges because both
classify a dossier the same way (see `classify`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from streams.contract.alerts import STALL
from streams.core.context import rule_of
from streams.core.detectors.deadline import is_near_due
from streams.core.dossier import OPEN, SUPPLEMENT, Dossier
from streams.core.policy import PolicyBook

NO_UNIT = "?"
"""Label for a dossier that has no unit yet (the events never named one)."""

TOTAL = "Tổng / Total"

Standing = Literal["within_time", "near_due", "overdue"]


@dataclass(frozen=True)
class UnitRow:
    unit: str
    open: int = 0
    """Đang xử lý: accepted, the time limit runs (within_time + near_due + overdue)."""
    within_time: int = 0
    """Trong hạn: not yet past the first near-due warning."""
    near_due: int = 0
    """Sắp đến hạn: past the first near-due warning instant, not yet due."""
    overdue: int = 0
    """Quá hạn: past the due instant."""
    waiting_supplement: int = 0
    """Chờ bổ sung: the citizen holds the dossier; the time limit is stopped."""
    ping_pong: int = 0
    """Open dossiers sent back to a unit they had already left at least once."""
    stalled: int = 0
    """Open dossiers with a stall alert open: nobody moved them for too long."""


def classify(d: Dossier, book: PolicyBook, now: int) -> Standing:
    """Where an open dossier stands at `now` (the same thresholds the deadline rule fires at)."""
    if d.due is not None and d.due < now:
        return "overdue"
    if is_near_due(d, now):
        return "near_due"
    return "within_time"


def unit_board(dossiers: Iterable[Dossier], book: PolicyBook, now: int) -> list[UnitRow]:
    """One row per unit holding an open or supplement-waiting dossier, worst first:
    most overdue, then most near due, then by unit name."""
    counts: dict[str, list[int]] = {}
    for d in dossiers:
        if d.status not in (OPEN, SUPPLEMENT):
            continue
        c = counts.get(d.unit or NO_UNIT)
        if c is None:
            c = counts[d.unit or NO_UNIT] = [0] * 7
        if d.status == SUPPLEMENT:
            c[4] += 1
            continue
        c[0] += 1
        standing = classify(d, book, now)
        c[1 if standing == "within_time" else 2 if standing == "near_due" else 3] += 1
        if d.x is not None and d.x.unit_bounces >= 1:
            c[5] += 1
        if stalled(d):
            c[6] += 1
    rows = [UnitRow(unit, *c) for unit, c in counts.items()]
    rows.sort(key=lambda r: (-r.overdue, -r.near_due, r.unit))
    return rows


def stalled(d: Dossier) -> bool:
    """Whether a stall alert of the dossier is open."""
    x = d.x
    return x is not None and any(rule_of(aid) == STALL for aid, _ in x.open)


def totals(rows: Sequence[UnitRow], label: str = TOTAL) -> UnitRow:
    """The column sums, as a row named `label`."""
    return UnitRow(
        label,
        open=sum(r.open for r in rows),
        within_time=sum(r.within_time for r in rows),
        near_due=sum(r.near_due for r in rows),
        overdue=sum(r.overdue for r in rows),
        waiting_supplement=sum(r.waiting_supplement for r in rows),
        ping_pong=sum(r.ping_pong for r in rows),
        stalled=sum(r.stalled for r in rows),
    )
