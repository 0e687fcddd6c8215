"""A period's figures per unit, from dossier states: the one computation behind the
board's period table (/api/board), the report endpoint (/api/report) and
`dossierwatch report` over a log.

Pure: dossier states, the policy book and the period's bounds in; plain counts out.
Each dossier is counted in one unit (the one holding it at `end`, or that finished it), so
every row balances:

    carried_over + received
        = finished_early + finished_on_time + finished_late + returned + withdrawn
          + open_not_due + open_overdue

How a dossier finished (Sớm / Đúng / Trễ hạn) and whether it counts as on time are
Decision 766's, from `streams.core.figures` (the metrics and the board read the same).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from streams.catalog import Catalog
from streams.core.calendar import to_instant, to_iso
from streams.core.detectors.citizen import supplement_window_end
from streams.core.dossier import CLOSED, FINISHED, SUPPLEMENT, WITHDRAWN, Dossier
from streams.core.figures import on_time_766, timeliness
from streams.core.policy import PolicyBook
from streams.dashboard.summary import NO_UNIT, TOTAL
from streams.reports.periods import Period, PeriodError, parse_period

Json = dict[str, Any]

PERIOD_COLUMNS: Mapping[str, tuple[str, str]] = {
    "carried_over": ("Số đầu kỳ", "Open at the start of the period"),
    "received": ("Tiếp nhận trong kỳ", "Received in the period"),
    "finished_early": ("Đã xử lý – Sớm hạn", "Finished early"),
    "finished_on_time": ("Đã xử lý – Đúng hạn", "Finished on time"),
    "finished_late": ("Đã xử lý – Trễ hạn", "Finished late"),
    "open_not_due": ("Đang xử lý – Chưa đến hạn", "Open, not yet due, at the end"),
    "open_overdue": ("Đang xử lý – Quá hạn", "Open and overdue at the end"),
    "returned": ("Trả lại", "Returned (supplement never came)"),
    "withdrawn": ("Rút", "Withdrawn by the citizen"),
}
"""The balance columns: where the dossiers handled in the period came from and went."""

RATE_INPUTS = ("handled", "handled_on_time")
"""Decision 766's two inputs: dossiers handled in the period (finished in it, or still
open at its end) and those of them on time."""

REFERRAL_COLUMNS: Mapping[str, tuple[str, str]] = {
    "ping_pong": ("Chuyển qua lại", "Sent back to a unit it had left (ping-pong)"),
    "consulted": ("Xin ý kiến", "Sent to other units for their opinion"),
}
"""Of the row's dossiers, those sent back at least once to a unit they had left, and
those on which another unit's opinion was asked at least once."""

COUNTS = (*PERIOD_COLUMNS, *RATE_INPUTS, *REFERRAL_COLUMNS)
"""Every count of a row, in the order a row lists them."""


class ReportDataError(ValueError):
    """Figures that cannot be a report (an API answer without a count, a negative one)."""


def finished_at(d: Dossier, book: PolicyBook) -> int | None:
    """When a finished dossier finished: its completion (or withdrawal); a dossier closed
    because the supplement never came, at the end of its supplement window; None while
    it is open."""
    if d.status not in FINISHED:
        return None
    if d.x is not None and d.x.completed_at is not None:
        return d.x.completed_at
    if d.status == CLOSED:
        closed = supplement_window_end(d, book[d.policy])
        if closed is not None:
            return closed
    return d.last_at  # no instant kept at all: its last event is the best there is


def period_counts(
    dossiers: Iterable[Dossier], start: int, end: int, book: PolicyBook
) -> dict[str, dict[str, int]]:
    """Per unit: the balance columns, the 766 inputs and the referral counts of the
    dossiers handled in [start, end) — received before `end` and not finished before
    `start` — judged as their states say at `end`."""
    rows: dict[str, dict[str, int]] = {}
    for d in dossiers:
        if d.received_at is None or d.received_at >= end:
            continue
        finished = finished_at(d, book)
        if finished is not None and finished < start:
            continue
        unit = d.unit or NO_UNIT
        row = rows.get(unit)
        if row is None:
            row = rows[unit] = dict.fromkeys(COUNTS, 0)
        row["carried_over" if d.received_at < start else "received"] += 1
        if d.x is not None:
            row["ping_pong"] += d.x.unit_bounces >= 1
            row["consulted"] += d.x.consultations >= 1
        if finished is not None and finished < end:
            if d.status == WITHDRAWN:
                row["withdrawn"] += 1
            elif d.status == CLOSED:
                row["returned"] += 1
            else:
                row[f"finished_{timeliness(d)}"] += 1
                row["handled"] += 1
                row["handled_on_time"] += on_time_766(d, end)
            continue
        # A dossier waiting for the citizen's documents is not due: its limit is stopped.
        overdue = d.status != SUPPLEMENT and d.due is not None and d.due < end
        row["open_overdue" if overdue else "open_not_due"] += 1
        row["handled"] += 1
        row["handled_on_time"] += on_time_766(d, end)
    return rows


