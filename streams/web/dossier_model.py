"""What the dossier page shows (`/dossiers/<id>`), computed from one dossier's state.

Pure: a dossier, the policy book, an instant, and optionally the catalogue (names for
codes) and the alert records known for it (evidence, chains) in; one plain dict out,
which `streams.web.dossier_page.render` lays out.  The worker's page and the demo's call
the same two functions.  Everything the API already says about a dossier comes from
`views_model.dossier_view`; this module adds what a person reading one dossier needs:
dates as staff write them, time left in working days and hours, how long each holder
kept it, and the open alerts with their evidence and acknowledgements.

Dates read `dd/mm/yyyy HH:mm`.  A time limit in days ends at 24:00 of its last day (Civil
Code art 147): an instant at exactly local midnight is shown as 24:00 of the day that
ended ("16/09/2025 24:00"), never as 00:00 of the next, as the calendar itself counts it.

What the state lets us tell about the citizen's time (outside the centre): the running
supplement period (from its request to now), and a finished one only when there was
exactly one (it ended when the time limit restarted, `start`, and lasted the recorded
wait).  After several, only their total is kept, so the timeline cannot place them.
The trail keeps the last `TRAIL_UNITS` unit stays: an older start is lost (`truncated`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import quote

from streams.catalog import Catalog
from streams.core.calendar import DAY, LOCAL_OFFSET, WorkingCalendar, local_day
from streams.core.dossier import FINISHED, OPEN, SUPPLEMENT, Dossier
from streams.core.policy import PolicyBook
from streams.web import views_model as vm

Json = dict[str, Any]

Period = tuple[int, int]
"""[from, until) in epoch seconds."""


def format_instant(instant: int | None) -> str | None:
    """`dd/mm/yyyy HH:mm` local; local midnight is 24:00 of the day before."""
    if instant is None:
        return None
    local = instant + LOCAL_OFFSET
    day, seconds = divmod(local, DAY)
    if seconds == 0:
        # A limit ends at 24:00 of its day (art 147): say so, rather than "00:00" of a
        # day that is not the due day.
        return datetime.fromtimestamp((day - 1) * DAY, UTC).strftime("%d/%m/%Y") + " 24:00"
    return datetime.fromtimestamp(local, UTC).strftime("%d/%m/%Y %H:%M")


def format_duration(seconds: int) -> Json:
    """Days, hours and minutes of elapsed time, for a holder's stay."""
    days, rest = divmod(max(seconds, 0), DAY)
    hours, rest = divmod(rest, 3600)
    return {"seconds": seconds, "days": days, "hours": hours, "minutes": rest // 60}


def page_model(
    d: Dossier,
    book: PolicyBook,
    now: int,
    *,
    catalog: object | None = None,
    alerts: list[dict[str, Any]] | None = None,
) -> Json:
    """Everything the dossier page shows, for the centre (see `for_reader` for a unit)."""
    names = cast("Catalog | None", catalog)
    view = vm.dossier_view(d, book, now, names)
    calendar = book[d.policy].calendar
    end = _end(d, now)
    citizen = citizen_periods(d, now)
    return {
        "id": d.id,
        "now": format_instant(now),
        "procedure": _named(d.procedure, view["procedure_name"]),
        "unit": _named(d.unit, view["unit_name"]),
        "unit_page": unit_path(d.unit) if d.unit else None,
        "officer": d.officer,
        "status": view["status"],
        "standing": view["standing"],
        "received": format_instant(d.received_at),
        "due": format_instant(d.due),
        "due_iso": view["due"],
        "finished": format_instant(d.x.completed_at if d.x else None),
        "appointed_unlawfully": format_instant(d.x.appointed if d.x else None),
        "time": time_left(d, calendar, now),
        "timeline": timeline(
            view["chain"], end, citizen, calendar, held_now=d.status not in FINISHED
        ),
        "timeline_truncated": view["chain_truncated"],
        "citizen": citizen_summary(d, now, citizen),
        "counts": {
            k: view[k] for k in ("unit_bounces", "officer_bounces", "supplements", "reschedules")
        },
        "alerts": open_alerts(d, view, alerts or [], names),
        "steps": [
            {
                **step,
                "unit": _named(step["unit"], step["unit_name"]),
                "arrived": _from_iso(step["arrived"]),
                "due": _from_iso(step["due"]),
                "left": _from_iso(step["left"]),
            }
            for step in view["steps"]
        ],
        "acknowledge": None,
    }


def unit_path(unit: str, officer: str | None = None) -> str:
    """The unit's page (or one of its officers'), codes quoted whole."""
    path = f"/units/{quote(unit, safe='')}"
    return f"{path}/officers/{quote(officer, safe='')}" if officer else path


def _named(code: str | None, name: str | None) -> Json:
    """A code with its catalogue name; `label` is what a screen shows (the name, else
    the code)."""
    return {"code": code, "name": name, "label": name or code or "—"}


def _from_iso(text: str | None) -> str | None:
    return None if text is None else format_instant(int(datetime.fromisoformat(text).timestamp()))


def _end(d: Dossier, now: int) -> int:
    """Until when the last holder held it: now while it is handled, else its last event
    (a finished dossier's completion, a closure's or withdrawal's instant)."""
    if d.status not in FINISHED:
        return now
    if d.x is not None and d.x.completed_at is not None:
        return min(d.x.completed_at, now)
    return min(d.last_at, now)


# ---- time left ---------------------------------------------------------------------


def time_left(d: Dossier, calendar: WorkingCalendar, now: int) -> Json | None:
    """How far the due date is, in the centre's working days and office hours.

    `working_days`: whole working days after today up to and including the due day (or,
    overdue, from the day after the due day up to and including today), so on a Friday
    with the dossier due at 24:00 on Tuesday it reads 2 (Monday, Tuesday);
    `working_seconds`: office hours between now and the due instant, today's included."""
    if d.status == SUPPLEMENT:
        return {"kind": "stopped"}
    if d.status != OPEN or d.due is None:
        return None
    due_day = local_day(d.due - 1)  # 24:00 belongs to the day that ends
    today = local_day(now)
    if now <= d.due:
        return {
            "kind": "left",
            "working_days": calendar.working_days_between(today + 1, due_day + 1),
            "working_seconds": calendar.working_hours_between(now, d.due),
        }
    return {
        "kind": "overdue",
        "working_days": calendar.working_days_between(due_day + 1, today + 1),
        "working_seconds": calendar.working_hours_between(d.due, now),
    }


# ---- who held it -------------------------------------------------------------------


def citizen_periods(d: Dossier, now: int) -> list[Period]:
    """The periods the citizen held the dossier (a supplement), where the state places
    them: the one running now, and a finished one only if it was the only one."""
    x = d.x
    if x is None:
        return []
    out: list[Period] = []
    running = d.status == SUPPLEMENT and x.supplement_at is not None
    finished = x.supplements - (1 if running else 0)
    if finished == 1 and x.supplement_wait > 0 and d.start is not None:
        # Supplied at `start` (the limit restarts then), after `supplement_wait` seconds.
        out.append((d.start - x.supplement_wait, d.start))
    if running and x.supplement_at is not None:
        out.append((x.supplement_at, max(now, x.supplement_at)))
    return out


def citizen_summary(d: Dossier, now: int, periods: Sequence[Period]) -> Json:
    x = d.x
    waited = x.supplement_wait if x else 0
    if d.status == SUPPLEMENT and x is not None and x.supplement_at is not None:
        waited += max(now - x.supplement_at, 0)
    return {
        "total": format_duration(waited),
        "holding_now": d.status == SUPPLEMENT,
        "periods": [{"from": format_instant(a), "until": format_instant(b)} for a, b in periods],
        # Several finished supplements: only their sum is kept, not when each was.
        "placed": waited == sum(b - a for a, b in periods),
    }


def _overlap(a: int, b: int, periods: Iterable[Period]) -> int:
    return sum(max(0, min(b, q) - max(a, p)) for p, q in periods)


def _office_overlap(a: int, b: int, periods: Iterable[Period], cal: WorkingCalendar) -> int:
    return sum(cal.working_hours_between(max(a, p), min(b, q)) for p, q in periods)


def timeline(
    chain: Sequence[Json],
    end: int,
    citizen: Sequence[Period],
    calendar: WorkingCalendar,
    *,
    held_now: bool,
) -> list[Json]:
    """Each unit stay: when it arrived, how long the unit held it (in the centre) and how
    long of that the citizen held it (outside), and each officer's part of the stay.
    `held_now`: the last stay is still running (`until` is None), else it ended at `end`."""
    out = []
    starts = [int(datetime.fromisoformat(s["since"]).timestamp()) for s in chain]
    for i, step in enumerate(chain):
        since = starts[i]
        until = max(starts[i + 1] if i + 1 < len(chain) else end, since)
        outside = _overlap(since, until, citizen)
        office = calendar.working_hours_between(since, until)
        officer_starts = [
            int(datetime.fromisoformat(o["since"]).timestamp()) for o in step["officers"]
        ]
        officers = [
            {
                "officer": o["officer"],
                "since": format_instant(t),
                "held": format_duration(
                    (officer_starts[j + 1] if j + 1 < len(officer_starts) else until) - t
                ),
            }
            for j, (o, t) in enumerate(zip(step["officers"], officer_starts, strict=True))
        ]
        out.append(
            {
                "unit": _named(step["unit"], step["unit_name"]),
                "since": format_instant(since),
                "until": None if held_now and i + 1 == len(chain) else format_instant(until),
                "current": held_now and i + 1 == len(chain),
                "held": format_duration(until - since),
                "inside": format_duration(until - since - outside),
                "outside": format_duration(outside),
                "office_seconds_inside": office - _office_overlap(since, until, citizen, calendar),
                "officers": officers,
            }
        )
    return out


# ---- alerts ------------------------------------------------------------------------

CHAIN_RULES = frozenset({"ping_pong_unit", "referral_chain"})
"""Rules whose evidence is the unit trail itself: the state holds it when no record does."""


def open_alerts(
    d: Dossier, view: Json, records: Sequence[Mapping[str, Any]], catalog: Catalog | None
) -> list[Json]:
    """The dossier's open alerts (the state says which are open), each with the evidence
    of its record when one is known (an alert's evidence text and chain are not kept in
    the state); without a record, what the state itself shows."""
    by_id = {str(r.get("id")): r for r in records}
    out = []
    for a in view["open_alerts"]:
        record = by_id.get(a["id"], {})
        chain = record.get("chain") or ()
        if isinstance(chain, str):
            path = chain  # Alertmanager's annotation: already text
        else:
            path = " → ".join(
                f"{vm.unit_name(catalog, str(who)) or who} ({_from_iso(str(when))})"
                for who, when in chain
            )
        if not path and a["rule"] in CHAIN_RULES:
            path = " → ".join(
                f"{s['unit_name'] or s['unit']} ({_from_iso(s['since'])})" for s in view["chain"]
            )
        evidence = str(record.get("evidence") or "")
        if not evidence and a["rule"] == "deadline" and d.due is not None:
            evidence = f"hạn / due {format_instant(d.due)}"
        out.append(
            {
                "id": a["id"],
                "rule": a["rule"],
                "level": a["level"],
                "severity": record.get("severity"),
                "title": record.get("title"),
                "title_en": record.get("title_en"),
                "unit": _named(a["unit"], vm.unit_name(catalog, a["unit"])),
                "at": _from_iso(str(record["at"])) if record.get("at") else None,
                "evidence": evidence,
                "chain": path,
                "from_record": bool(record),
                "silences": [],
                "can_acknowledge": False,
            }
        )
    return out


# ---- who may read and acknowledge ----------------------------------------------------


def may_read(d: Dossier, units: vm.Units) -> bool:
    """The API's rule: a unit head reads the dossiers their unit holds or held."""
    return vm.readable(d, units)


def may_acknowledge(units: vm.Units, alert_unit: str | None) -> bool:
    """The centre acknowledges any alert; a unit head only their unit's own alerts."""
    return units is None or (alert_unit is not None and alert_unit in units)


def for_reader(model: Json, units: vm.Units) -> Json:
    """The page as a unit head may read it: officers of other units' stays (and the one
    holding it now, if another unit holds it) left out, as the API leaves them out; so is
    the text of other units' alerts, whose evidence may name their officers."""
    if units is None:
        return model
    out = dict(model)
    if model["unit"]["code"] not in units:
        out["officer"] = None
        out["unit_page"] = None  # another unit's page is not theirs to open
    out["timeline"] = [
        stay if stay["unit"]["code"] in units else {**stay, "officers": []}
        for stay in model["timeline"]
    ]
    out["alerts"] = [
        a
        if a["unit"]["code"] in units or not a["from_record"]
        else {**a, "evidence": "", "chain": ""}
        for a in model["alerts"]
    ]
    return out


def with_acknowledgements(
    model: Json,
    silences: Sequence[Mapping[str, Any]],
    *,
    units: vm.Units,
    form: Json | None,
) -> Json:
    """The page with each alert's silences (Alertmanager's, active or pending) and, when
    acknowledging is possible (`form`: the signed-in name and the form's CSRF token),
    which alerts this reader may acknowledge."""
    out = dict(model)
    out["acknowledge"] = form
    out["alerts"] = [
        {
            **a,
            "silences": [_silence(s) for s in silences if _silences(s, model["id"], a["id"])],
            "can_acknowledge": form is not None and may_acknowledge(units, a["unit"]["code"]),
        }
        for a in model["alerts"]
    ]
    return out


def _silences(s: Mapping[str, Any], dossier: str, alert_id: str) -> bool:
    """Whether a silence covers this alert: it names the alert's id, or (none named) the
    dossier, with plain equality matchers."""
    if (s.get("status") or {}).get("state") not in ("active", "pending"):
        return False
    equal = {
        m.get("name"): m.get("value")
        for m in s.get("matchers") or ()
        if not m.get("isRegex") and m.get("isEqual", True)
    }
    if "alert_id" in equal:
        return bool(equal["alert_id"] == alert_id)
    return bool(equal.get("dossier") == dossier)


def _silence(s: Mapping[str, Any]) -> Json:
    return {
        "id": s.get("id"),
        "by": s.get("createdBy"),
        "comment": s.get("comment"),
        "state": (s.get("status") or {}).get("state"),
        "until": _from_iso(str(s["endsAt"])) if s.get("endsAt") else None,
    }
