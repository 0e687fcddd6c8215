"""Consultations: too many opinions asked on one dossier (asking other units about
matters within one's own authority), and replies later than their stated deadline,
which art 19(4) says are reported to the head of the One-Stop Unit — so that alert is
the One-Stop Unit's (its `unit`), naming the unit that is late.  While a reply is
awaited within its deadline the dossier is not stalled (detectors/stall.py)."""

from __future__ import annotations

from collections.abc import Callable

from streams.contract.alerts import CONSULTATION_COUNT, CONSULTATION_LATE
from streams.core.calendar import to_iso
from streams.core.context import Ctx, anchor_of, rule_of
from streams.core.dossier import OPEN, SUPPLEMENT, Dossier


def requested(ctx: Ctx, d: Dossier, unit: str, cid: str | None, reply_due: int, at: int) -> None:
    x = d.extra()
    x.consultations += 1
    x.pending = (*x.pending, (unit, cid or f"c{x.consultations}", reply_due, False))
    limit = ctx.policy.max_consultations
    if x.consultations == limit + 1:
        asked = ", ".join(p[0] for p in x.pending)
        ctx.fire(
            d,
            CONSULTATION_COUNT,
            "warning",
            "warning",
            x.consultations,
            at,
            f"{x.consultations} consultations on one dossier (policy allows {limit});"
            f" pending with: {asked}",
        )


def answered(ctx: Ctx, d: Dossier, unit: str, cid: str | None, at: int) -> None:
    x = d.extra()
    for i, (p_unit, p_id, due, _) in enumerate(x.pending):
        if (cid is not None and p_id == cid) or (cid is None and p_unit == unit):
            x.pending = x.pending[:i] + x.pending[i + 1 :]
            if at > due:
                _late(ctx, d, p_unit, p_id, due, due)
                ctx.resolve(d, at, _is_late_reply(p_id), f"{p_unit} replied at {to_iso(at)}")
            return


def _is_late_reply(cid: str) -> Callable[[str], bool]:
    return lambda aid: rule_of(aid) == CONSULTATION_LATE and anchor_of(aid) == cid


def _late(ctx: Ctx, d: Dossier, unit: str, cid: str, due: int, at: int) -> None:
    ctx.fire(
        d,
        CONSULTATION_LATE,
        "breach",
        "warning",
        cid,
        at,
        f"{unit} has not replied to consultation {cid} by its deadline {to_iso(due)};"
        " reported to the head of the One-Stop Unit (art 19(4))",
        unit=ctx.policy.one_stop_unit,
    )


def next_at(d: Dossier) -> int | None:
    if d.x is None or not d.x.pending or d.status not in (OPEN, SUPPLEMENT):
        return None
    waiting = [due for (_, _, due, fired) in d.x.pending if not fired]
    return min(waiting) if waiting else None


def fire_next(ctx: Ctx, d: Dossier, at: int) -> None:
    x = d.extra()
    for i, (unit, cid, due, fired) in enumerate(x.pending):
        if due == at and not fired:
            x.pending = (*x.pending[:i], (unit, cid, due, True), *x.pending[i + 1 :])
            _late(ctx, d, unit, cid, due, at)
            return
