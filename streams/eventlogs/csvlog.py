"""Streaming reader for event-log CSVs (one row per event, plain or gzip).

A CSV has no trace element, so a case is a run of consecutive rows with the same
case id.  The file must therefore be sorted (grouped) by case: a case that comes
back after another one is an error rather than a silent second trace, because a
replay would otherwise see one dossier open twice.

Exports from case-handling systems often write local times without an offset; given a
`timezone` they are read in it (Asia/Ho_Chi_Minh by default on the command line),
without one they are refused.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from streams.eventlogs.logs import LogFormatError, LogTrace, open_log

CASE_COLUMNS = ("case:concept:name", "case_id", "case", "CaseID")
TIME_COLUMNS = ("time:timestamp", "timestamp", "time")
ACTIVITY_COLUMNS = ("concept:name", "activity")

_CACHE_LIMIT = 50_000
"""Bound on the timestamp cache: day-precision logs repeat a few thousand values."""

DEFAULT_ZONE = "Asia/Ho_Chi_Minh"
_FIXED = {"Asia/Ho_Chi_Minh": timezone(timedelta(hours=7)), "UTC": UTC}
"""Zones known without the tz database (UTC+7 has had no daylight saving since 1975)."""


def zone(name: str) -> tzinfo:
    """The time zone called `name` (IANA, e.g. Asia/Ho_Chi_Minh, or a fixed offset like
    +07:00); ValueError naming it when there is none."""
    text = name.strip()
    if text and text[0] in "+-":
        try:
            offset = datetime.strptime(text, "%z").utcoffset()
        except ValueError:
            raise ValueError(f"not a UTC offset like +07:00: {name!r}") from None
        assert offset is not None
        return timezone(offset)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        if text in _FIXED:
            return _FIXED[text]
        raise ValueError(f"unknown time zone {name!r} (e.g. Asia/Ho_Chi_Minh, +07:00)") from None


def read_csv_log(
    path: str,
    *,
    case_column: str | None = None,
    time_column: str | None = None,
    timezone: tzinfo | None = None,
    required: Sequence[str] = (),
) -> Iterator[LogTrace]:
    """Yield one `LogTrace` per case of the CSV event log at `path`, in file order.

    The first row is the header.  `case_column` defaults to the first of
    `CASE_COLUMNS` present, `time_column` to the first of `TIME_COLUMNS`.  Each
    event holds `time:timestamp` (an offset-aware datetime, whatever the column is
    called), `concept:name` from the `concept:name` or else the `activity` column
    when there is one, and every other non-empty cell as a string.  The trace
    attributes hold only `concept:name`, the case id.  A timestamp without an offset
    is local time in `timezone`.  `required` names event attributes (as keyed above)
    the header must give.  Raises `LogFormatError` on a missing column, a bad
    timestamp (or one without an offset when no `timezone` is given), a ragged row, an
    empty case id, or a case whose rows are not consecutive; the traces completed
    before the fault are yielded first.
    """
    with (
        open_log(path) as raw,
        io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text,
    ):
        yield from _read_cases(path, text, case_column, time_column, timezone, required)


def _pick(
    path: str, header: Sequence[str], given: str | None, defaults: Sequence[str], role: str
) -> int:
    if given is not None:
        if given not in header:
            raise LogFormatError(f"{role} column {given!r} is not in the header", path=path, line=1)
        return header.index(given)
    for name in defaults:
        if name in header:
            return header.index(name)
    expected = ", ".join(defaults)
    raise LogFormatError(
        f"no {role} column: the header has none of {expected}; name it with {role}_column=",
        path=path,
        line=1,
    )


def _read_cases(
    path: str,
    text: io.TextIOWrapper,
    case_column: str | None,
    time_column: str | None,
    zone: tzinfo | None,
    required: Sequence[str],
) -> Iterator[LogTrace]:
    rows = csv.reader(text)
    line = 1  # where the row being read starts, for messages
    try:
        header = next(rows, None)
        if header is None:
            raise LogFormatError("empty file: no header row", path=path, line=1)
        case_at = _pick(path, header, case_column, CASE_COLUMNS, "case")
        time_at = _pick(path, header, time_column, TIME_COLUMNS, "time")
        activity = next((name for name in ACTIVITY_COLUMNS if name in header), None)
        # (column index, event key) for every cell that becomes an attribute.
        targets = [
            (i, "concept:name" if name == activity else name)
            for i, name in enumerate(header)
            if i not in (case_at, time_at)
        ]
        keys = {key for _, key in targets}
        for name in required:
            if name not in keys:
                raise LogFormatError(
                    f"no column {name!r} in the header (it has: {', '.join(header)})",
                    path=path,
                    line=1,
                )
        width = len(header)
        times: dict[str, datetime] = {}
        seen: set[str] = set()
        current: LogTrace | None = None
        line = rows.line_num + 1
        for cells in rows:
            if cells:  # csv gives [] for a blank line
                if len(cells) != width:
                    raise LogFormatError(
                        f"row has {len(cells)} fields, the header has {width}",
                        path=path,
                        line=line,
                    )
                case_id = cells[case_at]
                if current is None or current.case_id != case_id:
                    if current is not None:
                        yield current
                        current = None
                    _check_new_case(path, line, case_id, seen)
                    current = LogTrace(case_id, {"concept:name": case_id}, [], line)
                event: dict[str, object] = {
                    "time:timestamp": _timestamp(path, line, cells[time_at], times, zone)
                }
                for i, key in targets:
                    if cells[i]:
                        event[key] = cells[i]
                current.events.append(event)
            line = rows.line_num + 1
        if current is not None:
            yield current
    except csv.Error as err:
        raise LogFormatError(f"bad CSV: {err}", path=path, line=line) from None
    except UnicodeDecodeError as err:
        raise LogFormatError(f"not UTF-8 text: {err.reason}", path=path, line=line) from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise LogFormatError(
            f"truncated or corrupt gzip data after this line ({err})", path=path, line=line
        ) from None


def _check_new_case(path: str, line: int, case_id: str, seen: set[str]) -> None:
    if not case_id:
        raise LogFormatError("empty case id", path=path, line=line)
    if case_id in seen:
        raise LogFormatError(
            f"case {case_id!r} appears again after other cases; sort the file by case",
            path=path,
            line=line,
        )
    seen.add(case_id)


def _timestamp(
    path: str, line: int, text: str, cache: dict[str, datetime], zone: tzinfo | None
) -> datetime:
    when = cache.get(text)
    if when is not None:
        return when
    if not text:
        raise LogFormatError("empty timestamp", path=path, line=line)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise LogFormatError(f"bad timestamp {text!r}", path=path, line=line) from None
    if when.tzinfo is None:
        if zone is None:
            raise LogFormatError(
                f"timestamp {text!r} has no UTC offset (local time is ambiguous;"
                " name its time zone)",
                path=path,
                line=line,
            )
        when = when.replace(tzinfo=zone)
    if len(cache) < _CACHE_LIMIT:
        cache[text] = when
    return when
