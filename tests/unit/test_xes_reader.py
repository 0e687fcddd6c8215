"""The streaming XES reader on small logs written inline."""

from __future__ import annotations

import gzip
import tracemalloc
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from streams.eventlogs.logs import LogFormatError, LogTrace, open_log
from streams.eventlogs.xes import read_xes

CET = timezone(timedelta(hours=1))
CEST = timezone(timedelta(hours=2))

HEADER = """<?xml version="1.0" encoding="UTF-8" ?>
<log xes.version="1.0" xes.features="nested-attributes" xmlns="http://www.xes-standard.org/">
\t<extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
\t<global scope="event">
\t\t<string key="concept:name" value="UNKNOWN"/>
\t\t<date key="time:timestamp" value="1970-01-01T00:00:00+01:00"/>
\t</global>
\t<classifier name="Activity" keys="concept:name"/>
\t<string key="concept:name" value="the log itself"/>
\t<int key="meta_concept:named_events_total" value="3">
\t\t<int key="A" value="2"/>
\t\t<string key="meta_general:classifier" value="x">
\t\t\t<float key="meta_general:classified_events_average" value="1.5">
\t\t\t\t<float key="A" value="0.5"/>
\t\t\t</float>
\t\t</string>
\t\t<list key="meta_list"><values><string key="v" value="1"/></values></list>
\t</int>
"""
FOOTER = "</log>\n"


def event(name: str, when: str, extra: str = "") -> str:
    return (
        f'\t\t<event>\n\t\t\t<string key="concept:name" value="{name}"/>\n'
        f'\t\t\t<date key="time:timestamp" value="{when}"/>{extra}\n\t\t</event>\n'
    )


def trace(case: str, *events: str, attrs: str = "") -> str:
    head = f'\t<trace>\n\t\t<string key="concept:name" value="{case}"/>{attrs}\n'
    return head + "".join(events) + "\t</trace>\n"


def write(tmp_path: Path, text: str, *, gz: bool = False, name: str = "log.xes") -> str:
    path = tmp_path / name
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if gz else data)
    return str(path)


TWO_CASES = (
    HEADER
    + trace(
        "c1",
        event("A", "2010-10-05T00:00:00+02:00"),
        event("B", "2010-11-05T09:30:00.123+01:00"),
        attrs='\n\t\t<date key="deadline" value="2010-12-01T00:00:00Z"/>',
    )
    + trace("c2", event("A", "2011-01-01T12:00:00+01:00"))
    + FOOTER
)


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_reads_cases_events_and_timestamps_from_plain_and_gzip(tmp_path: Path, gz: bool) -> None:
    """Plain and gzipped files give the same cases, events and offset-aware timestamps."""
    traces = list(read_xes(write(tmp_path, TWO_CASES, gz=gz)))
    assert [t.case_id for t in traces] == ["c1", "c2"]
    assert [e["concept:name"] for e in traces[0].events] == ["A", "B"]
    assert traces[0].events[0]["time:timestamp"] == datetime(2010, 10, 5, tzinfo=CEST)
    assert traces[0].events[1]["time:timestamp"] == datetime(2010, 11, 5, 9, 30, 0, 123000, CET)
    assert traces[0].attributes == {
        "concept:name": "c1",
        "deadline": datetime(2010, 12, 1, tzinfo=UTC),
    }


def test_gzip_is_detected_by_magic_bytes_not_by_name(tmp_path: Path) -> None:
    """A gzip file named .xes and a plain file named .xes.gz both read correctly."""
    disguised = write(tmp_path, TWO_CASES, gz=True, name="a.xes")
    plain = write(tmp_path, TWO_CASES, gz=False, name="b.xes.gz")
    assert list(read_xes(disguised)) == list(read_xes(plain))
    with open_log(disguised) as stream:
        assert stream.read(5) == b"<?xml"


def test_typed_values_become_python_types(tmp_path: Path) -> None:
    """string, date, int, float, boolean and id attributes get their Python types."""
    extra = (
        '\n\t\t\t<int key="points" value="-3"/>'
        '\n\t\t\t<float key="amount" value="35.5"/>'
        '\n\t\t\t<float key="big" value="4.248252E8"/>'
        '\n\t\t\t<boolean key="paid" value="true"/>'
        '\n\t\t\t<boolean key="late" value="FALSE"/>'
        '\n\t\t\t<id key="uuid" value="a1b2"/>'
        '\n\t\t\t<string key="note" value="caf&#233; &amp; co"/>'
    )
    text = HEADER + trace("c1", event("A", "2010-10-05T00:00:00+02:00", extra)) + FOOTER
    (only,) = read_xes(write(tmp_path, text))
    got = only.events[0]
    assert got["points"] == -3 and type(got["points"]) is int
    assert got["amount"] == 35.5 and got["big"] == 4.248252e8
    assert got["paid"] is True and got["late"] is False
    assert got["uuid"] == "a1b2"
    assert got["note"] == "café & co"


