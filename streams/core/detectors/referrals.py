"""Ping-pong and long referral chains: X → Y → X between units (and, separately,
between officers), and a dossier passed through more distinct units than policy allows;
the One-Stop Unit's stays are the normal flow and never count (`moved_to_unit`).

Works on the collapsed sequence of holders (consecutive repeats are one stay): a bounce
is a holder equal to the one two stays back.  Each bounce is counted; the alert level
follows the count (1 = warning, 2 = critical by default).
"""

from __future__ import annotations

import sys

from streams.contract.alerts import PING_PONG_OFFICER, PING_PONG_UNIT, REFERRAL_CHAIN, Severity
from streams.core.calendar import to_iso
from streams.core.context import Ctx
from streams.core.dossier import TRAIL_UNITS, Dossier

Flat = tuple[str | int, ...]


def _append(trail: Flat, holder: str, at: int) -> tuple[Flat, bool]:
    """Add a stay; report whether it bounces back to the holder two stays before."""
    bounce = len(trail) >= 4 and trail[-4] == holder
    trail = (*trail, holder, at)
    if len(trail) > 2 * TRAIL_UNITS:
        trail = trail[-2 * TRAIL_UNITS :]
    return trail, bounce


def _bounces_back(trail: Flat, holder: str, frame: str) -> bool:
    """Whether arriving in `holder` returns to the unit two stays back, counting only the
    stays outside the `frame` unit (the One-Stop Unit)."""
    if holder == frame:
        return False
    last: list[str | int] = []
    for i in range(len(trail) - 2, -1, -2):
        if trail[i] != frame:
            last.append(trail[i])
            if len(last) == 2:
                return last[1] == holder and last[0] != holder
    return False


def chain(trail: Flat) -> tuple[tuple[str, str], ...]:
    return tuple((str(trail[i]), to_iso(int(trail[i + 1]))) for i in range(0, len(trail), 2))


def _story(trail: Flat) -> str:
    return " → ".join(
        f"{trail[i]} ({to_iso(int(trail[i + 1]))[:16]})" for i in range(0, len(trail), 2)
    )


def _level(ctx: Ctx, bounces: int) -> tuple[str, Severity] | None:
    p = ctx.policy
    if bounces == p.warning_bounces:
        return "warning", "warning"
    if bounces == p.critical_bounces:
        return "critical", "critical"
    return None


def moved_to_unit(ctx: Ctx, d: Dossier, unit: str, at: int) -> None:
    """The dossier arrived in `unit` (a transfer, a return, or an assignment there).

    The One-Stop Unit is the dossier's frame, not a referral: it receives the dossier,
    gets the result back and hands it over for delivery (Decree 118/2025 arts 18, 21).
    Its stays are kept in the trail (they are the dossier's story) but bounces are judged
    among the other units' stays: a result returning to it, or it handing the dossier
    back to the unit that sent it, is never a bounce, and it never counts towards a
    referral chain."""
    unit = sys.intern(unit)  # shared by every dossier (and trail) that names it
    if d.trail and d.trail[-2] == unit:
        d.unit = unit
        return
    p = ctx.policy
    frame = p.one_stop_unit
    bounce = _bounces_back(d.trail, unit, frame)
    d.trail, _ = _append(d.trail, unit, at)
    d.unit = unit
    # `seen_units` keeps the One-Stop Unit too (the store then need not keep it apart from
    # the trail), but a chain counts only the others.
    seen = d.seen_units
    if unit not in seen and len(seen) - (frame in seen) <= p.max_distinct_units:
        d.seen_units = seen = (*seen, unit)
        referred = len(seen) - (frame in seen)
        if unit != frame and referred == p.max_distinct_units + 1:
            ctx.fire(
                d,
                REFERRAL_CHAIN,
                "warning",
                "warning",
                referred,
                at,
                f"referred through {referred} units: {_story(d.trail)}",
                chain=chain(d.trail),
            )
    if bounce:
        x = d.extra()
        x.unit_bounces += 1
        _bounced(ctx, d, PING_PONG_UNIT, "units", x.unit_bounces, d.trail, at)


def moved_to_officer(ctx: Ctx, d: Dossier, officer: str, at: int) -> None:
    """The dossier is now held by `officer` (pseudonymous id)."""
    officer = sys.intern(officer)
    if d.officers and d.officers[-2] == officer:
        d.officer = officer
        return
    d.officers, bounce = _append(d.officers, officer, at)
    d.officer = officer
    if bounce:
        x = d.extra()
        x.officer_bounces += 1
        _bounced(ctx, d, PING_PONG_OFFICER, "officers", x.officer_bounces, d.officers, at)


def _bounced(
    ctx: Ctx, d: Dossier, rule: str, holders: str, bounces: int, trail: Flat, at: int
) -> None:
    """Alert on the bounce count's level (one alert per level, never repeated)."""
    level = _level(ctx, bounces)
    if level:
        plural = "s" if bounces > 1 else ""
        ctx.fire(
            d,
            rule,
            level[0],
            level[1],
            bounces,
            at,
            f"passed back and forth between {holders} ({bounces} bounce{plural}): {_story(trail)}",
            chain=chain(trail),
        )
