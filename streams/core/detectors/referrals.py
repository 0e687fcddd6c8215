"""Ping-pong and long referral chains: X → Y → X between units (and, separately,
between officers), and a dossier passed through more distinct units than policy allows.

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
    """The dossier arrived in `unit` (a transfer, a return, or an assignment there)."""
    unit = sys.intern(unit)  # shared by every dossier (and trail) that names it
    if d.trail and d.trail[-2] == unit:
        d.unit = unit
        return
    d.trail, bounce = _append(d.trail, unit, at)
    d.unit = unit
    p = ctx.policy
    if unit not in d.seen_units and len(d.seen_units) <= p.max_distinct_units:
        d.seen_units = (*d.seen_units, unit)
        if len(d.seen_units) == p.max_distinct_units + 1:
            ctx.fire(
                d,
                REFERRAL_CHAIN,
                "warning",
                "warning",
                len(d.seen_units),
                at,
                f"referred through {len(d.seen_units)} units: {_story(d.trail)}",
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
