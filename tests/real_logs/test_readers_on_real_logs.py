"""The production XES reader against the public logs and the independent figures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from streams.eventlogs.xes import read_xes

LOGS = [
    "receipt.xes.gz",
    "BPIC15_1.xes.gz",
    "BPIC20_PermitLog_cleaned.xes.gz",
    # 561,470 events: several seconds, so only in the full (real_logs) runs.
    pytest.param("Road_Traffic_Fine_Management_Process.xes.gz", marks=pytest.mark.real_logs),
]


@pytest.mark.parametrize("name", LOGS)
def test_counts_and_time_span_match_the_independent_figures(
    name: str, data_path: Callable[[str], str], expected_figures: dict[str, Any]
) -> None:
    """read_xes yields exactly the cases, events and first/last instants figures.py found."""
    path = data_path(name)
    expected = expected_figures["logs"][name]
    cases = events = 0
    stamps: list[datetime] = []
    for trace in read_xes(path):
        cases += 1
        events += len(trace.events)
        if trace.events:
            first = trace.events[0]["time:timestamp"]
            last = trace.events[-1]["time:timestamp"]
            assert isinstance(first, datetime) and isinstance(last, datetime)
            stamps += (first, last)
    assert (cases, events) == (expected["cases"], expected["events"])
    # Events are in time order within a case, so the extremes are first/last events.
    assert min(stamps) == datetime.fromisoformat(expected["first_timestamp"])
    assert max(stamps) == datetime.fromisoformat(expected["last_timestamp"])


def test_receipt_values_are_typed_and_keyed_as_in_the_file(
    data_path: Callable[[str], str],
) -> None:
    """The first receipt case carries its documented attributes with Python types."""
    trace = next(read_xes(data_path("receipt.xes.gz")))
    assert trace.case_id == "case-10011"
    deadline = trace.attributes["deadline"]
    assert isinstance(deadline, datetime) and deadline.utcoffset() is not None
    assert trace.attributes["channel"] == "Internet"
    assert [e["org:group"] for e in trace.events] == ["Group 1", "Group 4", "Group 1", "Group 4"]
    assert trace.line == 1798  # the first <trace>, after the meta_* header
