"""The query API's pure model: vocabulary, timelines, lists, pages and the board."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.story import Story, at

from streams.catalog import Catalog, load_catalog
from streams.core.dossier import Dossier
from streams.core.engine import Engine
from streams.policy import builtin_book
from streams.web import views_model as vm

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "catalog"


def run(*stories: Story, now: str) -> tuple[Engine, int]:
    engine = Engine(builtin_book())
    for s in stories:
        engine.drain(s.events)
    t = at(now)
    engine.advance(t)
    return engine, t


def bouncing(dossier: str = "PP-1") -> Story:
    return (
        Story(dossier)
        .received("2025-09-08T09:00", procedure="P-LAND", time_limit="10wd")
        .transfer("2025-09-08T10:00", "A", officer="o1")
        .transfer("2025-09-09T10:00", "B", officer="o2")
        .back("2025-09-10T10:00", "A")
        .assign("2025-09-10T11:00", "A", "o3")
    )


def states(engine: Engine) -> list[Dossier]:
    return list(engine.dossiers.values())


def test_open_dossier_standing_follows_due_date() -> None:
    """An open dossier reads Trong hạn, then Sắp đến hạn, then Quá hạn as time passes."""
    story = Story("D").received("2025-09-08T09:00", time_limit="5wd")
    engine, _ = run(story, now="2025-09-08T10:00")
    d = engine.dossiers["D"]
    book = engine.book
    assert vm.standing(d, book, at("2025-09-08T10:00")) == "within_time"
    assert vm.standing(d, book, at("2025-09-15T20:00")) == "near_due"
    assert vm.standing(d, book, at("2025-09-16T09:00")) == "overdue"
    assert vm.labelled("overdue") == {"code": "overdue", "vi": "Quá hạn", "en": "Overdue"}


@pytest.mark.parametrize(
    ("finish", "expected"),
    [("2025-09-09T10:00", "early"), ("2025-09-15T16:00", "on_time"), ("2025-09-17T10:00", "late")],
)
def test_finished_dossier_standing(finish: str, expected: str) -> None:
    """A finished dossier reads Sớm hạn, Đúng hạn or Trễ hạn by its finish day vs its due day."""
    story = Story("D").received("2025-09-08T09:00", time_limit="5wd").complete(finish)
    engine, t = run(story, now="2025-09-20T10:00")
    assert vm.standing(engine.dossiers["D"], engine.book, t) == expected


def test_dossier_view_has_chain_officers_and_open_alerts() -> None:
    """The dossier view lists each unit stay with its arrival time and the officers who
    took it there, and the ping-pong alert still open."""
    engine, t = run(bouncing(), now="2025-09-10T12:00")
    view = vm.dossier_view(engine.dossiers["PP-1"], engine.book, t)
    assert [s["unit"] for s in view["chain"]] == ["ONE_STOP", "A", "B", "A"]
    assert view["chain"][1] == {
        "unit": "A",
        "unit_name": None,
        "since": "2025-09-08T10:00:00+07:00",
        "officers": [{"officer": "o1", "since": "2025-09-08T10:00:00+07:00"}],
    }
    assert [o["officer"] for o in view["chain"][3]["officers"]] == ["o3"]
    assert view["standing"]["vi"] == "Trong hạn"
    assert view["unit_bounces"] == 1
    assert view["procedure"] == "P-LAND"
    assert any(a["rule"] == "ping_pong_unit" for a in view["open_alerts"])
    assert view["due"] is not None and view["due"].endswith("+07:00")


def test_unit_lists_sort_by_lateness() -> None:
    """The overdue list puts the most overdue first; the at-risk list the nearest due first."""
    a = Story("LATE-OLD").received("2025-09-01T09:00", unit="A", time_limit="2wd")
    b = Story("LATE-NEW").received("2025-09-03T09:00", unit="A", time_limit="2wd")
    c = Story("OTHER-UNIT").received("2025-09-01T09:00", unit="B", time_limit="2wd")
    d = Story("RISK-FAR").received("2025-09-10T09:00", unit="A", time_limit="5wd")
    e = Story("RISK-NEAR").received("2025-09-09T09:00", unit="A", time_limit="5wd")
    engine, t = run(a, b, c, d, e, now="2025-09-16T16:00")
    overdue = vm.sort_by_due(vm.unit_items(states(engine), "A", "overdue", engine.book, t))
    assert [i["id"] for i in overdue] == ["LATE-OLD", "LATE-NEW"]
    assert overdue[0]["seconds_overdue"] > overdue[1]["seconds_overdue"] > 0
    assert overdue[0]["standing"]["code"] == "overdue"
    assert "officer" not in overdue[0]
    risk = vm.sort_by_due(vm.unit_items(states(engine), "A", "near_due", engine.book, t))
    assert [i["id"] for i in risk] == ["RISK-NEAR", "RISK-FAR"]


def test_ping_pong_list_has_chains_and_skips_finished() -> None:
    """The ping-pong list holds open dossiers with at least one bounce, most bounces first,
    each with its chain; finished ones only when asked."""
    twice = bouncing("PP-2").back("2025-09-11T10:00", "B").back("2025-09-11T11:00", "A")
    done = bouncing("PP-3").complete("2025-09-12T10:00")
    calm = Story("CALM").received("2025-09-08T09:00")
    engine, t = run(bouncing(), twice, done, calm, now="2025-09-12T12:00")
    items = vm.sort_ping_pong(vm.ping_pong_items(states(engine), engine.book, t))
    assert [i["id"] for i in items] == ["PP-2", "PP-1"]
    assert [s["unit"] for s in items[1]["chain"]] == ["ONE_STOP", "A", "B", "A"]
    with_done = vm.ping_pong_items(states(engine), engine.book, t, finished=True)
    assert {i["id"] for i in with_done} == {"PP-1", "PP-2", "PP-3"}


def test_pagination_and_bounds() -> None:
    """Pages cut the sorted list; a page below 1, a size out of bounds or a non-number is a
    BadRequest with a message naming the parameter."""
    items = [{"id": str(i)} for i in range(7)]
    page = vm.paginate(items, 2, 3)
    assert [i["id"] for i in page["items"]] == ["3", "4", "5"]
    assert (page["total"], page["pages"]) == (7, 3)
    assert vm.page_params({}) == (1, vm.DEFAULT_SIZE)
    assert vm.page_params({"page": "2", "size": "10"}) == (2, 10)
    for bad, name in [
        ({"page": "0"}, "page"),
        ({"size": "100000"}, "size"),
        ({"page": "x"}, "page"),
    ]:
        with pytest.raises(vm.BadRequest, match=name):
            vm.page_params(bad)


def test_period_rows_balance_and_766_rate() -> None:
    """Per unit, Số đầu kỳ + Tiếp nhận equals the finished, returned, withdrawn and open
    columns, and the 766 rate counts late finishes and overdue open dossiers as late."""
    stories = [
        Story("OLD-OPEN").received("2025-08-20T09:00", unit="A", time_limit="30wd"),
        Story("OLD-DONE-BEFORE")
        .received("2025-08-20T09:00", unit="A")
        .complete("2025-08-22T09:00"),
        Story("EARLY")
        .received("2025-09-02T09:00", unit="A", time_limit="5wd")
        .complete("2025-09-03T09:00"),
        Story("LATE")
        .received("2025-09-02T09:00", unit="A", time_limit="2wd")
        .complete("2025-09-10T09:00"),
        Story("OVERDUE").received("2025-09-02T09:00", unit="A", time_limit="2wd"),
        Story("GONE").received("2025-09-02T09:00", unit="A").withdraw("2025-09-03T09:00"),
    ]
    engine, t = run(*stories, now="2025-09-20T10:00")
    start, end = vm.parse_period({"from": "2025-09-01", "to": "2025-09-19"}, t)
    rows = vm.period_counts(states(engine), start, end, engine.book)
    a = rows["A"]
    assert a["carried_over"] == 1 and a["received"] == 4
    assert (a["finished_early"], a["finished_on_time"], a["finished_late"]) == (1, 0, 1)
    assert (a["open_not_due"], a["open_overdue"], a["withdrawn"], a["returned"]) == (1, 1, 1, 0)
    ends = sum(a[k] for k in vm.PERIOD_COLUMNS if k not in ("carried_over", "received"))
    assert ends == a["carried_over"] + a["received"]
    board = vm.board_view([vm.board_counts(states(engine), engine.book, t, start, end)], start, end)
    row = board["period"]["rows"][0]
    assert row["on_time_rate_766"] == 0.5  # EARLY and OLD-OPEN of four handled
    assert board["period"]["total"]["received"] == 4
    assert board["total"]["overdue"] == 1
    assert board["period"]["columns"]["carried_over"]["vi"] == "Số đầu kỳ"


def test_board_shares_sum_across_workers() -> None:
    """Two workers' shares merge into the same board as one worker holding everything."""
    stories = [
        Story(f"D{i}").received("2025-09-02T09:00", unit="AB"[i % 2], time_limit="2wd")
        for i in range(6)
    ]
    engine, t = run(*stories, now="2025-09-20T10:00")
    ds = states(engine)
    start, end = vm.parse_period({}, t)
    whole = vm.board_view([vm.board_counts(ds, engine.book, t, start, end)], start, end)
    split = vm.board_view(
        [
            vm.board_counts(ds[:2], engine.book, t, start, end),
            vm.board_counts(ds[2:], engine.book, t, start, end),
        ],
        start,
        end,
    )
    assert split == whole
    assert whole["total"]["overdue"] == 6


