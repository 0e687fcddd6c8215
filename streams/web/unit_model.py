"""What a unit head's pages show: the unit page (`/units/<code>`) and an officer's page
(`/units/<code>/officers/<officer>`), and their JSON under /api/.

Pure: dossiers, the policy book, an instant and the catalogue in; plain dicts out, which
`streams.web.unit_page.render` lays out.  Built in two steps so the workers' shares can
be combined, as the other lists are (`streams.web.views_model`): each worker turns its
own dossiers into a share (`unit_share`: its first page × size rows already sorted, its
counts, its newest history entries), the worker that was asked merges every share
(`merge_shares`) and cuts the page.  Dates, time left and status words are the dossier
page's (`streams.web.dossier_model`).

An officer belongs to the unit stay in which their own stay began (the dossier page's
rule): the officer "holding" a dossier in the unit is its current officer only if they
took it in the unit's current stay; a dossier the unit has not yet given to one of its
officers is counted under "no officer" (`officer: null`).  Officer ids are unique within
a source only, so an officer's page is scoped by the unit, never global.

The history (stall and ping-pong alerts) is read from the dossiers' states, which keep
every alert id a dossier fired (`Extra.emitted`) but not the alert itself: when it fired,
where and whom it concerned are worked out again from the id's anchor and the kept
trails, and the evidence is said in Vietnamese by the alert channels' own sentences
(`alerts.texts.evidence_vi`).  A stall fired the stall threshold (working days, the
procedure group's) after its anchor, the last progress; while consultations were pending
it waited for their reply deadlines, which the state still knows only while no progress
was made since.  A ping-pong fired when the dossier came back: its time is the arrival in
the kept trail (the last `TRAIL_UNITS` stays); a bounce older than the kept trail has no
time and counts only for the unit its still-open alert names.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from alerts.texts import chain_text, evidence_vi, wording
from streams.catalog import Catalog
from streams.contract.alerts import PING_PONG_OFFICER, PING_PONG_UNIT, STALL, Alert
from streams.core.calendar import to_iso
from streams.core.dossier import OPEN, SUPPLEMENT, Dossier
from streams.core.policy import PolicyBook
from streams.dashboard.summary import NO_UNIT, classify
from streams.reports.figures import merge_counts
from streams.web import dossier_model as dm
from streams.web import views_model as vm

Json = dict[str, Any]

PAGE_SIZE = 100
"""Rows of dossiers a page shows by default (`?size=` up to `views_model.MAX_SIZE`)."""
HISTORY_SIZE = 50
"""History entries shown, newest first; `history_total` says how many there are."""
HISTORY_RULES = frozenset({STALL, PING_PONG_UNIT, PING_PONG_OFFICER})
RANK = {"overdue": 0, "near_due": 1, "within_time": 2}
"""The order of the rows: overdue first, then near due, then within time."""
COUNTS = ("open", "overdue", "near_due", "within_time", "waiting_supplement")
OFFICER_COUNTS = ("open", "overdue", "near_due", "stalls", "ping_pong")
OTHER_UNIT = "cán bộ đơn vị khác"
"""Stands for another unit's officer in a path a unit head reads (their ids are not theirs
to read, as on the dossier page)."""


# ---- who held it where ---------------------------------------------------------------


def _stays(flat: Sequence[str | int]) -> list[tuple[str, int]]:
    return [(str(flat[i]), int(flat[i + 1])) for i in range(0, len(flat) - 1, 2)]


def _at(stays: Sequence[tuple[str, int]], t: int) -> str | None:
    """The holder at instant `t` (the last stay begun by then); None before the kept ones."""
    found = None
    for who, since in stays:
        if since > t:
            break
        found = who
    return found


def holder_in_unit(d: Dossier) -> str | None:
    """The officer holding the dossier in the unit holding it now: its current officer if
    their stay began in the unit's current stay, else nobody yet."""
    if not d.officer or len(d.officers) < 2:
        return None
    if len(d.trail) < 2:
        return d.officer
    return d.officer if int(d.officers[-1]) >= int(d.trail[-1]) else None


