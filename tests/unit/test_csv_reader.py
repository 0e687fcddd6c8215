"""The streaming CSV event-log reader on small logs written inline."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from streams.eventlogs.csvlog import read_csv_log
from streams.eventlogs.logs import LogFormatError, LogTrace

CET = timezone(timedelta(hours=1))

BASIC = """\
case:concept:name,concept:name,time:timestamp,org:group,note
c1,Submit,2020-01-06T09:00:00+01:00,Front desk,
c1,Check,2020-01-07T10:30:00.250+01:00,Back office,urgent
c2,Submit,2020-01-06T11:00:00Z,Front desk,
"""


def write(tmp_path: Path, text: str, *, gz: bool = False, name: str = "log.csv") -> str:
    path = tmp_path / name
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if gz else data)
    return str(path)


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_rows_group_into_cases_with_typed_timestamps(tmp_path: Path, gz: bool) -> None:
    """Consecutive rows of a case form one trace; timestamps are aware; empty cells are absent."""
    traces = list(read_csv_log(write(tmp_path, BASIC, gz=gz, name="x.csv")))
    assert [(t.case_id, t.line) for t in traces] == [("c1", 2), ("c2", 4)]
    assert traces[0].attributes == {"concept:name": "c1"}
    assert traces[0].events == [
        {
            "time:timestamp": datetime(2020, 1, 6, 9, tzinfo=CET),
            "concept:name": "Submit",
            "org:group": "Front desk",
        },
        {
            "time:timestamp": datetime(2020, 1, 7, 10, 30, 0, 250000, tzinfo=CET),
            "concept:name": "Check",
            "org:group": "Back office",
            "note": "urgent",
        },
    ]
    assert traces[1].events[0]["time:timestamp"] == datetime(2020, 1, 6, 11, tzinfo=UTC)


def test_gzip_is_detected_by_magic_bytes_not_by_name(tmp_path: Path) -> None:
    """A gzipped CSV named .csv reads the same as the plain one."""
    plain = list(read_csv_log(write(tmp_path, BASIC, name="a.csv")))
    assert list(read_csv_log(write(tmp_path, BASIC, gz=True, name="b.csv"))) == plain


def test_alternative_column_names_map_to_xes_keys(tmp_path: Path) -> None:
    """case_id/timestamp/activity columns become the case id, time:timestamp and concept:name."""
    text = "activity,timestamp,case_id,resource\nSubmit,2020-01-06T09:00:00+01:00,7,ann\n"
    (only,) = read_csv_log(write(tmp_path, text))
    assert only.case_id == "7"
    assert only.events == [
        {
            "time:timestamp": datetime(2020, 1, 6, 9, tzinfo=CET),
            "concept:name": "Submit",
            "resource": "ann",
        }
    ]


def test_explicit_columns_override_the_defaults(tmp_path: Path) -> None:
    """case_column and time_column pick columns the defaults would not find."""
    text = "dossier,when,case\nD1,2020-01-06T09:00:00+01:00,not the case\n"
    (only,) = read_csv_log(write(tmp_path, text), case_column="dossier", time_column="when")
    assert only.case_id == "D1"
    assert only.events[0]["case"] == "not the case"
    assert only.events[0]["time:timestamp"] == datetime(2020, 1, 6, 9, tzinfo=CET)


def test_equal_timestamps_keep_file_order(tmp_path: Path) -> None:
    """Rows at the same instant stay in file order within their case."""
    rows = "".join(f"c1,{name},2020-01-06T09:00:00+01:00\n" for name in "ZAMB")
    (only,) = read_csv_log(write(tmp_path, "case,activity,time\n" + rows))
    assert [e["concept:name"] for e in only.events] == list("ZAMB")


def test_case_appearing_again_is_rejected_after_the_complete_cases(tmp_path: Path) -> None:
    """A case that comes back after another case fails naming the line; earlier cases arrive."""
    text = BASIC + "c1,Decide,2020-01-08T09:00:00+01:00,Back office,\n"
    path = write(tmp_path, text)
    seen: list[LogTrace] = []
    with pytest.raises(LogFormatError) as err:
        seen.extend(read_csv_log(path))
    assert str(err.value) == (
        f"{path}:5: case 'c1' appears again after other cases; sort the file by case"
    )
    assert [t.case_id for t in seen] == ["c1", "c2"]


@pytest.mark.parametrize(
    ("header", "kwargs", "message"),
    [
        ("id,time,activity", {}, "no case column: the header has none of case:concept:name"),
        ("case,when,activity", {}, "no time column: the header has none of time:timestamp"),
        ("case,time,activity", {"case_column": "dossier"}, "case column 'dossier' is not in"),
        ("case,time,activity", {"time_column": "at"}, "time column 'at' is not in the header"),
    ],
)
def test_missing_columns_are_named(
    tmp_path: Path, header: str, kwargs: dict[str, str], message: str
) -> None:
    """A missing case or time column fails on line 1 saying what was looked for."""
    path = write(tmp_path, header + "\nc1,2020-01-06T09:00:00+01:00,A\n")
    with pytest.raises(LogFormatError, match=f"^{path}:1: {message}"):
        list(read_csv_log(path, **kwargs))


@pytest.mark.parametrize(
    ("stamp", "message"),
    [
        ("2020-01-06T09:00:00", "timestamp '2020-01-06T09:00:00' has no UTC offset"),
        ("2020-13-01T09:00:00+01:00", "bad timestamp '2020-13-01T09:00:00\\+01:00'"),
        ("", "empty timestamp"),
    ],
)
def test_bad_timestamps_name_their_line(tmp_path: Path, stamp: str, message: str) -> None:
    """A naive, invalid or empty timestamp fails naming the row's line."""
    text = f"case,time\nc1,2020-01-06T09:00:00+01:00\n\nc2,{stamp}\n"
    path = write(tmp_path, text)
    with pytest.raises(LogFormatError, match=f"^{path}:4: {message}"):
        list(read_csv_log(path))