def test_bad_period_is_rejected() -> None:
    """A malformed date or an empty period is a BadRequest."""
    t = at("2025-09-20T10:00")
    with pytest.raises(vm.BadRequest, match="from"):
        vm.parse_period({"from": "20-09-2025"}, t)
    with pytest.raises(vm.BadRequest, match="empty"):
        vm.parse_period({"from": "2025-09-10", "to": "2025-09-01"}, t)


def _catalog() -> Catalog:
    return load_catalog([SAMPLE / "units.csv", SAMPLE / "procedures.csv"])


def test_board_rows_carry_unit_names_next_to_codes() -> None:
    """With a catalogue the board's live and period rows give each unit's name after its
    code; a unit it does not name keeps its code with a null name, and is counted."""
    stories = [
        Story("D1").received("2025-09-02T09:00", unit="DEPT_TAX", time_limit="2wd"),
        Story("D2").received("2025-09-02T09:00", unit="DEPT_NEW", time_limit="2wd"),
    ]
    engine, t = run(*stories, now="2025-09-20T10:00")
    start, end = vm.parse_period({}, t)
    catalog = _catalog()
    share = vm.board_counts(states(engine), engine.book, t, start, end)
    board = vm.board_view([share], start, end, catalog=catalog)
    names = {r["unit"]: r["unit_name"] for r in board["units"]}
    assert names == {"DEPT_TAX": "Thuế tỉnh", "DEPT_NEW": None}
    assert list(board["units"][0])[:2] == ["unit", "unit_name"]
    assert {r["unit"]: r["unit_name"] for r in board["period"]["rows"]} == names
    assert board["total"]["unit_name"] is None and board["period"]["total"]["unit_name"] is None
    assert catalog.unknown_codes("unit") == ["DEPT_NEW"]
    assert vm.board_view([share], start, end)["units"][0]["unit_name"] is None