def test_nested_attributes_keep_the_outer_value_only(tmp_path: Path) -> None:
    """An attribute with children keeps its own value; children and lists add nothing."""
    extra = (
        '\n\t\t\t<string key="unit" value="Group 1">'
        '<string key="unit:name" value="child"/>'
        '<int key="deep" value="1"><int key="x" value="2"/></int>'
        "</string>"
        '\n\t\t\t<list key="tags"><values><string key="tag" value="t"/></values></list>'
        '\n\t\t\t<container key="box"><string key="inside" value="i"/></container>'
    )
    attrs = '\n\t\t<int key="size" value="7"><string key="size:unit" value="pages"/></int>'
    text = HEADER + trace("c1", event("A", "2010-10-05T00:00:00+02:00", extra), attrs=attrs)
    (only,) = read_xes(write(tmp_path, text + FOOTER))
    assert only.attributes == {"concept:name": "c1", "size": 7}
    assert set(only.events[0]) == {"concept:name", "time:timestamp", "unit"}
    assert only.events[0]["unit"] == "Group 1"


def test_log_level_header_and_meta_blocks_are_skipped(tmp_path: Path) -> None:
    """Globals, classifiers and nested meta_* blocks before the first trace never leak in."""
    first = next(read_xes(write(tmp_path, TWO_CASES)))
    assert "meta_concept:named_events_total" not in first.attributes
    assert set(first.attributes) == {"concept:name", "deadline"}
    assert first.line == TWO_CASES.splitlines().index("\t<trace>") + 1


def test_equal_timestamps_keep_file_order(tmp_path: Path) -> None:
    """Events at the same instant come out in file order, never re-sorted."""
    same = "2014-04-14T00:00:00+02:00"
    names = ["Z", "A", "M", "B"]
    text = HEADER + trace("c1", *(event(n, same) for n in names)) + FOOTER
    (only,) = read_xes(write(tmp_path, text))
    assert [e["concept:name"] for e in only.events] == names


def test_trace_without_events_is_yielded_empty(tmp_path: Path) -> None:
    """A trace with no events is a case with an empty event list, not skipped."""
    text = HEADER + trace("lonely") + trace("c2", event("A", "2011-01-01T12:00:00Z")) + FOOTER
    traces = list(read_xes(write(tmp_path, text)))
    assert [(t.case_id, len(t.events)) for t in traces] == [("lonely", 0), ("c2", 1)]


def test_log_without_traces_yields_nothing(tmp_path: Path) -> None:
    """A well-formed log with a header but no traces is an empty replay."""
    assert list(read_xes(write(tmp_path, HEADER + FOOTER))) == []


