"""Reference figures from the public event logs, for the detection and reader tests.

Run:  python tests/real_logs/figures.py [--data DIR] > tests/real_logs/expected_figures.json

This script is deliberately independent of `streams/`: it parses with
`xml.etree.ElementTree.iterparse` over `gzip.open` and parses dates with
`datetime.strptime`, so a bug in the production reader (expat, `fromisoformat`)
cannot hide by being repeated here.  DIR defaults to $DOSSIERWATCH_DATA, else
<repo>/../shared/data.  The data files are never copied into the repository; only
the JSON output is committed.

Definitions (every figure in the JSON means exactly this)
---------------------------------------------------------
Common
* A *case* is one `<trace>` element; its id is the trace attribute `concept:name`.
* An *event* is one `<event>` child of a trace.  Events are taken in FILE ORDER.
  The logs are already in timestamp order within each case; `cases_out_of_time_order`
  counts the cases where some event has a strictly earlier `time:timestamp` than
  the event before it (0 in all four logs, so file order == time order; ties keep
  file order).
* Timestamps are compared as instants (the UTC offset written in the file applies).

`logs.<file>` (all four logs)
* `cases`, `events`: the counts above.
* `first_timestamp`, `last_timestamp`: the smallest and largest event
  `time:timestamp` instant in the whole log, printed in ISO 8601 with the offset
  written in the file.
* `sha256`: of the gzip file the figures were computed from.

`handover_bounce.<file>` (receipt at `org:group`, BPIC20 at `org:role`, BPIC15_1 at
`org:resource`; the level is given as `attribute`)
* The *unit sequence* of a case: take its events in file order; skip every event
  whose unit attribute is absent, or whose value, stripped of surrounding
  whitespace, is empty or exactly one of EMPTY, UNDEFINED, MISSING, UNKNOWN
  (case-sensitive); take the remaining values; collapse consecutive repeats
  (A A B B A -> A B A).
* A *bounce* (X->Y->X handover bounce) is a position i in the collapsed sequence u
  with u[i] == u[i+2] (u[i] != u[i+1] holds by the collapsing).  Overlapping
  bounces all count: A B A B has two (i=0 and i=1).
* `cases_with_bounce`: cases with at least one bounce.
* `cases_with_2plus_bounces`: cases with two or more bounces.
* `cases_with_more_than_4_units`: cases whose collapsed sequence holds more than 4
  distinct values (5 or more).
* `cases_with_units`: cases whose unit sequence is non-empty (for context).

`receipt_deadline` (receipt.xes.gz)
* `cases_with_deadline`: cases that have a trace attribute `deadline` (a date).
* `cases_last_event_after_deadline`: among those, the cases that have at least one
  event and whose LAST event in file order has a `time:timestamp` instant strictly
  after the `deadline` instant.

`road_traffic_60_days` (Road_Traffic_Fine_Management_Process.xes.gz)
* `cases`: number of cases.
* `cases_last_more_than_1440_hours_after_first`: the same by elapsed time between the
  two instants (60 × 24 h), which is what a time limit of `1440h` measures.
* `cases_last_more_than_60_days_after_first`: cases where the CALENDAR DATE of the
  last event (file order) minus the calendar date of the first event is more than
  60 days.  Calendar dates are the local dates as written in the file (every
  timestamp there is 00:00:00 local), so a daylight-saving change between the two
  events cannot move a case across the line.  With instant arithmetic the count
  would be 48 higher: cases exactly 60 calendar days long that start in summer time
  (+02:00) and end in winter time (+01:00) last 60 days and 1 hour.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import itertools
import json
import os
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

RECEIPT = "receipt.xes.gz"
BPIC15 = "BPIC15_1.xes.gz"
ROAD = "Road_Traffic_Fine_Management_Process.xes.gz"
BPIC20 = "BPIC20_PermitLog_cleaned.xes.gz"
LOGS = (RECEIPT, BPIC15, ROAD, BPIC20)
UNIT_LEVEL = {RECEIPT: "org:group", BPIC20: "org:role", BPIC15: "org:resource"}
PLACEHOLDERS = frozenset({"EMPTY", "UNDEFINED", "MISSING", "UNKNOWN", ""})
ROAD_DAYS = 60


@dataclass
class Case:
    """The parts of a trace the figures need, all values as raw strings."""

    attributes: dict[str, str] = field(default_factory=dict)
    attribute_types: dict[str, str] = field(default_factory=dict)
    events: list[dict[str, str]] = field(default_factory=list)


def default_data_dir() -> Path:
    env = os.environ.get("DOSSIERWATCH_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


def local_name(tag: str) -> str:
    # receipt and BPIC15 declare a default namespace, the other two do not.
    return tag.rsplit("}", 1)[-1]


def parse_date(text: str) -> datetime:
    """XES dates as these logs write them: seconds, optional fraction, +hh:mm or Z."""
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    fmt = "%Y-%m-%dT%H:%M:%S.%f%z" if "." in text else "%Y-%m-%dT%H:%M:%S%z"
    when = datetime.strptime(text, fmt)
    if when.tzinfo is None:  # pragma: no cover - %z makes strptime demand an offset
        raise ValueError(f"date without offset: {text}")
    return when


def iter_cases(path: Path) -> Iterator[Case]:
    """Each trace of the log, with its direct attributes and its events' attributes."""
    with gzip.open(path, "rb") as stream:
        context = ET.iterparse(stream, events=("start", "end"))
        root: ET.Element | None = None
        for kind, elem in context:
            if root is None:
                root = elem
                continue
            if kind != "end" or local_name(elem.tag) != "trace":
                continue
            case = Case()
            for child in elem:
                name = local_name(child.tag)
                if name == "event":
                    case.events.append(
                        {a.get("key", ""): a.get("value", "") for a in child if "key" in a.attrib}
                    )
                elif "key" in child.attrib:
                    case.attributes[child.get("key", "")] = child.get("value", "")
                    case.attribute_types[child.get("key", "")] = name
            yield case
            # Drop finished traces (and the log-level header) so memory stays flat.
            root.clear()