def test_dossier_view_and_lists_name_units_and_procedures() -> None:
    """The dossier view names its procedure, its unit and each unit of its chain and steps;
    list items and the ping-pong chain too; unknown procedure codes stay codes."""
    story = (
        Story("HS-N")
        .received("2025-09-08T09:00", procedure="1.002111", time_limit="10wd")
        .transfer("2025-09-08T10:00", "DEPT_LAND", step_due="2025-09-12T17:00")
        .transfer("2025-09-09T10:00", "DEPT_PLANNING")
        .back("2025-09-10T10:00", "DEPT_LAND")
    )
    odd = Story("HS-ODD").received("2025-09-08T09:00", procedure="9.999", unit="DEPT_LAND")
    engine, t = run(story, odd, now="2025-09-10T12:00")
    catalog = _catalog()
    view = vm.dossier_view(engine.dossiers["HS-N"], engine.book, t, catalog)
    assert view["procedure_name"].startswith("Đăng ký biến động quyền sử dụng đất")
    assert view["unit_name"] == "Sở Nông nghiệp và Môi trường"
    assert [s["unit_name"] for s in view["chain"]] == [
        "Bộ phận Một cửa tỉnh",
        "Sở Nông nghiệp và Môi trường",
        "Sở Quy hoạch – Kiến trúc",
        "Sở Nông nghiệp và Môi trường",
    ]
    assert view["steps"][0]["unit_name"] == "Sở Nông nghiệp và Môi trường"
    items = vm.ping_pong_items(states(engine), engine.book, t, catalog=catalog)
    assert items[0]["unit_name"] == "Sở Nông nghiệp và Môi trường"
    assert items[0]["chain"][2]["unit_name"] == "Sở Quy hoạch – Kiến trúc"
    other = vm.list_item(engine.dossiers["HS-ODD"], engine.book, t, catalog)
    assert (other["procedure"], other["procedure_name"]) == ("9.999", None)
    assert catalog.unknown_codes("procedure") == ["9.999"]
    plain = vm.dossier_view(engine.dossiers["HS-N"], engine.book, t)
    assert plain["procedure_name"] is None and plain["chain"][1]["unit_name"] is None


