"""The province simulator: deterministic, valid, time-ordered, bounded, and each
behaviour shows up in the events in its share and with nothing else wrong.

The findings below are read from the events alone, measured with the engine's own
calendar (streams.core.calendar), so they check what a detector would see.
"""

from __future__ import annotations

import io
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone
from itertools import pairwise
from typing import Any, cast

import msgspec
import pytest

from producers.jsonl import write_jsonl
from producers.simulator import (
    BEHAVIOURS,
    Behaviours,
    Procedure,
    Province,
    dossier_id,
    simulate,
)
from streams.contract.events import event_from_dict
from streams.core.calendar import (
    DAY,
    day_start,
    local_day,
    to_instant,
)
from streams.policy import builtin_book

ICT = timezone(timedelta(hours=7))
START = datetime(2025, 3, 3, 7, 0, tzinfo=ICT)
CAL = builtin_book()[-1].calendar
N = 2000

Event = dict[str, Any]


def _events(**kwargs: Any) -> list[Event]:
    return cast(list[Event], list(simulate(**kwargs)))


def _instant(text: str) -> int:
    return to_instant(datetime.fromisoformat(text))


@pytest.fixture(scope="module")
def run() -> tuple[list[Event], dict[str, str]]:
    sim = simulate(seed=7, start=START, dossiers=N, record_labels=True)
    events = cast(list[Event], list(sim))
    assert sim.labels is not None
    return events, sim.labels


@pytest.fixture(scope="module")
def stories(run: tuple[list[Event], dict[str, str]]) -> dict[str, list[Event]]:
    by_dossier: dict[str, list[Event]] = defaultdict(list)
    for e in run[0]:
        by_dossier[e["subject"]].append(e)
    return by_dossier


# -- what a detector would find in one dossier's events ---------------------------------


def _due_after(t: int, limit: str) -> int:
    n, kind = int(limit[:-2] if limit.endswith(("wd", "wh")) else limit[:-1]), limit[-2:]
    if kind == "wd":
        return CAL.add_working_days(t, n)
    if kind == "wh":
        return CAL.add_working_hours(CAL.next_working_instant(t), n * 3600)
    # n calendar days counted from the next day: 24:00 of day + n, off a day off
    return CAL.roll_to_working_end(day_start(local_day(t) + n + 1))


def _used(start: int, due: int, limit: str, fraction: float) -> int:
    """When `fraction` of the limit is used, counted the way the limit counts."""
    if limit.endswith("wd"):
        return CAL.add_working_seconds(
            start, int(fraction * CAL.working_seconds_between(start, due))
        )
    if limit.endswith("wh"):
        return CAL.add_working_hours(start, int(fraction * CAL.working_hours_between(start, due)))
    return start + int(fraction * (due - start))


def _bounces(holders: Iterable[str]) -> int:
    trail: list[str] = []
    bounces = 0
    for h in holders:
        if trail and trail[-1] == h:
            continue
        bounces += len(trail) >= 2 and trail[-2] == h
        trail.append(h)
    return bounces


