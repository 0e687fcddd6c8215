"""Routing slips and paper files across levels (Decree 118/2025 art 20).

A routing slip ("phiếu kiểm soát quá trình giải quyết", art 20(2)) gives each agency its
own deadline for its step; an event that hands the dossier to a unit may carry it
(`step_due`).  A unit still holding the dossier past its step deadline is late in its own
name — the alert is that unit's — and each finished step is scored as Circular 01/2018
arts 13–14 score an agency's time against its quota: 2 before the due day, 1 on it, 0 late
(`streams/core/figures.step_scores`).

Across administrative levels (art 20(1)(a)) the electronic dossier moves at once and the
paper file within 1 working day: an electronic transfer across levels starts that day,
and a paper transfer across levels settles it.
"""

from __future__ import annotations

from streams.contract.alerts import PAPER_TRANSFER_LATE, STEP_LATE
from streams.core.calendar import to_iso
from streams.core.context import Ctx, anchor_of, rule_of
from streams.core.dossier import OPEN, PAPER_BIT, STEP_BIT, Dossier
from streams.core.policy import Policy

Step = tuple[str, int, int, int]


def _open_step(d: Dossier) -> tuple[int, Step] | None:
    x = d.x
    if x is None or not x.steps or x.steps[-1][3]:
        return None
    return len(x.steps) - 1, x.steps[-1]


def step_started(ctx: Ctx, d: Dossier, unit: str, due: int, at: int) -> None:
    """The dossier reached `unit` with a step deadline on the routing slip."""
    step_ended(ctx, d, at)
    x = d.extra()
    x.steps = (*x.steps, (unit, at, due, 0))
    d.fired &= ~STEP_BIT


def step_ended(ctx: Ctx, d: Dossier, at: int) -> None:
    """The dossier left the unit of the open step (or a new step began)."""
    found = _open_step(d)
    if found is None or d.x is None:
        return
    i, (unit, arrived, due, _) = found
    d.x.steps = (*d.x.steps[:i], (unit, arrived, due, at))
    if at > due:
        if not d.fired & STEP_BIT:  # late, though no clock looked in between
            _late(ctx, d, i, due)
        anchor = str(i + 1)
        ctx.resolve(
            d,
            at,
            lambda aid: rule_of(aid) == STEP_LATE and anchor_of(aid) == anchor,
            f"{unit} passed the dossier on at {to_iso(at)}, after its step deadline {to_iso(due)}",
        )
    d.fired &= ~STEP_BIT


def step_due(d: Dossier, p: Policy) -> int | None:
    if d.status != OPEN or d.fired & STEP_BIT:
        return None
    found = _open_step(d)
    return None if found is None else found[1][2]


def fire_step(ctx: Ctx, d: Dossier, at: int) -> None:
    d.fired |= STEP_BIT
    found = _open_step(d)
    if found is not None:
        _late(ctx, d, found[0], at)


def _late(ctx: Ctx, d: Dossier, i: int, at: int) -> None:
    if d.x is None:  # only a dossier with steps has a step to be late on
        return
    unit, arrived, due, _ = d.x.steps[i]
    ctx.fire(
        d,
        STEP_LATE,
        "breach",
        "warning",
        i + 1,
        at,
        f"{unit} has held the dossier since {to_iso(arrived)}, past its step deadline"
        f" {to_iso(due)} on the routing slip (art 20(2))",
        unit=unit,
    )


def transferred_across_levels(ctx: Ctx, d: Dossier, paper: bool, at: int) -> None:
    """An across-levels transfer: the electronic one starts the paper file's working day,
    the paper one settles it."""
    x = d.extra()
    p = ctx.policy
    if not paper:
        if x.paper_due is None:
            x.paper_due = p.calendar.add_working_days(at, p.paper_transfer_working_days)
        return
    due = x.paper_due
    x.paper_due = 0
    if not due or at <= due:
        return
    if not d.fired & PAPER_BIT:
        _paper_late(ctx, d, due)
    ctx.resolve(
        d,
        at,
        lambda aid: rule_of(aid) == PAPER_TRANSFER_LATE,
        f"paper file sent at {to_iso(at)}",
    )


def paper_due(d: Dossier, p: Policy) -> int | None:
    if d.status != OPEN or d.fired & PAPER_BIT or d.x is None or not d.x.paper_due:
        return None
    return d.x.paper_due


def fire_paper(ctx: Ctx, d: Dossier, at: int) -> None:
    d.fired |= PAPER_BIT
    if d.x is not None and d.x.paper_due:
        _paper_late(ctx, d, d.x.paper_due)


def _paper_late(ctx: Ctx, d: Dossier, due: int) -> None:
    """The One-Stop Unit's: art 20(1)(a) tells it to send the files across levels."""
    ctx.fire(
        d,
        PAPER_TRANSFER_LATE,
        "breach",
        "warning",
        due,
        due,
        f"the paper file was not sent across levels by {to_iso(due)}, 1 working day after"
        " the electronic dossier (art 20(1)(a))",
        unit=ctx.policy.one_stop_unit,
    )