def merge_counts(parts: Iterable[Mapping[str, Mapping[str, int]]]) -> dict[str, dict[str, int]]:
    """Several workers' (or slices') counts as one: the sum per unit and column."""
    out: dict[str, dict[str, int]] = {}
    for part in parts:
        for unit, row in part.items():
            acc = out.setdefault(unit, {})
            for k, v in row.items():
                acc[k] = acc.get(k, 0) + v
    return out


def on_time_rate(row: Mapping[str, int]) -> float | None:
    """Decision 766's on-time rate of a row (None when it handled nothing), to 4 places:
    the figure the wallboard, /api/board and the reports all show."""
    handled = row.get("handled", 0)
    return round(row.get("handled_on_time", 0) / handled, 4) if handled else None


# ---- the report ---------------------------------------------------------------------


@dataclass(frozen=True)
class ReportRow:
    unit: str
    unit_name: str | None
    counts: Mapping[str, int]
    """Every key of COUNTS."""

    @property
    def rate(self) -> float | None:
        return on_time_rate(self.counts)

    @property
    def label(self) -> str:
        """The unit as a reader names it: its name with its code, or the code alone."""
        return f"{self.unit_name} ({self.unit})" if self.unit_name else self.unit


@dataclass(frozen=True)
class Report:
    period: Period
    as_of: int
    """The instant the figures were judged at: the period's end, or earlier when the
    source had nothing later (a log ending, a month still running)."""
    rows: tuple[ReportRow, ...]
    total: ReportRow
    source: str
    """Where the figures came from: a log file, or an API's address."""
    partial: bool = False
    """Some workers did not answer: the figures lack their dossiers."""


def build_report(
    counts: Mapping[str, Mapping[str, int]],
    period: Period,
    as_of: int,
    *,
    source: str,
    catalog: Catalog | None = None,
    names: Mapping[str, str | None] | None = None,
    partial: bool = False,
) -> Report:
    """The report of per-unit counts: a row per unit by code (names from the catalogue,
    else from `names`), and the total row, their sum."""
    rows = []
    for unit in sorted(counts):
        row = counts[unit]
        missing = [k for k in COUNTS if k not in row]
        if missing:
            raise ReportDataError(f"unit {unit!r} lacks {', '.join(missing)}")
        if any(not isinstance(row[k], int) or row[k] < 0 for k in COUNTS):
            raise ReportDataError(f"unit {unit!r} has a count that is not a whole number ≥ 0")
        rows.append(ReportRow(unit, _name(unit, catalog, names), {k: row[k] for k in COUNTS}))
    total = {k: sum(r.counts[k] for r in rows) for k in COUNTS}
    return Report(period, as_of, tuple(rows), ReportRow(TOTAL, None, total), source, partial)


def _name(unit: str, catalog: Catalog | None, names: Mapping[str, str | None] | None) -> str | None:
    if unit in (NO_UNIT, TOTAL):
        return None
    if catalog is not None:
        found = catalog.unit_name(unit)
        if found is not None:
            return found
    return (names or {}).get(unit)


def report_json(report: Report) -> Json:
    """The report as the API serves it (and `report_from_json` reads it back)."""
    p = report.period
    return {
        "period": {
            "label": p.label,
            "from": to_iso(p.start),
            "to": to_iso(p.end),
            "title_vi": p.title_vi,
            "title_en": p.title_en,
        },
        "as_of": to_iso(report.as_of),
        "source": report.source,
        "partial": report.partial,
        "columns": {
            k: {"vi": vi, "en": en}
            for k, (vi, en) in {**PERIOD_COLUMNS, **REFERRAL_COLUMNS}.items()
        },
        "rows": [_row_json(r) for r in report.rows],
        "total": _row_json(report.total),
    }


def _row_json(r: ReportRow) -> Json:
    return {"unit": r.unit, "unit_name": r.unit_name, **r.counts, "on_time_rate_766": r.rate}


def report_from_json(body: Any, *, source: str, catalog: Catalog | None = None) -> Report:
    """A report served by an API (`report_json`'s shape); the total is summed again from
    the rows.  ReportDataError says what is missing or wrong."""
    try:
        period = parse_period(str(body["period"]["label"]))
        as_of = to_instant(datetime.fromisoformat(str(body["as_of"])))
        rows: Sequence[Json] = body["rows"]
        counts = {str(r["unit"]): {k: r[k] for k in COUNTS if k in r} for r in rows}
        names = {str(r["unit"]): r.get("unit_name") for r in rows}
        partial = bool(body.get("partial", False))
    except (KeyError, TypeError, ValueError, PeriodError) as err:
        raise ReportDataError(f"not a report: {type(err).__name__} {err}") from None
    return build_report(
        counts, period, as_of, source=source, catalog=catalog, names=names, partial=partial
    )