def test_truncated_gzip_is_a_log_format_error_after_complete_traces(tmp_path: Path) -> None:
    """A gzip cut short fails with a one-line LogFormatError, after the readable traces."""
    body = "".join(trace(f"c{i}", event("A", "2011-01-01T12:00:00+01:00")) for i in range(3000))
    data = gzip.compress((HEADER + body + FOOTER).encode())
    path = tmp_path / "cut.xes.gz"
    path.write_bytes(data[: len(data) // 2])
    seen: list[LogTrace] = []
    with pytest.raises(LogFormatError, match=r"cut\.xes\.gz:\d+: truncated or corrupt gzip") as err:
        seen.extend(read_xes(str(path)))
    assert 0 < len(seen) < 3000
    assert "\n" not in str(err.value)
    assert err.value.line is not None and err.value.line > seen[-1].line


def test_malformed_xml_names_the_line(tmp_path: Path) -> None:
    """A mismatched tag fails with path:line:column (1-based, at the tag name), on one line."""
    text = HEADER + trace("c1", event("A", "2011-01-01T12:00:00+01:00")) + FOOTER
    lines = text.splitlines()
    bad = lines.index("\t\t</event>")
    lines[bad] = "\t\t</evnt>"
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(LogFormatError) as err:
        list(read_xes(path))
    assert str(err.value) == f"{path}:{bad + 1}:5: mismatched tag"
    assert (err.value.line, err.value.offset) == (bad + 1, 5)


def test_file_cut_inside_a_trace_names_where_the_trace_opened(tmp_path: Path) -> None:
    """A plain file ending mid-trace reports the unclosed <trace> and its opening line."""
    text = HEADER + trace("c1", event("A", "2011-01-01T12:00:00+01:00"))
    text += '\t<trace>\n\t\t<string key="concept:name" value="c2"/>\n'
    opened = text.splitlines().index("\t<trace>", text.splitlines().index("\t</trace>")) + 1
    seen: list[LogTrace] = []
    with pytest.raises(LogFormatError, match=f"unclosed <trace> opened at line {opened}"):
        seen.extend(read_xes(write(tmp_path, text)))
    assert [t.case_id for t in seen] == ["c1"]


def test_date_without_offset_is_rejected_with_its_line(tmp_path: Path) -> None:
    """A naive date is ambiguous local time, so it fails naming its line."""
    text = HEADER + trace("c1", event("A", "2011-01-01T12:00:00")) + FOOTER
    line = text.splitlines().index('\t\t\t<date key="time:timestamp" value="2011-01-01T12:00:00"/>')
    path = write(tmp_path, text)
    with pytest.raises(LogFormatError, match="has no UTC offset") as err:
        list(read_xes(path))
    assert str(err.value).startswith(f"{path}:{line + 1}: ")


@pytest.mark.parametrize(
    ("element", "message"),
    [
        ('<int key="n" value="1.5"/>', "bad int '1.5' for 'n'"),
        ('<float key="n" value="abc"/>', "bad float 'abc' for 'n'"),
        ('<boolean key="n" value="yes"/>', "bad boolean 'yes' for 'n'"),
        ('<date key="n" value="2011-13-01T00:00:00Z"/>', "bad date '2011-13-01T00:00:00Z'"),
        ('<string key="n"/>', "<string> attribute without 'value'"),
        ('<bogus key="n" value="1"/>', "unexpected <bogus> in <event>"),
    ],
)
def test_bad_typed_values_are_log_format_errors(tmp_path: Path, element: str, message: str) -> None:
    """A value that does not parse as its declared type fails naming key and value."""
    text = HEADER + trace("c1", event("A", "2011-01-01T12:00:00Z", "\n\t\t\t" + element)) + FOOTER
    with pytest.raises(LogFormatError, match=f":\\d+: {message}"):
        list(read_xes(write(tmp_path, text)))


def test_trace_without_case_id_fails_at_its_opening_line(tmp_path: Path) -> None:
    """A trace with no concept:name has no case id, and the error points at the trace."""
    text = HEADER + "\t<trace>\n" + event("A", "2011-01-01T12:00:00Z") + "\t</trace>\n" + FOOTER
    line = text.splitlines().index("\t<trace>") + 1
    with pytest.raises(LogFormatError, match=f"xes:{line}: <trace> without a concept:name"):
        list(read_xes(write(tmp_path, text)))


def test_not_xes_at_all_is_a_log_format_error(tmp_path: Path) -> None:
    """A CSV handed to the XES reader fails on line 1 instead of yielding nothing."""
    with pytest.raises(LogFormatError, match=r"log\.xes:1:\d+: syntax error"):
        list(read_xes(write(tmp_path, "case,time\nc1,2011-01-01T00:00:00Z\n")))


def test_memory_holds_about_one_chunk_of_traces(tmp_path: Path) -> None:
    """Reading a multi-megabyte log allocates far less than the log's own size."""
    body = "".join(
        trace(f"case-{i}", *(event(f"A{j}", "2011-01-01T12:00:00+01:00") for j in range(5)))
        for i in range(8000)
    )
    text = HEADER + body + FOOTER
    path = write(tmp_path, text, gz=True)
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_xes(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 8000
    assert peak < len(text) / 5, (peak, len(text))


def test_error_message_forms() -> None:
    """LogFormatError renders path:line:column, path:line or path alone, on one line."""
    with_column = LogFormatError("bad\nthing", path="x.xes", line=3, offset=7)
    assert str(with_column) == "x.xes:3:7: bad thing"
    assert (
        str(LogFormatError("unclosed <trace>", path="r.xes", line=12))
        == "r.xes:12: unclosed <trace>"
    )
    assert str(LogFormatError("empty", path="y.csv")) == "y.csv: empty"
