"""The dossier page's model and HTML: status words, dates, time left, who held it, names,
alerts and acknowledgements, and who may read and acknowledge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
from helpers.story import Story, at

from alerts.firing import FiringSet
from streams.catalog import load_catalog
from streams.contract.alerts import Alert, dossier_url, encode_alert, with_url
from streams.core.engine import Engine
from streams.policy import builtin_book
from streams.web import dossier_model as dm
from streams.web.dossier_page import render

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "catalog"
HOUR = 3600
DAY = 86400


def run(*stories: Story, now: str) -> tuple[Engine, int]:
    engine = Engine(builtin_book())
    for s in stories:
        engine.drain(s.events)
    t = at(now)
    engine.advance(t)
    return engine, t


def model(story: Story, now: str, **options: Any) -> dict[str, Any]:
    engine, t = run(story, now=now)
    return dm.page_model(engine.dossiers[story.dossier], engine.book, t, **options)


def test_open_dossier_reads_trong_han_sap_den_han_qua_han() -> None:
    """While open, the page's status reads Trong hạn, then Sắp đến hạn, then Quá hạn."""
    story = Story("D").received("2025-09-08T09:00", time_limit="5wd")
    words = [
        model(story, now)["standing"]["vi"]
        for now in ("2025-09-08T10:00", "2025-09-15T20:00", "2025-09-16T09:00")
    ]
    assert words == ["Trong hạn", "Sắp đến hạn", "Quá hạn"]
    assert "Quá hạn" in render(model(story, "2025-09-16T09:00"))


def test_finished_and_supplement_status_words() -> None:
    """Once finished the page reads Sớm / Đúng / Trễ hạn; while the citizen holds it, Chờ
    bổ sung with the time limit shown as stopped."""
    base = Story("D").received("2025-09-08T09:00", time_limit="5wd")
    words = {
        finish: model(
            Story("D").received("2025-09-08T09:00", time_limit="5wd").complete(finish),
            "2025-09-20T10:00",
        )["standing"]["vi"]
        for finish in ("2025-09-09T10:00", "2025-09-15T16:00", "2025-09-17T10:00")
    }
    assert list(words.values()) == ["Sớm hạn", "Đúng hạn", "Trễ hạn"]
    waiting = model(base.supplement("2025-09-09T09:00"), "2025-09-10T09:00")
    assert waiting["standing"]["vi"] == "Chờ bổ sung"
    assert waiting["time"] == {"kind": "stopped"}


def test_due_date_at_midnight_reads_24_00_of_its_day() -> None:
    """A due instant at local midnight reads as 24:00 of the day that ended, not 00:00 of
    the next; other instants read dd/mm/yyyy HH:mm."""
    assert dm.format_instant(at("2025-09-17T00:00")) == "16/09/2025 24:00"
    assert dm.format_instant(at("2025-09-08T09:05")) == "08/09/2025 09:05"
    assert dm.format_instant(None) is None
    story = Story("D").received("2025-09-12T16:00", time_limit="2wd")
    assert model(story, "2025-09-12T16:00")["due"] == "16/09/2025 24:00"


def test_time_left_and_overdue_across_a_weekend() -> None:
    """Received Fri 12/9 16:00 with 2 working days (due 24:00 Tue 16/9): on Friday 2
    working days are left (Mon, Tue) and 17 office hours (Fri 1 h, Mon 8 h, Tue 8 h); on
    Thu 18/9 10:00 it is 2 working days (Wed, Thu) and 10 h 30 of office hours overdue."""
    story = Story("D").received("2025-09-12T16:00", time_limit="2wd")
    assert model(story, "2025-09-12T16:00")["time"] == {
        "kind": "left",
        "working_days": 2,
        "working_seconds": 17 * HOUR,
    }
    assert model(story, "2025-09-13T10:00")["time"] == {
        "kind": "left",
        "working_days": 2,
        "working_seconds": 16 * HOUR,
    }
    assert model(story, "2025-09-18T10:00")["time"] == {
        "kind": "overdue",
        "working_days": 2,
        "working_seconds": 10 * HOUR + 30 * 60,
    }
    assert "10:30" in render(model(story, "2025-09-18T10:00"))