def test_rolling_period_is_the_766_metric_period() -> None:
    """`days=N` is the N days up to now, 30 by default on the wall as in the 766 metric;
    it cannot be mixed with from/to and is bounded."""
    from streams.metrics import PERIOD_766_DAYS

    t = at("2025-09-20T10:00")
    assert vm.parse_period({"days": "30"}, t) == (t - 30 * 86400, t)
    assert vm.ROLLING_DAYS == PERIOD_766_DAYS
    with pytest.raises(vm.BadRequest, match="either"):
        vm.parse_period({"days": "7", "from": "2025-09-01"}, t)
    for bad in ("0", "400", "x"):
        with pytest.raises(vm.BadRequest, match="days"):
            vm.parse_period({"days": bad}, t)


def test_by_unit_rows_join_live_counts_and_the_period() -> None:
    """Each unit's row has its live counts, its finishes Sớm / Đúng / Trễ hạn in the period
    and its 766 rate; a unit with finished dossiers only still has a row; the total row
    sums them with the rate over all units."""
    stories = [
        Story("OPEN-A").received("2025-09-15T09:00", unit="A", time_limit="30wd"),
        Story("LATE-A").received("2025-09-02T09:00", unit="A", time_limit="2wd"),
        Story("EARLY-B")
        .received("2025-09-02T09:00", unit="B", time_limit="5wd")
        .complete("2025-09-03T09:00"),
        Story("LATE-B")
        .received("2025-09-02T09:00", unit="B", time_limit="2wd")
        .complete("2025-09-10T09:00"),
    ]
    engine, t = run(*stories, now="2025-09-20T10:00")
    start, end = vm.parse_period({"days": "30"}, t)
    board = vm.board_view([vm.board_counts(states(engine), engine.book, t, start, end)], start, end)
    rows = {r["unit"]: r for r in board["by_unit"]["rows"]}
    assert [r["unit"] for r in board["by_unit"]["rows"]] == ["A", "B"]  # overdue first
    a, b = rows["A"], rows["B"]
    assert (a["open"], a["overdue"], a["within_time"], a["handled"]) == (2, 1, 1, 2)
    assert a["on_time_rate_766"] == 0.5
    assert (b["open"], b["finished_early"], b["finished_on_time"], b["finished_late"]) == (
        0,
        1,
        0,
        1,
    )
    assert b["on_time_rate_766"] == 0.5
    total = board["by_unit"]["total"]
    assert (total["open"], total["handled"], total["handled_on_time"]) == (2, 4, 2)
    assert total["on_time_rate_766"] == board["period"]["total"]["on_time_rate_766"] == 0.5
    assert board["by_unit"]["rows_total"] == 2


def test_board_counts_stalled_dossiers() -> None:
    """An open dossier whose stall alert is open counts as Ngưng trệ for its unit."""
    quiet = Story("QUIET").received("2025-09-08T09:00", unit="A", time_limit="60wd")
    engine, t = run(quiet, now="2025-10-06T10:00")
    d = engine.dossiers["QUIET"]
    assert any(a["rule"] == "stall" for a in vm.dossier_view(d, engine.book, t)["open_alerts"])
    start, end = vm.parse_period({"days": "30"}, t)
    board = vm.board_view([vm.board_counts([d], engine.book, t, start, end)], start, end)
    assert board["units"][0]["stalled"] == 1 and board["by_unit"]["total"]["stalled"] == 1


def test_freshness_says_stale_after_silence_or_when_unhealthy() -> None:
    """The figures are live while an event or a tick came within `stale_after` seconds;
    before the first, the start counts; an unhealthy source is stale at once."""
    fresh = vm.freshness(1000.0, last_event=990.0, last_tick=998.0, stale_after=10)
    assert fresh["stale"] is False and fresh["seconds_since_last_tick"] == 2.0
    assert fresh["last_event_at"] is not None and fresh["last_event_at"].endswith("+07:00")
    old = vm.freshness(1000.0, last_event=980.0, last_tick=985.0, stale_after=10)
    assert old["stale"] is True
    assert (
        vm.freshness(1000.0, last_event=None, last_tick=None, stale_after=10, started=995)["stale"]
        is False
    )
    assert vm.freshness(1000.0, last_event=None, last_tick=None, stale_after=10)["stale"] is True
    sick = vm.freshness(1000.0, last_event=999, last_tick=999, stale_after=10, healthy=False)
    assert sick["stale"] is True and sick["healthy"] is False
