"""From dossier states to the JSON the query API and the wallboard read.

(Over 400 lines: every word the screens use for a dossier, a list and the board in one
place, so the API, the wallboard and their tests agree.)

Pure: dossiers, the policy book, the catalogue (names for codes) and an instant in;
plain dicts out (a code the catalogue does not name keeps its code, its `*_name` is null).
The views in `streams.web.api` only fetch states and merge the answers of several workers,
so every rule about what a list contains, how it is sorted and what a status is called
lives here, where unit tests reach it without a broker.

Lists are built in two steps so several workers can be combined: each worker turns its
own dossiers into items (`*_items`), the worker that was asked merges every worker's
items, sorts them (`sort_*`) and cuts the page (`paginate`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from streams.catalog import Catalog
from streams.contract.errors import DossierWatchError
from streams.core.calendar import DAY, date_to_day, day_start, day_to_date, local_day, to_iso
from streams.core.dossier import (
    CLOSED,
    COMPLETED,
    DELIVERED,
    FINISHED,
    OPEN,
    SUPPLEMENT,
    TRAIL_UNITS,
    WITHDRAWN,
    Dossier,
)
from streams.core.figures import step_scores, timeliness
from streams.core.policy import PolicyBook
from streams.dashboard.summary import NO_UNIT, TOTAL, UnitRow, classify, totals, unit_board
from streams.reports.figures import PERIOD_COLUMNS, merge_counts, on_time_rate, period_counts

Json = dict[str, Any]

DEFAULT_SIZE = 50
MAX_SIZE = 500
MAX_WINDOW = 10_000
"""The deepest a list may be paged (page × size): each worker sends at most that many
items of its share, so no request can make a worker serialise its whole table."""
BOARD_SIZE = 200
"""Units per page of the board by default: a province has a few hundred."""
ROLLING_DAYS = 30
"""The wallboard's default period, `?days=30`: the last 30 days up to now, the period the
`dossierwatch_handled_dossiers` metric counts (streams.metrics.PERIOD_766_DAYS), so the
wall, the API and Prometheus show one on-time rate."""
MAX_DAYS = 366

Units = frozenset[str] | None
"""The units a reader may see; None: every unit (the centre)."""


class BadRequest(DossierWatchError, ValueError):
    """A query parameter the API cannot use; the message says which and why."""


# The words staff read in their case-handling systems (DESIGN.md, "The users' vocabulary").
STANDINGS: Mapping[str, tuple[str, str]] = {
    "within_time": ("Trong hạn", "Within time"),
    "near_due": ("Sắp đến hạn", "Near due"),
    "overdue": ("Quá hạn", "Overdue"),
    "waiting_supplement": ("Chờ bổ sung", "Waiting for documents"),
    "awaiting_acceptance": ("Chờ tiếp nhận", "Awaiting acceptance"),
    "early": ("Sớm hạn", "Early"),
    "on_time": ("Đúng hạn", "On time"),
    "late": ("Trễ hạn", "Late"),
    "withdrawn": ("Rút", "Withdrawn"),
    "returned": ("Trả lại", "Returned"),
}


def standing(d: Dossier, book: PolicyBook, now: int) -> str:
    """The dossier's status as staff name it: open dossiers by their due date, finished
    ones by when they finished (Decision 766's method, as the metrics count them)."""
    if d.status == OPEN:
        return classify(d, book, now)
    if d.status == SUPPLEMENT:
        return "waiting_supplement"
    if d.status in (COMPLETED, DELIVERED):
        return timeliness(d)
    if d.status == WITHDRAWN:
        return "withdrawn"
    if d.status == CLOSED:
        # Closed because the citizen never supplied the documents: the file goes back.
        return "returned"
    return "awaiting_acceptance"


def labelled(code: str) -> Json:
    vi, en = STANDINGS[code]
    return {"code": code, "vi": vi, "en": en}


def _iso(instant: int | None) -> str | None:
    return None if instant is None else to_iso(instant)


def _stays(flat: Sequence[str | int]) -> list[tuple[str, int]]:
    return [(str(flat[i]), int(flat[i + 1])) for i in range(0, len(flat) - 1, 2)]


def unit_name(catalog: Catalog | None, code: str | None) -> str | None:
    """The unit's name in the catalogue; None without one, for a code it lacks (counted
    there) and for the board's placeholders (no unit yet, the total)."""
    if catalog is None or not code or code in (NO_UNIT, TOTAL):
        return None
    return catalog.unit_name(code)


def procedure_name(catalog: Catalog | None, code: str | None) -> str | None:
    return None if catalog is None or not code else catalog.procedure_name(code)


def referral_chain(d: Dossier, catalog: Catalog | None = None) -> list[Json]:
    """The units the dossier went through, each with its arrival time and the officers
    who took it there.  An officer belongs to the unit stay in which their own stay
    began: the officer trail is kept apart from the unit trail (they bounce separately)."""
    units = _stays(d.trail)
    officers = _stays(d.officers)
    steps: list[Json] = []
    for i, (unit, since) in enumerate(units):
        until = units[i + 1][1] if i + 1 < len(units) else None
        held = [
            {"officer": o, "since": to_iso(t)}
            for o, t in officers
            if t >= since and (until is None or t < until)
        ]
        steps.append(
            {
                "unit": unit,
                "unit_name": unit_name(catalog, unit),
                "since": to_iso(since),
                "officers": held,
            }
        )
    return steps


def _alert(aid: str, unit: str | None) -> Json:
    # Ids are dossier/rule/level/anchor; a dossier id may itself contain "/".
    parts = aid.rsplit("/", 3)
    rule, level = (parts[1], parts[2]) if len(parts) == 4 else ("?", "?")
    return {"id": aid, "rule": rule, "level": level, "unit": unit}


def dossier_view(d: Dossier, book: PolicyBook, now: int, catalog: Catalog | None = None) -> Json:
    """Everything the API tells about one dossier: where it stands and how it got there."""
    x = d.x
    code = standing(d, book, now)
    return {
        "id": d.id,
        "procedure": d.procedure,
        "procedure_name": procedure_name(catalog, d.procedure),
        "group": d.group,
        "status": d.status_name,
        "standing": labelled(code),
        "unit": d.unit,
        "unit_name": unit_name(catalog, d.unit),
        "officer": d.officer,
        "received_at": _iso(d.received_at),
        "start": _iso(d.start),
        "due": _iso(d.due),
        "seconds_overdue": (
            max(now - d.due, 0) if d.due is not None and d.status == OPEN else None
        ),
        "finished_at": _iso(x.completed_at if x else None),
        "chain": referral_chain(d, catalog),
        # The trail keeps the latest TRAIL_UNITS stays: a longer history lost its start.
        "chain_truncated": len(d.trail) >= 2 * TRAIL_UNITS,
        "unit_bounces": x.unit_bounces if x else 0,
        "officer_bounces": x.officer_bounces if x else 0,
        "supplements": x.supplements if x else 0,
        "reschedules": x.reschedules if x else 0,
        "consultations": x.consultations if x else 0,
        "pending_consultations": [
            {"unit": unit, "reply_due": to_iso(due), "late": late}
            for unit, _cid, due, late in (x.pending if x else ())
        ],
        "open_alerts": [_alert(aid, unit) for aid, unit in (x.open if x else ())],
        "appointed_unlawfully": _iso(x.appointed if x else None),
        "steps": _steps(d, catalog),
    }


def _steps(d: Dossier, catalog: Catalog | None) -> list[Json]:
    """The routing slip's steps with each agency's points (Circular 01/2018 arts 13–14)."""
    x = d.x
    if x is None or not x.steps:
        return []
    points = iter(step_scores(d))
    return [
        {
            "unit": unit,
            "unit_name": unit_name(catalog, unit),
            "arrived": to_iso(arrived),
            "due": to_iso(due),
            "left": _iso(left or None),
            "points": next(points)[1] if left else None,
        }
        for unit, arrived, due, left in x.steps
    ]


def readable(d: Dossier, units: Units) -> bool:
    """A unit head reads the dossiers their unit holds or that passed through it."""
    if units is None:
        return True
    return (d.unit in units) or any(u in units for u in d.trail[::2])


def for_reader(view: Json, units: Units) -> Json:
    """A dossier view as a unit head may read it: officers of other units' steps (and the
    officer holding it now, if another unit holds it) are left out; the centre sees all."""
    if units is None:
        return view
    out = dict(view)
    if view.get("unit") not in units:
        out["officer"] = None
    out["chain"] = [
        step if step["unit"] in units else {**step, "officers": []} for step in view["chain"]
    ]
    return out


def list_item(d: Dossier, book: PolicyBook, now: int, catalog: Catalog | None = None) -> Json:
    """A dossier in a list: id and procedure only, no officer (wallboards hang in halls)."""
    return {
        "id": d.id,
        "procedure": d.procedure,
        "procedure_name": procedure_name(catalog, d.procedure),
        "unit": d.unit or NO_UNIT,
        "unit_name": unit_name(catalog, d.unit),
        "standing": labelled(standing(d, book, now)),
        "due": _iso(d.due),
        "due_ts": d.due,
        "seconds_overdue": max(now - d.due, 0) if d.due is not None else None,
        "unit_bounces": d.x.unit_bounces if d.x else 0,
    }


def unit_items(
    dossiers: Iterable[Dossier],
    unit: str,
    which: str,
    book: PolicyBook,
    now: int,
    catalog: Catalog | None = None,
) -> list[Json]:
    """The open dossiers held by `unit` that stand at `which` (overdue or near_due)."""
    return [
        list_item(d, book, now, catalog)
        for d in dossiers
        if d.status == OPEN and (d.unit or NO_UNIT) == unit and classify(d, book, now) == which
    ]


def sort_by_due(items: list[Json]) -> list[Json]:
    """Earliest due first: the most overdue at the top of the overdue list, the nearest
    due at the top of the at-risk list.  Ties by id, so pages are stable."""
    return sorted(items, key=lambda i: (i["due_ts"] is None, i["due_ts"] or 0, i["id"]))


def ping_pong_items(
    dossiers: Iterable[Dossier],
    book: PolicyBook,
    now: int,
    *,
    finished: bool = False,
    catalog: Catalog | None = None,
) -> list[Json]:
    """Dossiers sent back at least once to a unit they had left, with the chain as
    evidence; finished ones only when asked (the centre watches the live ones)."""
    out = []
    for d in dossiers:
        if d.x is None or d.x.unit_bounces < 1:
            continue
        if d.status in FINISHED and not finished:
            continue
        item = list_item(d, book, now, catalog)
        item["status"] = d.status_name
        item["chain"] = [
            {"unit": u, "unit_name": unit_name(catalog, u), "since": to_iso(t)}
            for u, t in _stays(d.trail)
        ]
        out.append(item)
    return out


def sort_ping_pong(items: list[Json]) -> list[Json]:
    """Most bounces first, then the most overdue."""
    return sorted(
        items, key=lambda i: (-i["unit_bounces"], i["due_ts"] is None, i["due_ts"] or 0, i["id"])
    )


def page_params(query: Mapping[str, str]) -> tuple[int, int]:
    """`page` (from 1) and `size` (1…MAX_SIZE) from the query string."""
    page = _int_param(query, "page", 1)
    size = _int_param(query, "size", DEFAULT_SIZE)
    if page < 1:
        raise BadRequest(f"page must be 1 or more, got {page}")
    if not 1 <= size <= MAX_SIZE:
        raise BadRequest(f"size must be between 1 and {MAX_SIZE}, got {size}")
    if page * size > MAX_WINDOW:
        raise BadRequest(
            f"page × size may reach item {MAX_WINDOW} at most; narrow the list instead"
        )
    return page, size


def window(items: list[Json], page: int, size: int) -> Json:
    """One worker's share of a list: its first page × size items (already sorted) and
    how many it has in all."""
    return {"items": items[: page * size], "total": len(items)}


def _int_param(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer, got {raw!r}") from None


def paginate(items: Sequence[Json], page: int, size: int, total: int | None = None) -> Json:
    """`total`: how many there are in all, when `items` holds only the first ones."""
    total = len(items) if total is None else total
    first = (page - 1) * size
    return {
        "items": list(items[first : first + size]),
        "page": page,
        "size": size,
        "total": total,
        "pages": (total + size - 1) // size,
    }


# ---- the board --------------------------------------------------------------------

HOW_COMPUTED = (
    "Each dossier is counted in the unit holding it now (or that finished it), so each row"
    " balances: carried_over + received = the five finished/returned/withdrawn columns"
    " + open_not_due + open_overdue.  carried_over: received before the period and not"
    " finished before it.  received: received (accepted, the time limit starts) in the"
    " period.  finished_*: completed in the period, early = before the due day, on_time ="
    " on it, late = after the due instant or more than one supplement request (Decision"
    " 766).  open_*: received before the end and not finished by then; overdue when the"
    " current due date is before the end (a dossier waiting for documents is not due)."
    "  returned: closed in the period because the supplement never came (at the end of"
    " its supplement window).  withdrawn: withdrawn in the period.  on_time_rate_766: (finished"
    " early + on time, and open dossiers not overdue with at most one supplement request)"
    " / (finished + open), as the dossierwatch_handled_dossiers metric counts it (the same"
    " number over the same period: days=30 is the metric's last 30 days).  ping_pong,"
    " consulted: of the row's dossiers, those sent back to a unit they had left, those"
    " on which another unit's opinion was asked (at least once each)."
    "  Limits: only dossiers this deployment has seen, and finished dossiers are dropped"
    " retention_days after their last event, so older periods undercount."
)


def parse_period(query: Mapping[str, str], now: int) -> tuple[int, int]:
    """[start, end) from `from`/`to` local dates (inclusive), or the last `days` days up
    to `now` (a rolling period, as the 766 metric counts); the month so far by default."""
    if query.get("days"):
        if query.get("from") or query.get("to"):
            raise BadRequest("give either 'days' or 'from'/'to', not both")
        days = _int_param(query, "days", ROLLING_DAYS)
        if not 1 <= days <= MAX_DAYS:
            raise BadRequest(f"days must be between 1 and {MAX_DAYS}, got {days}")
        return now - days * DAY, now
    today = local_day(now)
    first_of_month = day_to_date(today).replace(day=1)
    start = _date_param(query, "from") or first_of_month
    last = _date_param(query, "to")
    begin = day_start(date_to_day(start))
    end = min(now, day_start(date_to_day(last) + 1)) if last else now
    if end <= begin:
        raise BadRequest("the period is empty: 'from' must be on or before 'to' and today")
    return begin, end


def _date_param(query: Mapping[str, str], name: str) -> date | None:
    raw = query.get(name)
    if not raw:
        return None
    try:
        return datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError:
        raise BadRequest(f"{name} must be a date YYYY-MM-DD, got {raw!r}") from None


def board_counts(
    dossiers: Iterable[Dossier], book: PolicyBook, now: int, start: int, end: int
) -> Json:
    """One worker's share of the board, in a form that sums across workers."""
    ds = list(dossiers)
    if not ds:
        return {"live": {}, "period": {}}
    live = {
        r.unit: {k: v for k, v in asdict(r).items() if k != "unit"}
        for r in unit_board(ds, book, now)
    }
    return {"live": live, "period": period_counts(ds, start, end, book)}


def board_view(
    parts: Iterable[Json],
    start: int,
    end: int,
    page: int = 1,
    size: int = BOARD_SIZE,
    catalog: Catalog | None = None,
) -> Json:
    """The board from every worker's share: live rows worst first and the period table,
    a page of units each (`units_total` says how many), with totals over all of them.
    Names are looked up once the shares are merged (the page's units only)."""
    parts = list(parts)
    live = merge_counts(p["live"] for p in parts)
    rows = [
        UnitRow(unit, **{k: v for k, v in row.items() if k != "unit"}) for unit, row in live.items()
    ]
    rows.sort(key=lambda r: (-r.overdue, -r.near_due, r.unit))
    period = merge_counts(p["period"] for p in parts)
    first = (page - 1) * size
    table = [
        {
            "unit": unit,
            "unit_name": unit_name(catalog, unit),
            **row,
            "on_time_rate_766": on_time_rate(row),
        }
        for unit, row in sorted(period.items())[first : first + size]
    ]
    total = dict(merge_counts([{TOTAL: r} for r in period.values()]).get(TOTAL, {}))
    merged = by_unit(rows, period)
    return {
        "units": [_named(asdict(r), catalog) for r in rows[first : first + size]],
        "units_total": len(rows),
        "page": page,
        "size": size,
        "total": _named(asdict(totals(rows)), catalog),
        "period": {
            "from": to_iso(start),
            "to": to_iso(end),
            "columns": {k: {"vi": vi, "en": en} for k, (vi, en) in PERIOD_COLUMNS.items()},
            "rows": table,
            "total": {
                "unit": TOTAL,
                "unit_name": None,
                **total,
                "on_time_rate_766": on_time_rate(total),
            },
            "how_computed": HOW_COMPUTED,
        },
        "by_unit": {
            "rows": [
                _wall_row(r, period.get(r.unit, {}), catalog) for r in merged[first : first + size]
            ],
            "rows_total": len(merged),
            "total": _wall_row(totals(rows), total, catalog),
        },
    }


WALL_PERIOD = ("finished_early", "finished_on_time", "finished_late", "handled", "handled_on_time")
"""The period columns the wallboard shows beside the live counts of a unit."""


def by_unit(live: Sequence[UnitRow], period: Mapping[str, Mapping[str, int]]) -> list[UnitRow]:
    """The wallboard's units, whose live counts and period figures share a row: every unit
    that holds a dossier now or had one in the period, worst first (most overdue, then
    most near due, then by code)."""
    rows = {r.unit: r for r in live}
    for unit in period:
        rows.setdefault(unit, UnitRow(unit))
    return sorted(rows.values(), key=lambda r: (-r.overdue, -r.near_due, r.unit))


def _wall_row(live: UnitRow, period: Mapping[str, int], catalog: Catalog | None) -> Json:
    """A unit's row of the wallboard: live counts, finishes in the period, 766 rate."""
    figures = {k: period.get(k, 0) for k in WALL_PERIOD}
    return {**_named(asdict(live), catalog), **figures, "on_time_rate_766": on_time_rate(figures)}


def freshness(
    wall: float,
    *,
    last_event: float | None,
    last_tick: float | None,
    stale_after: float,
    started: float | None = None,
    healthy: bool = True,
    reason: str | None = None,
) -> Json:
    """Whether the figures are live: the wall-clock times (epoch seconds) of the latest
    event read and of the latest clock tick (stream time moved on), how long ago, and
    `stale` when neither came for `stale_after` seconds (counted from `started` before
    the first).  A screen greys its figures and says since when when it is stale."""
    latest = max((t for t in (last_event, last_tick) if t is not None), default=None)
    since = latest if latest is not None else started
    age = None if since is None else max(wall - since, 0.0)
    return {
        "last_event_at": _wall_iso(last_event),
        "last_tick_at": _wall_iso(last_tick),
        "seconds_since_last_event": _age(wall, last_event),
        "seconds_since_last_tick": _age(wall, last_tick),
        "stale_after_seconds": stale_after,
        "stale": not healthy or age is None or age > stale_after,
        "healthy": healthy,
        "reason": reason,
    }


def _wall_iso(t: float | None) -> str | None:
    return None if t is None else to_iso(int(t))


def _age(wall: float, t: float | None) -> float | None:
    return None if t is None else round(max(wall - t, 0.0), 3)


def _named(row: Json, catalog: Catalog | None) -> Json:
    """A board row with its unit's name right after its code."""
    unit = row.pop("unit")
    return {"unit": unit, "unit_name": unit_name(catalog, unit), **row}