def test_timeline_durations_per_unit_and_officer() -> None:
    """Each unit stay lasts until the next arrival (the last one until now, still held),
    and each officer's part until the next officer of the stay."""
    story = (
        Story("PP")
        .received("2025-09-08T09:00", time_limit="10wd")
        .transfer("2025-09-08T10:00", "A", officer="o1")
        .transfer("2025-09-09T10:00", "B", officer="o2")
        .back("2025-09-10T10:00", "A")
        .assign("2025-09-10T11:00", "A", "o3")
    )
    m = model(story, "2025-09-10T12:00")
    stays = m["timeline"]
    assert [s["unit"]["code"] for s in stays] == ["ONE_STOP", "A", "B", "A"]
    assert [s["held"]["seconds"] for s in stays] == [HOUR, DAY, DAY, 2 * HOUR]
    assert [s["outside"]["seconds"] for s in stays] == [0, 0, 0, 0]
    assert stays[1]["office_seconds_inside"] == 8 * HOUR
    assert stays[-1]["current"] and stays[-1]["until"] is None
    assert stays[1]["until"] == "09/09/2025 10:00"
    assert stays[-1]["officers"] == [
        {"officer": "o3", "since": "10/09/2025 11:00", "held": dm.format_duration(HOUR)}
    ]


def test_timeline_tells_the_citizens_time_apart() -> None:
    """A single finished supplement is placed in the stay it fell in (outside the centre);
    a running one counts up to now; the total with the citizen is shown either way."""
    done = (
        Story("S")
        .received("2025-09-08T09:00", unit="A", time_limit="10wd")
        .supplement("2025-09-09T09:00")
        .supplied("2025-09-11T09:00")
    )
    m = model(done, "2025-09-12T09:00")
    (stay,) = m["timeline"]
    assert (stay["held"]["seconds"], stay["outside"]["seconds"]) == (4 * DAY, 2 * DAY)
    assert stay["inside"]["seconds"] == 2 * DAY
    assert m["citizen"]["placed"] and m["citizen"]["total"]["seconds"] == 2 * DAY
    running = Story("R").received("2025-09-08T09:00", unit="A").supplement("2025-09-09T09:00")
    r = model(running, "2025-09-09T15:00")
    assert r["timeline"][0]["outside"]["seconds"] == 6 * HOUR
    assert r["citizen"]["holding_now"]


def test_names_with_a_catalogue_codes_without() -> None:
    """With a catalogue the page names the procedure and the units (code beside); without
    one, or for a code it lacks, it shows the code."""
    story = (
        Story("HS-N")
        .received("2025-09-08T09:00", procedure="1.001235", time_limit="10wd")
        .transfer("2025-09-08T10:00", "DEPT_LAND")
        .transfer("2025-09-09T10:00", "DEPT_NEW")
    )
    catalog = load_catalog([SAMPLE / "units.csv", SAMPLE / "procedures.csv"])
    named = model(story, "2025-09-10T12:00", catalog=catalog)
    assert named["procedure"]["label"] == "Gia hạn giấy phép xây dựng"
    labels = [s["unit"]["label"] for s in named["timeline"]]
    assert labels == ["Bộ phận Một cửa tỉnh", "Sở Nông nghiệp và Môi trường", "DEPT_NEW"]
    html = render(named)
    assert "Sở Nông nghiệp và Môi trường" in html and "DEPT_LAND" in html
    plain = model(story, "2025-09-10T12:00")
    assert plain["procedure"]["label"] == "1.001235"
    assert [s["unit"]["label"] for s in plain["timeline"]][1] == "DEPT_LAND"


def test_a_unit_role_is_refused_another_units_dossier() -> None:
    """A unit head reads a dossier their unit holds or held, not another unit's; on one that
    passed through, other units' officers are left out; they acknowledge their own unit's
    alerts only, the centre any."""
    engine, t = run(
        Story("A-1").received("2025-09-08T09:00", unit="A").assign("2025-09-08T10:00", "A", "oa"),
        Story("B-1").received("2025-09-08T09:00", unit="B").assign("2025-09-08T10:00", "B", "ob"),
        Story("AB")
        .received("2025-09-08T09:00", unit="A")
        .transfer("2025-09-08T10:00", "B", officer="ob"),
        now="2025-09-08T12:00",
    )
    unit_a = frozenset({"A"})
    assert not dm.may_read(engine.dossiers["B-1"], unit_a)
    assert dm.may_read(engine.dossiers["A-1"], unit_a)
    assert dm.may_read(engine.dossiers["AB"], unit_a) and dm.may_read(engine.dossiers["B-1"], None)
    seen = dm.for_reader(dm.page_model(engine.dossiers["AB"], engine.book, t), unit_a)
    assert seen["officer"] is None and seen["timeline"][-1]["officers"] == []
    assert dm.may_acknowledge(unit_a, "A") and not dm.may_acknowledge(unit_a, "B")
    assert dm.may_acknowledge(None, "B") and not dm.may_acknowledge(unit_a, None)