def _officer_in(d: Dossier, unit: str, t: int) -> str | None:
    """The officer holding the dossier at `t` if they took it in `unit` (else None)."""
    officers = _stays(d.officers)
    units = _stays(d.trail)
    for i in range(len(officers) - 1, -1, -1):
        who, since = officers[i]
        if since <= t:
            return who if _at(units, since) == unit else None
    return None


# ---- the history ---------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One stall or ping-pong alert of a dossier, as far as its state tells it."""

    alert: Alert
    at: int | None
    units: tuple[str, ...]
    """The units it concerns: the stalled unit; the two units of a bounce."""
    officers: Mapping[str, tuple[str, ...]]
    """Per concerned unit, the officers it is counted against there."""
    open: bool


def history(d: Dossier, book: PolicyBook) -> Iterator[Entry]:
    """The dossier's stall and ping-pong alerts, each once."""
    x = d.x
    if x is None:
        return
    open_units = dict(x.open)
    for aid in x.emitted:
        parts = aid.rsplit("/", 3)
        if len(parts) != 4 or parts[1] not in HISTORY_RULES:
            continue
        _, rule, _level, anchor = parts
        try:
            n = int(anchor)
        except ValueError:
            continue
        if rule == STALL:
            found = _stall(d, book, aid, n, open_units.get(aid))
        else:
            found = _bounce(d, book, aid, rule, n, open_units.get(aid))
        if found is not None:
            yield found


def _alert(d: Dossier, aid: str, at: int | None, unit: str | None, **rest: Any) -> Alert:
    _, rule, level, _ = aid.rsplit("/", 3)
    return Alert(
        id=aid,
        status="firing",
        rule=rule,
        level=level,
        severity="critical" if level == "critical" else "warning",
        dossier=d.id,
        at=to_iso(at) if at is not None else "",
        unit=unit,
        procedure=d.procedure or None,
        procedure_group=d.group or None,
        **rest,
    )


def _stall(
    d: Dossier, book: PolicyBook, aid: str, since: int, open_unit: str | None
) -> Entry | None:
    p = book[d.policy]
    at = p.calendar.add_working_seconds(since, p.stall_seconds_for(d.group))
    if since == d.since and d.x is not None and d.x.pending:
        at = max(at, *(due for (_, _, due, _) in d.x.pending))
    unit = open_unit or _at(_stays(d.trail), since)
    if unit is None:
        return None
    officer = _officer_in(d, unit, since)
    alert = _alert(d, aid, at, unit, officer=officer)
    return Entry(alert, at, (unit,), {unit: (officer,) if officer else ()}, open_unit is not None)


def _bounce(
    d: Dossier,
    book: PolicyBook,
    aid: str,
    rule: str,
    count: int,
    open_unit: str | None,
) -> Entry | None:
    """A ping-pong alert: the `count`-th bounce, found in the kept trail by counting the
    bounces back from the last (the older ones may have left the trail)."""
    x = d.x
    assert x is not None
    by_unit = rule == PING_PONG_UNIT
    stays = _stays(d.trail if by_unit else d.officers)
    total = x.unit_bounces if by_unit else x.officer_bounces
    arrivals = _bounce_arrivals(stays, book[d.policy].one_stop_unit if by_unit else None)
    index = len(arrivals) - (total - count) - 1
    if not 0 <= index < len(arrivals):
        if open_unit is None:
            return None
        return Entry(_alert(d, aid, None, open_unit), None, (open_unit,), {open_unit: ()}, True)
    i, between = arrivals[index]
    back, at = stays[i]
    chain = tuple((who, to_iso(t)) for who, t in stays[: i + 1])
    if by_unit:
        return _unit_bounce(d, aid, stays, i, between, chain, open_unit)
    unit = open_unit or _at(_stays(d.trail), at)
    if unit is None:
        return None
    # The two officers passing it between them, each if they took it in this unit.
    units = _stays(d.trail)
    pair = tuple(who for who, since in (stays[i], stays[between]) if _at(units, since) == unit)
    alert = _alert(d, aid, at, unit, officer=back, chain=chain)
    return Entry(alert, at, (unit,), {unit: pair}, open_unit is not None)