def findings(story: list[Event]) -> set[str]:
    found: set[str] = set()
    kinds = [e["type"].removeprefix("dossier.") for e in story]
    at = [_instant(e["time"]) for e in story]
    first = {k: i for i, k in reversed(list(enumerate(kinds)))}
    received = at[first["received"]]
    rdata = story[first["received"]]["data"]
    limit = rdata["time_limit"]

    if (
        "submitted" in first
        and CAL.working_hours_between(at[first["submitted"]], received) > 8 * 3600
    ):
        found.add("late_acceptance")

    transfer = at[first["transferred"]]
    if received - day_start(local_day(received)) < 15 * 3600:
        in_time = transfer <= CAL.end_of_office_hours(received)
    else:
        in_time = transfer <= CAL.start_of_next_working_day(received) + 3600
    if not in_time:
        found.add("late_transfer")

    units = ["ONE_STOP"] + [
        e["data"]["to_unit"] if "to_unit" in e["data"] else e["data"]["unit"]
        for e, k in zip(story, kinds, strict=True)
        if k in ("transferred", "returned", "assigned")
    ]
    officers = [e["data"]["officer"] for e, k in zip(story, kinds, strict=True) if k == "assigned"]
    if n := _bounces(units):
        found.add(f"unit_ping_pong:{n}")
    if n := _bounces(officers):
        found.add(f"officer_ping_pong:{n}")
    if len(set(units) - {"ONE_STOP"}) >= 5:
        found.add("long_chain")

    requested = [e for e in story if e["type"] == "dossier.consultation_requested"]
    if len(requested) > 2:
        found.add("consultation_loop")
    reply_due = {e["data"]["consultation_id"]: _instant(e["data"]["reply_due"]) for e in requested}
    for e, t in zip(story, at, strict=True):
        if (
            e["type"] == "dossier.consultation_answered"
            and t > reply_due[e["data"]["consultation_id"]]
        ):
            found.add("late_reply")

    supplements = [t for k, t in zip(kinds, at, strict=True) if k == "supplement_requested"]
    if len(supplements) > 1:
        found.add("second_supplement")
    if supplements and supplements[0] > CAL.add_working_days(received, 3):
        found.add("late_supplement_request")

    # The time limit: restarts when the supplement arrives, moves when rescheduled.
    assert _instant(rdata["due"]) == _due_after(received, limit), "receipt states the legal due"
    # While the citizen holds the dossier (supplement asked, not yet in) no clock runs.
    start, due, reschedules, waiting = received, _instant(rdata["due"]), 0, False
    for i in range(first["received"], len(story)):
        k, t = kinds[i], at[i]
        quiet = CAL.working_seconds_between(at[i - 1], t) if i > first["received"] else 0
        if quiet >= 3 * DAY and not waiting and k != "delivered":
            found.add("stall")
        if k == "supplement_requested":
            waiting = True
        elif k == "supplement_received":
            waiting, start, due = False, t, _due_after(t, limit)
        elif k in ("rescheduled", "completed", "withdrawn") and not reschedules and not waiting:
            if t > _used(start, due, limit, 0.75):
                found.add("near_due")
            if t > due:
                found.add("overdue")
        if k == "rescheduled":
            reschedules += 1
            if local_day(t) >= local_day(due - 1):
                found.add("late_reschedule")
            due = _instant(story[i]["data"]["new_due"])
        elif k == "completed" and t > due:
            found.add("overdue")
    if reschedules > 1:
        found.add("rescheduled_twice")
    if "withdrawn" in first:
        found.add("withdrawn")
    return found


EXPECTED: dict[str, set[str]] = {
    "prompt": set(),
    "slow_unit": {"stall", "near_due", "overdue"},
    "ping_pong:units_ABA": {"unit_ping_pong:1"},
    "ping_pong:units_ABAB": {"unit_ping_pong:2"},
    "ping_pong:officers_ABA": {"officer_ping_pong:1"},
    "ping_pong:officers_ABAB": {"officer_ping_pong:2"},
    "long_chain:5": {"long_chain"},
    "long_chain:6": {"long_chain"},
    "consultation_loop:on_time": {"consultation_loop"},
    "consultation_loop:late_reply": {"consultation_loop", "late_reply"},
    "late_transfer": {"late_transfer"},
    "late_online_acceptance": {"late_acceptance"},
    "second_supplement": {"second_supplement"},
    "second_supplement:first_late": {"second_supplement", "late_supplement_request"},
    "late_reschedule:on_due_day": {"late_reschedule", "near_due", "stall"},
    "late_reschedule:on_due_day:twice": {
        "late_reschedule",
        "near_due",
        "stall",
        "rescheduled_twice",
    },
    "late_reschedule:after_due": {"late_reschedule", "near_due", "stall", "overdue"},
    "late_reschedule:after_due:twice": {
        "late_reschedule",
        "near_due",
        "stall",
        "overdue",
        "rescheduled_twice",
    },
    "withdrawn": {"withdrawn"},
    "withdrawn:awaiting_supplement": {"withdrawn"},
}


# -- the stream as a whole ----------------------------------------------------------------


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not() -> None:
    """Two runs with one seed encode to identical bytes; another seed changes the stream."""

    def encoded(seed: int) -> bytes:
        return b"\n".join(
            msgspec.json.encode(e) for e in _events(seed=seed, start=START, dossiers=300)
        )

    assert encoded(3) == encoded(3)
    assert encoded(3) != encoded(4)