def test_open_alerts_carry_evidence_silences_and_the_form() -> None:
    """An open alert shows its record's evidence and chain (to a unit head, only for their
    unit's alerts), the silences naming it, and the acknowledge form only where the reader
    may acknowledge; every value is escaped."""
    story = (
        Story("PP")
        .received("2025-09-08T09:00", time_limit="10wd")
        .transfer("2025-09-08T10:00", "A", officer="o1")
        .transfer("2025-09-09T10:00", "B", officer="o2")
        .back("2025-09-10T10:00", "A")
    )
    engine, t = run(story, now="2025-09-10T12:00")
    d = engine.dossiers["PP"]
    (aid, unit) = next(a for a in d.x.open if "/ping_pong_unit/" in a[0])
    record = {"id": aid, "severity": "warning", "evidence": "<b>A → B → A</b>", "chain": []}
    m = dm.page_model(d, engine.book, t, alerts=[record])
    (alert,) = [a for a in m["alerts"] if a["id"] == aid]
    assert alert["evidence"] == "<b>A → B → A</b>" and alert["chain"].startswith("ONE_STOP")
    (hidden,) = [a for a in dm.for_reader(m, frozenset({"Z"}))["alerts"] if a["id"] == aid]
    assert (hidden["evidence"], hidden["chain"]) == ("", "")  # another unit's words
    silence = {
        "id": "s1",
        "status": {"state": "active"},
        "matchers": [{"name": "alert_id", "value": aid, "isRegex": False, "isEqual": True}],
        "createdBy": "test centre",
        "comment": "đang xử lý",
        "endsAt": "2025-09-11T05:00:00.000Z",
    }
    form = {"csrf": "tok", "author": "test centre"}
    acked = dm.with_acknowledgements(m, [silence], units=frozenset({"B"}), form=form)
    (shown,) = [a for a in acked["alerts"] if a["id"] == aid]
    assert shown["silences"][0]["by"] == "test centre"
    assert shown["silences"][0]["until"] == "11/09/2025 12:00"
    assert shown["can_acknowledge"] is (unit == "B")
    html = render(dm.with_acknowledgements(m, [silence], units=None, form=form))
    assert "&lt;b&gt;A → B → A&lt;/b&gt;" in html and "<b>A → B" not in html
    assert 'name="csrf" value="tok"' in html and "đang xử lý" in html
    assert "/alerts/" + aid.replace("/", "%2F") + "/ack" in html
    assert "<form" not in render(dm.with_acknowledgements(m, [], units=None, form=None))


def test_alert_url_is_the_dossier_page_and_leaves_the_record_as_it_was() -> None:
    """`url` is the link base's /dossiers/<quoted id>; unset it is left out of the record,
    so the id and the encoded alert are what they were."""
    a = Alert(
        "HS/1 2/deadline/overdue/1",
        "firing",
        "deadline",
        "overdue",
        "critical",
        "HS/1 2",
        "2025-09-16T00:00:00+07:00",
    )
    assert b'"url"' not in encode_alert(a)
    stamped = with_url(a, "https://dw.example/")
    assert (
        stamped.url
        == "https://dw.example/dossiers/HS%2F1%202"
        == dossier_url("https://dw.example", "HS/1 2")
    )
    assert stamped.id == a.id


def test_the_bridge_links_to_the_url_the_alert_carries() -> None:
    """Alertmanager's `dossier_url` annotation (the e-mail's and Zalo's link) and the
    generator URL are the alert's own `url` when it has one, else the bridge's link base."""
    a = Alert(
        "HS-1/deadline/overdue/1",
        "firing",
        "deadline",
        "overdue",
        "critical",
        "HS-1",
        "2025-09-16T00:00:00+07:00",
    )
    now = datetime(2025, 9, 16, tzinfo=UTC)
    firing = FiringSet("http://bridge.test", timedelta(minutes=4))
    own = firing.apply(with_url(a, "https://dw.example"), now).postable
    assert own is not None and own["annotations"]["dossier_url"] == own["generatorURL"]
    assert own["generatorURL"] == "https://dw.example/dossiers/HS-1"
    b = msgspec.structs.replace(a, id="HS-1/deadline/escalation_1/1", level="escalation_1")
    fallback = firing.apply(b, now).postable
    assert fallback is not None
    assert fallback["annotations"]["dossier_url"] == "http://bridge.test/dossiers/HS-1"