def _unit_bounce(
    d: Dossier,
    aid: str,
    stays: Sequence[tuple[str, int]],
    i: int,
    between: int,
    chain: tuple[tuple[str, str], ...],
    open_unit: str | None,
) -> Entry:
    """X → Y → X: it concerns X and Y, and in each the officer who passed it on (the one
    holding it when it left that unit's stay, if they took it there)."""
    back, at = stays[i]
    other = stays[between][0]
    left_back = next((k for k in range(between - 1, -1, -1) if stays[k][0] == back), None)
    officers: dict[str, tuple[str, ...]] = {}
    for unit, k in ((back, left_back), (other, between)):
        left = None if k is None else stays[k + 1][1] - 1
        officer = None if left is None else _officer_in(d, unit, left)
        officers[unit] = (officer,) if officer else ()
    alert = _alert(d, aid, at, open_unit or back, chain=chain)
    return Entry(alert, at, (back, other), officers, open_unit is not None)


def _bounce_arrivals(stays: Sequence[tuple[str, int]], frame: str | None) -> list[tuple[int, int]]:
    """The stays that bounced back (index, index of the stay in between): an arrival where
    the dossier was two stays before, the frame's stays (the One-Stop Unit) not counting,
    as `streams.core.detectors.referrals` counts them."""
    out = []
    for i, (who, _) in enumerate(stays):
        if who == frame:
            continue
        last = [k for k in range(i - 1, -1, -1) if stays[k][0] != frame][:2]
        if len(last) == 2 and stays[last[1]][0] == who and stays[last[0]][0] != who:
            out.append((i, last[0]))
    return out


# ---- one worker's share, and the page from every share --------------------------------


@dataclass(frozen=True)
class UnitQuery:
    """Which page is asked: the unit, or one of its officers; the page and its size; and
    the reader's units (None: the centre), whose paths leave other units' officers out."""

    unit: str
    officer: str | None = None
    page: int = 1
    size: int = PAGE_SIZE
    reader: vm.Units = None


def unit_share(
    dossiers: Iterable[Dossier],
    q: UnitQuery,
    book: PolicyBook,
    now: int,
    catalog: Catalog | None = None,
) -> Json:
    """This worker's part of the page: the first page × size open dossiers in order, the
    counts, and the newest history entries."""
    unit, officer = q.unit, q.officer
    counts = dict.fromkeys(COUNTS, 0)
    officers: dict[str, dict[str, int]] = {}
    ranked: list[tuple[int, int, str, Dossier, str | None]] = []
    entries: list[Entry] = []
    for d in dossiers:
        if d.x is not None and d.x.emitted:
            entries.extend(
                e
                for e in history(d, book)
                if unit in e.units and (officer is None or officer in e.officers.get(unit, ()))
            )
        if d.status not in (OPEN, SUPPLEMENT) or (d.unit or NO_UNIT) != unit:
            continue
        holder = holder_in_unit(d)
        if officer is not None and holder != officer:
            continue
        if d.status == SUPPLEMENT:
            counts["waiting_supplement"] += 1
            continue
        standing = classify(d, book, now)
        counts["open"] += 1
        counts[standing] += 1
        row = officers.setdefault(holder or "", dict.fromkeys(OFFICER_COUNTS, 0))
        row["open"] += 1
        if standing != "within_time":
            row[standing] += 1
        due = d.due if d.due is not None else _NEVER
        ranked.append((RANK[standing], due, d.id, d, holder))
    for e in entries:
        for who in e.officers.get(unit, ()):
            row = officers.setdefault(who, dict.fromkeys(OFFICER_COUNTS, 0))
            row["stalls" if e.alert.rule == STALL else "ping_pong"] += 1
    # Only the rows this page can show leave the worker, so only they are formatted.
    first = heapq.nsmallest(q.page * q.size, ranked, key=lambda r: r[:3])
    newest = heapq.nsmallest(HISTORY_SIZE, entries, key=_newest_first)
    return {
        "items": [_row(d, book, now, rank, holder, catalog) for rank, _, _, d, holder in first],
        "total": len(ranked),
        "counts": counts,
        "officers": officers,
        "history": [_entry(e, unit, q.reader, catalog) for e in newest],
        "history_total": len(entries),
    }