def test_a_shorter_run_is_a_prefix_dossier_by_dossier() -> None:
    """A dossier's story does not depend on how many others run: 100 dossiers are the first
    100 of a 300-dossier run, event for event."""
    short, long = defaultdict(list), defaultdict(list)
    for e in _events(seed=5, start=START, dossiers=100):
        short[e["subject"]].append(e)
    for e in _events(seed=5, start=START, dossiers=300):
        long[e["subject"]].append(e)
    assert len(short) == 100
    assert all(long[d] == events for d, events in short.items())


def test_every_event_honours_the_contract(run: tuple[list[Event], dict[str, str]]) -> None:
    """Every event validates with event_from_dict, and ids are `<dossier>-<n>` numbered
    1, 2, … in each dossier's order, so they are unique."""
    events, labels = run
    seen: Counter[str] = Counter()
    for e in events:
        parsed = event_from_dict(e)
        seen[e["subject"]] += 1
        assert parsed.id == f"{e['subject']}-{seen[e['subject']]}"
        assert parsed.time.utcoffset() == timedelta(hours=7)
    assert len({e["id"] for e in events}) == len(events)
    assert set(seen) == set(labels) and len(labels) == N


def test_time_never_goes_back(run: tuple[list[Event], dict[str, str]]) -> None:
    """Across all dossiers the events come in non-decreasing time."""
    times = [_instant(e["time"]) for e in run[0]]
    assert all(a <= b for a, b in pairwise(times))


def test_events_happen_in_office_hours_on_working_days(
    run: tuple[list[Event], dict[str, str]],
) -> None:
    """Every event lies in 07:30–11:30 or 13:00–17:00 on a working day."""
    for e in run[0]:
        t = datetime.fromisoformat(e["time"])
        minutes = t.hour * 60 + t.minute
        assert CAL.is_working_day(t.date()), e
        assert 450 <= minutes <= 690 or 780 <= minutes <= 1020, e


def test_arrivals_follow_the_working_day() -> None:
    """Dossiers arrive only on working days, about `per_working_day` a day, more in the
    morning than in the afternoon."""
    end = datetime(2025, 4, 1, tzinfo=ICT)
    firsts: dict[str, datetime] = {}
    for e in _events(seed=11, start=START, until=end, per_working_day=200):
        firsts.setdefault(e["subject"], datetime.fromisoformat(e["time"]))
    days = sum(
        CAL.is_working_day(START.date() + timedelta(d)) for d in range((end - START).days + 1)
    )
    assert all(CAL.is_working_day(t.date()) for t in firsts.values())
    assert abs(len(firsts) / days - 200) < 200 * 0.08
    morning = sum(t.hour < 12 for t in firsts.values())
    assert morning > 0.55 * len(firsts)


def test_until_stops_arrivals_but_lets_open_dossiers_finish() -> None:
    """No dossier starts at or after `until`, and the ones already started run to their end."""
    until = datetime(2025, 3, 5, 12, 0, tzinfo=ICT)
    events = _events(seed=2, start=START, until=until)
    firsts: dict[str, datetime] = {}
    for e in events:
        firsts.setdefault(e["subject"], datetime.fromisoformat(e["time"]))
    assert max(firsts.values()) < until
    assert datetime.fromisoformat(events[-1]["time"]) > until
    last = {e["subject"]: e["type"] for e in events}
    assert set(last.values()) <= {"dossier.delivered", "dossier.withdrawn"}


def test_dossiers_stops_after_that_many() -> None:
    """`dossiers=N` starts exactly N dossiers; 0 gives an empty stream."""
    assert len({e["subject"] for e in simulate(seed=1, start=START, dossiers=57)}) == 57
    assert list(simulate(seed=1, start=START, dossiers=0)) == []


def test_no_personal_data(run: tuple[list[Event], dict[str, str]]) -> None:
    """Events carry only the contract's fields: opaque dossier ids, pseudonymous officers,
    unit codes, procedure codes; no name, address or ID number anywhere."""
    envelope = {"specversion", "id", "source", "type", "time", "subject", "datacontenttype", "data"}
    allowed = {
        "unit",
        "channel",
        "procedure",
        "time_limit",
        "due",
        "procedure_group",
        "officer",
        "from_unit",
        "to_unit",
        "reason",
        "consulted_unit",
        "reply_due",
        "consultation_id",
        "new_due",
        "outcome",
    }
    units = set(dict(Province().staff))
    for e in run[0]:
        assert set(e) == envelope
        assert re.fullmatch(r"HS-[0-9a-f]{10}", e["subject"])
        assert set(e["data"]) <= allowed, e
        for key in ("unit", "from_unit", "to_unit", "consulted_unit"):
            assert e["data"].get(key, "ONE_STOP") in units
        if "officer" in e["data"]:
            assert re.fullmatch(r"O-[A-Z_]+-[0-9]+", e["data"]["officer"])