def unit_sequence(events: list[dict[str, str]], attribute: str) -> list[str]:
    units: list[str] = []
    for event in events:
        value = event.get(attribute)
        if value is None or value.strip() in PLACEHOLDERS:
            continue
        if not units or units[-1] != value:
            units.append(value)
    return units


def bounces(units: list[str]) -> int:
    return sum(1 for i in range(len(units) - 2) if units[i] == units[i + 2])


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def log_figures(path: Path) -> dict[str, object]:
    name = path.name
    cases = events = out_of_order = 0
    first: datetime | None = None
    last: datetime | None = None
    level = UNIT_LEVEL.get(name)
    bounce = {"with_units": 0, "one": 0, "two": 0, "wide": 0}
    with_deadline = after_deadline = 0
    road_late = road_late_instant = 0
    for case in iter_cases(path):
        cases += 1
        events += len(case.events)
        stamps = [parse_date(e["time:timestamp"]) for e in case.events]
        out_of_order += any(b < a for a, b in itertools.pairwise(stamps))
        for stamp in stamps:
            if first is None or stamp < first:
                first = stamp
            if last is None or stamp > last:
                last = stamp
        if level is not None:
            units = unit_sequence(case.events, level)
            count = bounces(units)
            bounce["with_units"] += bool(units)
            bounce["one"] += count >= 1
            bounce["two"] += count >= 2
            bounce["wide"] += len(set(units)) > 4
        if name == RECEIPT and "deadline" in case.attributes:
            with_deadline += 1
            if stamps and stamps[-1] > parse_date(case.attributes["deadline"]):
                after_deadline += 1
        if name == ROAD and stamps:
            road_late += (stamps[-1].date() - stamps[0].date()).days > ROAD_DAYS
            road_late_instant += (stamps[-1] - stamps[0]).total_seconds() > ROAD_DAYS * 86400
    assert first is not None and last is not None, f"{name}: no events"
    result: dict[str, object] = {
        "logs": {
            "cases": cases,
            "events": events,
            "first_timestamp": first.isoformat(),
            "last_timestamp": last.isoformat(),
            "cases_out_of_time_order": out_of_order,
            "sha256": sha256(path),
        }
    }
    if level is not None:
        result["handover_bounce"] = {
            "attribute": level,
            "cases_with_units": bounce["with_units"],
            "cases_with_bounce": bounce["one"],
            "cases_with_2plus_bounces": bounce["two"],
            "cases_with_more_than_4_units": bounce["wide"],
        }
    if name == RECEIPT:
        result["receipt_deadline"] = {
            "cases_with_deadline": with_deadline,
            "cases_last_event_after_deadline": after_deadline,
        }
    if name == ROAD:
        if road_late != road_late_instant:
            print(
                f"note: {road_late} cases by calendar date, {road_late_instant} by instants",
                file=sys.stderr,
            )
        result["road_traffic_60_days"] = {
            "cases": cases,
            "cases_last_more_than_60_days_after_first": road_late,
            "cases_last_more_than_1440_hours_after_first": road_late_instant,
        }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=default_data_dir())
    args = parser.parse_args(argv)
    missing = [name for name in LOGS if not (args.data / name).is_file()]
    if missing:
        print(f"missing in {args.data}: {', '.join(missing)}", file=sys.stderr)
        return 1
    per_log: dict[str, object] = {}
    per_level: dict[str, object] = {}
    figures: dict[str, object] = {"logs": per_log, "handover_bounce": per_level}
    for name in LOGS:
        for section, values in log_figures(args.data / name).items():
            if section == "logs":
                per_log[name] = values
            elif section == "handover_bounce":
                per_level[name] = values
            else:
                figures[section] = values
    json.dump(figures, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