_NEVER = 2**62
"""Sorts a dossier without a due date after every dated one."""


def _newest_first(e: Entry) -> tuple[int, str, str]:
    return (-(e.at if e.at is not None else -_NEVER), e.alert.dossier, e.alert.id)


def _row(
    d: Dossier, book: PolicyBook, now: int, rank: int, holder: str | None, catalog: Catalog | None
) -> Json:
    standing = next(code for code, r in RANK.items() if r == rank)
    return {
        "id": d.id,
        "procedure": d.procedure,
        "procedure_name": vm.procedure_name(catalog, d.procedure),
        "officer": holder,
        "received": dm.format_instant(d.received_at),
        "due": dm.format_instant(d.due),
        "due_iso": to_iso(d.due) if d.due is not None else None,
        "due_ts": d.due,
        "rank": rank,
        "standing": vm.labelled(standing),
        "time": dm.time_left(d, book[d.policy].calendar, now),
    }


def _entry(e: Entry, unit: str, units: vm.Units, catalog: Catalog | None) -> Json:
    """A history entry as the page shows it, the evidence in Vietnamese."""
    a = e.alert
    if units is not None and a.rule == PING_PONG_OFFICER:
        # Another unit's officers in the path are not the reader's to know.
        mine = set(e.officers.get(unit, ()))
        chain = tuple((who if who in mine else OTHER_UNIT, t) for who, t in a.chain)
        a = msgspec.structs.replace(a, chain=chain)
    names = {}
    if catalog is not None and a.rule == PING_PONG_UNIT:
        names = {u: n for u, _ in a.chain if (n := vm.unit_name(catalog, u))}
    name = vm.unit_name(catalog, a.unit)
    said = wording(a, name)
    return {
        "id": a.id,
        "dossier": a.dossier,
        "rule": a.rule,
        "level": a.level,
        "title": said.title,
        "title_en": said.title_en,
        "at": dm.format_instant(e.at),
        "at_ts": e.at,
        "unit": a.unit,
        "unit_name": name,
        "officers": list(e.officers.get(unit, ())),
        "open": e.open,
        "evidence": evidence_vi(a, name, names) if e.at is not None else _untimed(a, names),
        "chain": chain_text(a, names),
    }


def _untimed(a: Alert, names: Mapping[str, str]) -> str:
    """A bounce older than the kept trail: its count, not its time or path."""
    n = a.id.rsplit("/", 1)[-1]
    return f"{wording(a).title}: lần thứ {n}; thời điểm và đường đi không còn được lưu."


def merge_shares(
    shares: Sequence[Json], q: UnitQuery, now: int, catalog: Catalog | None = None
) -> Json:
    """The page from every worker's share: rows in order and cut to the page, counts
    summed, the officers worst first (most overdue, then near due, then open), the
    newest history entries."""
    items = sorted(
        (i for s in shares for i in s["items"]),
        key=lambda i: (i["rank"], i["due_ts"] is None, i["due_ts"] or 0, i["id"]),
    )
    body = vm.paginate(items, q.page, q.size, sum(s["total"] for s in shares))
    counts = dict.fromkeys(COUNTS, 0)
    for s in shares:
        for k in COUNTS:
            counts[k] += s["counts"].get(k, 0)
    merged = merge_counts(s["officers"] for s in shares)
    worst = sorted(
        merged.items(), key=lambda o: (-o[1]["overdue"], -o[1]["near_due"], -o[1]["open"], o[0])
    )
    officers = [
        {"officer": who or None, **{k: row.get(k, 0) for k in OFFICER_COUNTS}} for who, row in worst
    ]
    entries = sorted(
        (e for s in shares for e in s["history"]),
        key=lambda e: (e["at_ts"] is None, -(e["at_ts"] or 0), e["dossier"], e["id"]),
    )
    return {
        "unit": q.unit,
        "unit_name": vm.unit_name(catalog, q.unit),
        "officer": q.officer,
        "as_of": to_iso(now),
        "now": dm.format_instant(now),
        "counts": counts,
        **body,
        "officers": officers,
        "history": entries[:HISTORY_SIZE],
        "history_total": sum(s["history_total"] for s in shares),
    }