def test_dossier_ids_never_collide() -> None:
    """Ids are a permutation of the counter: 200,000 in a row are distinct, and they
    differ between seeds."""
    ids = {dossier_id(9, n) for n in range(200_000)}
    assert len(ids) == 200_000
    assert dossier_id(9, 0) != dossier_id(10, 0)


# -- behaviours ---------------------------------------------------------------------------


def test_each_dossier_shows_exactly_what_its_behaviour_predicts(
    run: tuple[list[Event], dict[str, str]], stories: dict[str, list[Event]]
) -> None:
    """Read from the events alone, each dossier breaks exactly the rules its label says:
    prompt dossiers nothing at all, every behaviour its own rule and its stated side
    effects (see EXPECTED)."""
    wrong = {}
    for dossier, label in run[1].items():
        got = findings(stories[dossier])
        if got != EXPECTED[label]:
            wrong[dossier] = (label, got)
    assert not wrong, list(wrong.items())[:10]


def _tolerance(n: int, share: float) -> float:
    return 4 * math.sqrt(n * share * (1 - share)) + 2


@pytest.mark.parametrize(
    ("behaviour", "finding"),
    [
        ("slow_unit", "overdue"),  # minus after-due reschedules, counted below
        ("long_chain", "long_chain"),
        ("consultation_loop", "consultation_loop"),
        ("late_transfer", "late_transfer"),
        ("late_online_acceptance", "late_acceptance"),
        ("second_supplement", "second_supplement"),
        ("late_reschedule", "late_reschedule"),
        ("withdrawn", "withdrawn"),
    ],
)
def test_each_behaviour_appears_in_its_share(
    stories: dict[str, list[Event]], behaviour: str, finding: str
) -> None:
    """Over 2,000 dossiers, the dossiers showing a behaviour's pattern are about its
    configured share (within 4 binomial standard deviations)."""
    share = getattr(Behaviours(), behaviour)
    found = [findings(s) for s in stories.values()]
    count = sum(finding in f for f in found)
    if behaviour == "slow_unit":
        count = sum("overdue" in f and "late_reschedule" not in f for f in found)
    assert abs(count - N * share) <= _tolerance(N, share), count


def test_ping_pong_appears_in_its_share(stories: dict[str, list[Event]]) -> None:
    """X→Y→X between units or officers shows in about 5% of dossiers; some bounce twice."""
    found = [findings(s) for s in stories.values()]
    bouncing = [f for f in found if any(x.split(":")[0].endswith("ping_pong") for x in f)]
    assert abs(len(bouncing) - N * 0.05) <= _tolerance(N, 0.05)
    assert any("unit_ping_pong:2" in f for f in bouncing)
    assert any("officer_ping_pong:1" in f for f in bouncing)


def test_transfer_and_acceptance_delays(
    stories: dict[str, list[Event]], run: tuple[list[Event], dict[str, str]]
) -> None:
    """Late transfers leave the One-Stop Unit more than 1 working day after receipt (and
    prompt ones never do); late online acceptances take more than 8 working hours."""
    labels = run[1]
    for dossier, story in stories.items():
        at = {e["type"]: _instant(e["time"]) for e in reversed(story)}
        delay = CAL.working_seconds_between(at["dossier.received"], at["dossier.transferred"])
        assert (delay > DAY) == (labels[dossier] == "late_transfer"), dossier
        if "dossier.submitted" in at:
            hours = CAL.working_hours_between(at["dossier.submitted"], at["dossier.received"])
            assert (hours > 8 * 3600) == (labels[dossier] == "late_online_acceptance"), dossier


def test_behaviours_can_be_switched_off() -> None:
    """With every share at zero all dossiers are prompt; with one share at 1 all behave so."""
    none = Behaviours(**{name: 0.0 for name in BEHAVIOURS})
    sim = simulate(seed=1, start=START, dossiers=200, behaviours=none, record_labels=True)
    list(sim)
    assert sim.labels is not None and set(sim.labels.values()) == {"prompt"}
    only = Behaviours(**{name: 1.0 if name == "withdrawn" else 0.0 for name in BEHAVIOURS})
    sim = simulate(seed=1, start=START, dossiers=50, behaviours=only, record_labels=True)
    assert sum(e["type"] == "dossier.withdrawn" for e in sim) == 50


