"""The unit and officer pages' model and HTML: open dossiers by time left, who holds them
in the unit, the per-officer breakdown, the stall and ping-pong history, merging the
workers' shares, and what a unit head may read."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from helpers.story import Story, at

from alerts.texts import evidence_vi
from streams.catalog import load_catalog
from streams.contract.alerts import Alert
from streams.core.dossier import Dossier
from streams.core.engine import Engine
from streams.policy import builtin_book
from streams.web import unit_model as um
from streams.web.unit_page import render

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "catalog"
NOW = "2025-09-19T16:00"


def run(*stories: Story, now: str = NOW) -> tuple[Engine, int, list[Alert]]:
    """The engine after the stories, at `now`, with every alert it fired."""
    engine = Engine(builtin_book())
    fired: list[Alert] = []
    for s in stories:
        fired += engine.drain(s.events)
    t = at(now)
    fired += engine.advance(t)
    return engine, t, fired


def page(
    engine: Engine,
    t: int,
    unit: str,
    *,
    officer: str | None = None,
    units: frozenset[str] | None = None,
    size: int = 100,
    number: int = 1,
    **options: Any,
) -> dict[str, Any]:
    q = um.UnitQuery(unit, officer, number, size, units)
    share = um.unit_share(engine.states(), q, engine.book, t, **options)
    return um.merge_shares([share], q, t, **options)


def story_of_unit_a() -> list[Story]:
    """In unit A: one overdue long ago, one overdue since yesterday, one near due with a
    long limit, one within time due before it, a dossier bounced A → B → A, and one
    passed CB-1 → CB-2 → CB-1; NOBODY was sent to A and no officer of A took it yet."""
    return [
        Story("LATE-OLD")
        .received("2025-09-03T09:00", unit="A", time_limit="2wd")
        .assign("2025-09-03T10:00", "A", "CB-1"),
        Story("LATE-NEW")
        .received("2025-09-15T09:00", unit="A", time_limit="3wd")
        .assign("2025-09-15T10:00", "A", "CB-2"),
        Story("NEAR-LONG")
        .received("2025-08-25T09:00", unit="A", time_limit="20wd")
        .assign("2025-08-25T10:00", "A", "CB-2"),
        Story("WITHIN-SHORT")
        .received("2025-09-19T09:00", unit="A", time_limit="2wd")
        .assign("2025-09-19T10:00", "A", "CB-1"),
        Story("PP")
        .received("2025-09-15T09:00", unit="A", time_limit="15wd")
        .assign("2025-09-15T10:00", "A", "CB-1")
        .transfer("2025-09-16T10:00", "B", frm="A", officer="CB-B")
        .back("2025-09-17T10:00", "A", frm="B")
        .assign("2025-09-17T11:00", "A", "CB-2"),
        Story("OB")
        .received("2025-09-15T09:00", unit="A", time_limit="15wd")
        .assign("2025-09-15T10:00", "A", "CB-1")
        .assign("2025-09-16T10:00", "A", "CB-2")
        .assign("2025-09-17T10:00", "A", "CB-1"),
        Story("NOBODY")
        .received("2025-09-18T09:00", unit="B", time_limit="15wd")
        .assign("2025-09-18T10:00", "B", "CB-B")
        .transfer("2025-09-19T09:00", "A", frm="B"),
    ]


def test_rows_are_overdue_first_most_overdue_on_top_then_near_due_then_within_time() -> None:
    """Overdue dossiers come first (the most overdue on top), then near-due ones, then
    the rest by due date — a near-due dossier before a within-time one due earlier."""
    engine, t, _ = run(*story_of_unit_a())
    p = page(engine, t, "A")
    ids = [i["id"] for i in p["items"]]
    assert ids[:4] == ["LATE-OLD", "LATE-NEW", "NEAR-LONG", "WITHIN-SHORT"]
    words = [i["standing"]["vi"] for i in p["items"]]
    assert words[:4] == ["Quá hạn", "Quá hạn", "Sắp đến hạn", "Trong hạn"]
    near, within = p["items"][2], p["items"][3]
    assert near["due_ts"] > within["due_ts"]
    assert p["counts"] == {
        "open": 7,
        "overdue": 2,
        "near_due": 1,
        "within_time": 4,
        "waiting_supplement": 0,
    }
    assert p["items"][0]["due"] == "05/09/2025 24:00"  # Wed 3/9 + 2 working days
    assert p["items"][0]["time"]["kind"] == "overdue"
    assert p["items"][3]["time"]["kind"] == "left"


def test_the_officer_shown_is_the_one_who_took_it_in_the_unit() -> None:
    """A dossier sent on to A without an officer of A shows nobody (not B's officer); one
    taken by an officer in A shows that officer."""
    engine, t, _ = run(*story_of_unit_a())
    rows = {i["id"]: i["officer"] for i in page(engine, t, "A")["items"]}
    assert rows["NOBODY"] is None
    assert rows["PP"] == "CB-2" and rows["WITHIN-SHORT"] == "CB-1"
    assert "CB-B" not in rows.values()


def test_officer_breakdown_counts_open_overdue_near_due_stalls_and_ping_pong() -> None:
    """Each officer's open, overdue and near-due dossiers, and the stalls and ping-pong
    counted against them; dossiers no officer of the unit holds yet are a row of their own."""
    engine, t, fired = run(*story_of_unit_a())
    rows = {r["officer"]: r for r in page(engine, t, "A")["officers"]}
    assert set(rows) == {"CB-1", "CB-2", None}
    assert (rows["CB-1"]["open"], rows["CB-1"]["overdue"], rows["CB-1"]["near_due"]) == (3, 1, 0)
    assert (rows["CB-2"]["open"], rows["CB-2"]["overdue"], rows["CB-2"]["near_due"]) == (3, 1, 1)
    assert rows[None]["open"] == 1
    stalls = {
        a.officer
        for a in fired
        if a.rule == "stall" and a.unit == "A" and a.status == "firing" and a.officer
    }
    assert stalls and all(rows[o]["stalls"] >= 1 for o in stalls)
    # PP: CB-1 sent it to B; OB: CB-1 and CB-2 passed it between them.
    assert rows["CB-1"]["ping_pong"] == 2 and rows["CB-2"]["ping_pong"] == 1
    assert next(iter(rows)) in ("CB-1", "CB-2")  # the worst first, not the no-officer row


def test_history_says_when_and_why_each_alert_fired_as_the_engine_fired_it() -> None:
    """Every stall and ping-pong alert the engine fired in A is in A's history, newest
    first, at the instant it fired, with the alert channels' Vietnamese evidence."""
    engine, t, fired = run(*story_of_unit_a())
    p = page(engine, t, "A")
    mine = {
        a.id: a
        for a in fired
        if a.status == "firing" and a.rule in um.HISTORY_RULES and a.unit == "A"
    }
    entries = {e["id"]: e for e in p["history"]}
    assert mine and set(mine) <= set(entries)
    for aid, a in mine.items():
        assert entries[aid]["at_ts"] == at(a.at[:16]), aid
        assert entries[aid]["evidence"] == evidence_vi(a), aid
    times = [e["at_ts"] for e in p["history"]]
    assert times == sorted(times, reverse=True)
    assert p["history_total"] == len(p["history"])


def test_a_ping_pong_is_in_the_history_of_both_units_with_the_officer_who_passed_it() -> None:
    """The A → B → A bounce is in B's history too, counted against B's officer who sent it
    back; B's page lists none of A's dossiers."""
    engine, t, _ = run(*story_of_unit_a())
    b = page(engine, t, "B")
    pong = [e for e in b["history"] if e["rule"] == "ping_pong_unit"]
    assert [e["dossier"] for e in pong] == ["PP"] and pong[0]["officers"] == ["CB-B"]
    assert "A (2025-09-15 09:00) → B (2025-09-16 10:00) → A" in pong[0]["evidence"]
    assert b["items"] == [] and b["total"] == 0


def test_an_officers_page_has_only_their_dossiers_and_their_history() -> None:
    """CB-1's page lists the dossiers CB-1 holds in A and the alerts counted against CB-1."""
    engine, t, _ = run(*story_of_unit_a())
    p = page(engine, t, "A", officer="CB-1")
    assert {i["id"] for i in p["items"]} == {"LATE-OLD", "WITHIN-SHORT", "OB"}
    assert p["counts"]["open"] == 3 and p["officer"] == "CB-1"
    assert p["history"] and all("CB-1" in e["officers"] for e in p["history"])


def test_two_workers_shares_merge_into_the_page_one_worker_would_give() -> None:
    """Dossiers split between two workers give the same page 2 of 3 rows, counts,
    officers and history as all of them on one."""
    engine, t, _ = run(*story_of_unit_a())
    states = list(engine.states())

    q = um.UnitQuery("A", page=2, size=3)

    def share(ds: list[Dossier]) -> dict[str, Any]:
        return um.unit_share(ds, q, engine.book, t)

    whole = um.merge_shares([share(states)], q, t)
    split = um.merge_shares([share(states[::2]), share(states[1::2])], q, t)
    assert [i["id"] for i in split["items"]] == [i["id"] for i in whole["items"]]
    assert len(split["items"]) == 3 and split["total"] == whole["total"] == 7
    assert split["pages"] == 3
    for key in ("counts", "officers", "history", "history_total"):
        assert split[key] == whole[key], key


def test_a_unit_head_does_not_read_other_units_officers_in_a_ping_pong_path() -> None:
    """An officer ping-pong across units shows the unit head the other unit's officer as
    "cán bộ đơn vị khác"; the centre reads the path whole."""
    story = (
        Story("X")
        .received("2025-09-15T09:00", unit="A", time_limit="15wd")
        .assign("2025-09-15T10:00", "A", "CB-1")
        .transfer("2025-09-16T10:00", "B", frm="A", officer="CB-B")
        .back("2025-09-17T10:00", "A", frm="B")
        .assign("2025-09-17T11:00", "A", "CB-1")
    )
    engine, t, _ = run(story)
    head = page(engine, t, "A", units=frozenset({"A"}))
    centre = page(engine, t, "A")

    def officer_pong(p: dict[str, Any]) -> dict[str, Any]:
        return next(e for e in p["history"] if e["rule"] == "ping_pong_officer")

    assert "CB-B" in officer_pong(centre)["evidence"]
    seen = officer_pong(head)
    assert "CB-B" not in seen["evidence"] + seen["chain"] and um.OTHER_UNIT in seen["evidence"]


def test_the_page_names_units_and_procedures_from_the_catalogue() -> None:
    """With a catalogue the unit and each procedure carry their names."""
    story = Story("N").received("2025-09-15T09:00", procedure="1.001235", unit="DEPT_CONSTRUCTION")
    engine, t, _ = run(story)
    catalog = load_catalog([SAMPLE / "units.csv", SAMPLE / "procedures.csv"])
    p = page(engine, t, "DEPT_CONSTRUCTION", catalog=catalog)
    assert p["unit_name"] == "Sở Xây dựng"
    assert p["items"][0]["procedure_name"] == "Gia hạn giấy phép xây dựng"
    assert "Sở Xây dựng" in render(p)


def test_html_escapes_values_links_dossiers_and_officers_and_pages() -> None:
    """Ids from events are escaped, each row links to its dossier page (the id quoted
    whole) and its officer's page; status words carry the board's colours; a second
    page has a link back and none forward."""
    story = (
        Story("HS/<script>1")
        .received("2025-09-03T09:00", unit="A", time_limit="2wd")
        .assign("2025-09-03T10:00", "A", "CB <i>")
    )
    engine, t, _ = run(story, *story_of_unit_a())
    text = render(page(engine, t, "A"))
    assert "<script>" not in text and html.escape("HS/<script>1") in text
    assert 'href="/dossiers/HS%2F%3Cscript%3E1"' in text
    assert 'href="/units/A/officers/CB%20%3Ci%3E"' in text and "<i>" not in text
    assert '<span class="standing overdue">Quá hạn' in text
    assert '<span class="standing near_due">Sắp đến hạn' in text
    second = render(page(engine, t, "A", size=5, number=2))
    assert 'rel="prev" href="?page=1&amp;size=5"' in second and 'rel="next"' not in second
    english = render(page(engine, t, "A"), lang="en")
    assert "Overdue" in english and "Quá hạn" not in english