def test_ragged_rows_and_empty_case_ids_are_rejected(tmp_path: Path) -> None:
    """A row with the wrong number of fields, or no case id, fails naming its line."""
    short = write(tmp_path, "case,time,activity\nc1,2020-01-06T09:00:00+01:00\n", name="s.csv")
    with pytest.raises(LogFormatError, match=r"s\.csv:2: row has 2 fields, the header has 3"):
        list(read_csv_log(short))
    blank_case = write(tmp_path, "case,time\n,2020-01-06T09:00:00+01:00\n", name="b.csv")
    with pytest.raises(LogFormatError, match=r"b\.csv:2: empty case id"):
        list(read_csv_log(blank_case))


def test_line_numbers_count_newlines_inside_quoted_cells(tmp_path: Path) -> None:
    """A quoted cell spanning lines shifts later rows' line numbers as in the file."""
    text = 'case,time,note\nc1,2020-01-06T09:00:00+01:00,"two\nlines"\nc2,2020-01-07T09:00:00Z,\n'
    traces = list(read_csv_log(write(tmp_path, text)))
    assert [(t.case_id, t.line) for t in traces] == [("c1", 2), ("c2", 4)]
    assert traces[0].events[0]["note"] == "two\nlines"


def test_truncated_gzip_is_a_log_format_error(tmp_path: Path) -> None:
    """A gzipped CSV cut short fails with a LogFormatError naming a line, not EOFError."""
    rows = "".join(f"c{i},A,2020-01-06T09:00:00+01:00\n" for i in range(20000))
    data = gzip.compress(("case,activity,time\n" + rows).encode())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(LogFormatError, match=r"cut\.csv\.gz:\d+: truncated or corrupt gzip"):
        list(read_csv_log(str(path)))


def test_empty_file_has_no_header(tmp_path: Path) -> None:
    """An empty file fails saying there is no header row."""
    with pytest.raises(LogFormatError, match="empty file: no header row"):
        list(read_csv_log(write(tmp_path, "")))


def test_header_only_file_yields_nothing(tmp_path: Path) -> None:
    """A header with no rows is an empty log, not an error."""
    assert list(read_csv_log(write(tmp_path, "case,time\n"))) == []


def test_byte_order_mark_is_not_part_of_the_first_column(tmp_path: Path) -> None:
    """A UTF-8 BOM (as Excel writes) does not hide the first column's name."""
    (only,) = read_csv_log(write(tmp_path, "\ufeffcase,time\nc1,2020-01-06T09:00:00Z\n"))
    assert only.case_id == "c1"


def test_naive_timestamps_are_read_in_the_given_time_zone(tmp_path: Path) -> None:
    """With a time zone, a timestamp without an offset is local time there; one with an
    offset keeps its own."""
    text = "case,time,org:group\nc1,2025-09-08T09:00:00,A\nc1,2025-09-08T10:00:00Z,B\n"
    (only,) = read_csv_log(write(tmp_path, text), timezone=timezone(timedelta(hours=7)))
    assert [e["time:timestamp"] for e in only.events] == [
        datetime(2025, 9, 8, 2, tzinfo=UTC),
        datetime(2025, 9, 8, 10, tzinfo=UTC),
    ]


def test_a_required_column_missing_from_the_header_is_named(tmp_path: Path) -> None:
    """A required attribute (the unit) absent from the header fails at line 1, naming it
    and the columns there are."""
    with pytest.raises(LogFormatError) as err:
        list(read_csv_log(write(tmp_path, BASIC), required=("org:role",)))
    assert err.value.line == 1 and "'org:role'" in str(err.value) and "org:group" in str(err.value)