def test_bad_configuration_is_refused() -> None:
    """Shares adding up to more than 1, a naive start, a department with fewer than three
    officers, and a procedure handled by an unknown unit are rejected."""
    with pytest.raises(ValueError):
        Behaviours(slow_unit=0.7, ping_pong=0.5)
    with pytest.raises(ValueError):
        simulate(seed=1, start=datetime(2025, 3, 3), dossiers=1)
    with pytest.raises(ValueError):
        Province(staff=(("ONE_STOP", 2), ("A", 2), ("B", 3)))
    with pytest.raises(ValueError):
        Province(procedures=(Procedure("9.9", "x", "5wd", "NOWHERE", "x"),))
    with pytest.raises(ValueError):
        Procedure("9.9", "x", "five days", "A", "x")


def test_a_custom_province_is_used() -> None:
    """Units, officers and procedures come from the Province given."""
    province = Province(
        staff=(("ONE_STOP", 2), *((f"D{i}", 3) for i in range(5))),
        procedures=(Procedure("2.000001", "permit", "15wd", "D0", "g"),),
    )
    events = _events(seed=1, start=START, dossiers=100, province=province)
    assert {e["data"]["procedure"] for e in events if e["type"] == "dossier.received"} == {
        "2.000001"
    }
    assert {e["data"]["unit"] for e in events if e["type"] == "dossier.assigned"} <= {
        f"D{i}" for i in range(5)
    }


# -- memory -------------------------------------------------------------------------------


def test_memory_holds_only_open_dossiers() -> None:
    """The heap holds one entry per open dossier (started, last event not yet out) and
    levels off: half a year of arrivals holds no more than its busiest month."""
    sim = simulate(seed=1, start=START, until=datetime(2025, 9, 1, tzinfo=ICT), per_working_day=60)
    finished = 0
    peaks: dict[int, int] = defaultdict(int)
    for e in sim:
        if e["type"] in ("dossier.delivered", "dossier.withdrawn"):
            finished += 1
        assert sim.pending == sim.started - finished
        month = datetime.fromisoformat(str(e["time"])).month
        peaks[month] = max(peaks[month], sim.pending)
    assert sim.pending == 0 and sim.started > 6000
    # max_pending is taken just after a dossier starts, before the event goes out
    assert max(peaks.values()) <= sim.max_pending <= max(peaks.values()) + 1
    assert peaks[8] <= 1.3 * peaks[4]
    assert sim.max_pending < 60 * 25  # ≈ arrivals over the longest story, far below started


# -- JSON Lines ---------------------------------------------------------------------------


def test_jsonl_writes_one_compact_object_per_line() -> None:
    """write_jsonl writes each event as one line of compact JSON, to text or binary
    streams alike, and returns the count."""
    events = _events(seed=1, start=START, dossiers=20)
    text, binary = io.StringIO(), io.BytesIO()
    assert write_jsonl(events, text) == len(events)
    assert write_jsonl(iter(events), binary, flush=True) == len(events)
    assert text.getvalue().encode() == binary.getvalue()
    lines = binary.getvalue().splitlines()
    assert [msgspec.json.decode(line) for line in lines] == events
    assert all(b", " not in line and b": " not in line for line in lines[:5])


def test_received_states_the_calendar_due_date() -> None:
    """The receipt's `due` is the legal due date: 24:00 of the Nth working day after the
    day of receipt (e.g. across the 2025 Tết break), or N working hours later."""
    by_limit: dict[str, tuple[str, str]] = {}
    for e in _events(seed=1, start=datetime(2025, 1, 23, 7, 0, tzinfo=ICT), dossiers=300):
        if e["type"] == "dossier.received":
            by_limit.setdefault(e["data"]["time_limit"], (e["time"], e["data"]["due"]))
    received, due = by_limit["5wd"]
    assert _instant(due) == CAL.add_working_days(_instant(received), 5)
    received_day = date.fromisoformat(received[:10])
    assert received_day <= date(2025, 1, 24)
    # 5 working days after 23 or 24 January 2025 skip the 27–31 January Tết days off
    assert date.fromisoformat(due[:10]) > date(2025, 2, 4)
