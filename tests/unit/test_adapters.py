"""Source adapters (streams/eventlogs/adapters): payloads of the national portal's sync
services, OpenCPS and BHXH to contract events, through the engine, and as replay input."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers.story import at
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.cli import main
from streams.contract.alerts import Alert
from streams.contract.events import DossierEvent, type_name
from streams.core.engine import Engine
from streams.eventlogs.adapters import ADAPTERS, InvalidPayload, adapt, adapt_bytes, read_adapted
from streams.policy import builtin_book

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "adapters"
DOSSIER = "G01.99-250908-0001"
DUE = at("2025-09-16T00:00")


def kinds(events: list[DossierEvent]) -> list[str]:
    return [type_name(e).removeprefix("dossier.") for e in events]


def ids(events: list[DossierEvent]) -> set[str]:
    return {e.id for e in events}


def lines(name: str) -> list[Any]:
    return [json.loads(line) for line in (FIXTURES / name).read_text().splitlines()]


def record(**fields: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "MaHoSo": DOSSIER,
        "MaTTHC": "1.000001",
        "TenTTHC": "Thủ tục mẫu",
        "MaLinhVuc": "LV01",
        "NgayTiepNhan": "20250908090000",
        "NgayHenTra": "20250916000000",
        "TrangThaiHoSo": "4",
        "NgayTra": "",
        "NgayKetThucXuLy": "",
        "DonViXuLy": "UBND_XA_MAU",
        "HinhThuc": "0",
        "DanhSachHoSoBoSung": [],
    }
    rec.update(fields)
    return rec


def records(*recs: dict[str, Any], updating: object = "True") -> dict[str, Any]:
    return {"service": "DongBoHoSoMC", "isUpdating": updating, "data": list(recs)}


def step(unit: str, when: str, officer: str = "can.bo", status: str = "4") -> dict[str, Any]:
    return {
        "MaHoSo": DOSSIER,
        "NguoiXuLy": officer,
        "ChucDanh": "",
        "PhongBanXuLy": unit,
        "NoiDungXuLy": "",
        "ThoiDiemXuLy": when,
        "TrangThai": status,
        "NgayBatDau": "",
        "NgayKetThucTheoQuyDinh": "",
    }


def steps(*items: dict[str, Any]) -> dict[str, Any]:
    return {"service": "CapNhatTienDoHoSoMC", "data": list(items)}


def run(events: list[DossierEvent], until: str | None = None) -> list[Alert]:
    engine = Engine(builtin_book())
    alerts = engine.drain(events)
    if until:
        alerts += engine.advance(at(until))
    return alerts


def firing(alerts: list[Alert]) -> set[str]:
    return {a.id for a in alerts if a.status == "firing"}


# -- dvcqg -------------------------------------------------------------------------------


def test_registry_names_every_source() -> None:
    """The registry holds the three sources, and an unknown name is the one exception."""
    assert set(ADAPTERS) == {"dvcqg", "opencps", "bhxh"}
    with pytest.raises(InvalidPayload) as err:
        adapt("nosuch", {})
    assert (err.value.reason, err.value.field, err.value.value) == (
        "unknown_source",
        "adapter",
        "nosuch",
    )


def test_a_record_in_progress_is_a_receipt_with_the_appointment_as_due() -> None:
    """Status 4: one receipt at NgayTiepNhan in DonViXuLy, MaTTHC the procedure, NgayHenTra
    the due date, local times at +07:00; the dossier id is MaHoSo verbatim."""
    (received,) = adapt("dvcqg", records(record()))
    assert type_name(received) == "dossier.received" and received.subject == DOSSIER
    assert received.source == "dvcqg"
    assert received.time.isoformat() == "2025-09-08T09:00:00+07:00"
    assert received.data.unit == "UBND_XA_MAU"  # type: ignore[union-attr]
    assert received.data.procedure == "1.000001"  # type: ignore[union-attr]
    assert received.data.due is not None  # type: ignore[union-attr]
    assert received.data.due.isoformat() == "2025-09-16T00:00:00+07:00"  # type: ignore[union-attr]


def test_supplement_entries_and_the_final_statuses_map_to_their_events() -> None:
    """A supplement entry is a request, its receipt and the new appointment; status 10 is
    the completion at NgayKetThucXuLy and the delivery at NgayTra."""
    entry = {
        "NgayBoSung": "20250909100000",
        "NoiDungBoSung": "Thiếu bản sao",
        "NgayTiepNhanBoSung": "20250911090000",
        "NgayHenTraTruoc": "20250916000000",
        "NgayHenTraMoi": "20250918000000",
    }
    rec = record(
        TrangThaiHoSo="10",
        NgayKetThucXuLy="20250917100000",
        NgayTra="20250918090000",
        DanhSachHoSoBoSung=[entry],
    )
    events = adapt("dvcqg", records(rec))
    assert kinds(events) == [
        "received",
        "supplement_requested",
        "supplement_received",
        "rescheduled",
        "completed",
        "delivered",
    ]
    assert events[3].data.new_due.isoformat() == "2025-09-18T00:00:00+07:00"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("1", ["submitted"]),
        ("3", ["submitted", "completed"]),
        ("7", ["received", "withdrawn"]),
        ("8", ["received", "completed"]),
        ("9", ["received", "completed"]),
    ],
)
def test_each_status_code_has_its_events(status: str, expected: list[str]) -> None:
    """Registered and refused-at-the-counter dossiers are submissions, never receipts;
    7 is a withdrawal; 3 and 8 complete as refused, 9 as approved."""
    events = adapt("dvcqg", records(record(TrangThaiHoSo=status, NgayKetThucXuLy="20250912100000")))
    assert kinds(events) == expected
    if status in ("3", "8", "9"):
        outcome = "approved" if status == "9" else "refused"
        assert events[-1].data.outcome == outcome  # type: ignore[union-attr]


@pytest.mark.parametrize("updating", [True, False, "True", "False"])
def test_is_updating_is_a_boolean_or_the_dotnet_strings(updating: object) -> None:
    """isUpdating as a JSON boolean or "True"/"False" changes nothing in the events."""
    assert ids(adapt("dvcqg", records(record(), updating=updating))) == ids(
        adapt("dvcqg", records(record()))
    )


def test_a_bare_array_is_records_or_steps_by_its_fields() -> None:
    """A body posted to the service's own URL (a bare array) maps as the envelope does."""
    assert ids(adapt("dvcqg", [record()])) == ids(adapt("dvcqg", records(record())))
    one = step("PHONG_A", "20250909100000")
    assert ids(adapt("dvcqg", [one])) == ids(adapt("dvcqg", steps(one)))


def test_the_same_department_repeated_is_one_stay_and_a_change_a_transfer() -> None:
    """Steps A, A, B: progress, progress in place, then one transfer A → B."""
    events = adapt(
        "dvcqg",
        steps(
            step("PHONG_A", "20250909100000", "a1"),
            step("PHONG_A", "20250909110000", "a2"),
            step("PHONG_B", "20250910100000", "b1"),
        ),
    )
    assert kinds(events) == ["assigned", "assigned", "transferred"]
    assert (events[2].data.from_unit, events[2].data.to_unit) == ("PHONG_A", "PHONG_B")  # type: ignore[union-attr]
    assert events[2].data.officer == "b1"  # type: ignore[union-attr]


def test_the_worked_dvcqg_log_gives_the_overdue_and_ping_pong_alerts() -> None:
    """The fixture (record, steps A, A-B, A-B-A re-sent, record again) through the engine:
    one bounce PHONG_A → PHONG_B → PHONG_A, and the breach of NgayHenTra a day later."""
    events = list(read_adapted(str(FIXTURES / "dvcqg.jsonl"), "dvcqg"))
    assert len(events) == 8 and len(ids(events)) == 4  # re-sent bodies: the same ids
    alerts = run(events, "2025-09-17T00:00")
    assert f"{DOSSIER}/ping_pong_unit/warning/1" in firing(alerts)
    assert f"{DOSSIER}/deadline/overdue/{DUE}" in firing(alerts)


# -- re-sending ----------------------------------------------------------------------------

units = st.lists(st.sampled_from(["PHONG_A", "PHONG_B", "PHONG_C", ""]), min_size=1, max_size=8)
gaps = st.lists(st.integers(min_value=1, max_value=3000), min_size=8, max_size=8)
quick = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
START = datetime(2025, 9, 8, 9, 0)


def compact(when: datetime) -> str:
    return when.strftime("%Y%m%d%H%M%S")


def history(names: list[str], minutes: list[int]) -> list[dict[str, Any]]:
    out, when = [], START
    for name, gap in zip(names, minutes, strict=False):
        when += timedelta(minutes=gap)
        out.append(step(name, compact(when), officer=f"o-{name}"))
    return out


@quick
@given(names=units, minutes=gaps)
def test_resent_steps_give_no_new_ids_and_one_more_step_only_its_own(
    names: list[str], minutes: list[int]
) -> None:
    """A body sent twice yields no new id; the body again with one more step yields the
    new step's event and nothing else (the worker drops the rest as redeliveries)."""
    all_steps = history(names, minutes)
    seen: set[str] = set(ids(adapt("dvcqg", records(record()))))
    assert ids(adapt("dvcqg", records(record()))) <= seen
    for k in range(1, len(all_steps) + 1):
        body = steps(*copy.deepcopy(all_steps[:k]))
        first = adapt("dvcqg", body)
        assert ids(adapt("dvcqg", body)) == ids(first)
        new = [e for e in first if e.id not in seen]
        newest = all_steps[k - 1]
        placed = any(s["PhongBanXuLy"] for s in all_steps[:k])
        assert len(new) == (1 if placed else 0)
        if new:
            assert compact(new[0].time.replace(tzinfo=None)) == newest["ThoiDiemXuLy"]
        seen |= ids(first)


@quick
@given(names=st.lists(st.sampled_from(["BP_1", "BP_2", "BP_3"]), min_size=1, max_size=6))
def test_a_bhxh_poll_with_one_more_step_yields_only_that_steps_events(names: list[str]) -> None:
    """Polling the same BHXH dossier again gives the same ids; one step more gives its
    events only."""

    def poll(n: int) -> dict[str, Any]:
        return {
            "info": {"Tthoso": {"Sohoso": "BHXH-1", "Tenthutuc": "Mẫu", "Ngayhentra": ""}},
            "Quatrinh": [
                {
                    "Buoc": i + 1,
                    "Tenphongban": name,
                    "Canboxuly": f"cb{i}",
                    "Lichsuquitrinhxulys": [
                        {"Hanhdong": "Xử lý", "Thoigianxuly": f"{8 + i:02d}/09/2025 09:00"}
                    ],
                }
                for i, name in enumerate(names[:n])
            ],
        }

    seen: set[str] = set()
    for n in range(1, len(names) + 1):
        got = ids(adapt("bhxh", poll(n)))
        assert got == ids(adapt("bhxh", poll(n)))
        assert len(got - seen) == (2 if n == 1 else 1)  # the first step is also the receipt
        seen |= got


def test_a_changed_field_gives_the_event_a_new_id() -> None:
    """Content defines the id: another appointment is another receipt event."""
    before = adapt("dvcqg", records(record()))
    after = adapt("dvcqg", records(record(NgayHenTra="20250919000000")))
    assert ids(before).isdisjoint(ids(after))


# -- opencps, bhxh -------------------------------------------------------------------------


def test_an_opencps_dossier_and_its_actions() -> None:
    """A done OpenCPS dossier: online submission, receipt (dates in both of OpenCPS's
    formats), each action as progress by its user, completion at releaseDate and
    delivery at finishDate; the id is referenceUid; completed in time, never overdue."""
    payload = json.loads((FIXTURES / "opencps.json").read_text())
    events = adapt("opencps", payload)
    assert kinds(events) == [
        "submitted",
        "received",
        "assigned",
        "assigned",
        "completed",
        "delivered",
    ]
    assert {e.subject for e in events} == {payload["referenceUid"]}
    assert events[0].data.channel == "online"  # type: ignore[union-attr]
    assert [e.data.officer for e in events[2:4]] == ["mot.cua", "chuyen.vien"]  # type: ignore[union-attr]
    assert events[4].time.isoformat() == "2025-09-12T16:00:00+07:00"
    alerts = run(events, "2025-10-01T00:00")
    assert not [a for a in alerts if a.level == "overdue"]
    assert firing(alerts) == {a.id for a in alerts if a.status == "resolved"}


def test_an_opencps_dossier_left_processing_goes_overdue() -> None:
    """The same dossier still processing past dueDate breaches its due date."""
    payload = json.loads((FIXTURES / "opencps.json").read_text())
    payload.update(dossierStatus="processing", releaseDate="", finishDate="")
    alerts = run(adapt("opencps", payload), "2025-09-17T00:00")
    assert f"{payload['referenceUid']}/deadline/overdue/{DUE}" in firing(alerts)


def test_the_worked_bhxh_polls() -> None:
    """Three polls of one dossier: receipt at its first action in the first department,
    a transfer, progress, and the completion at Ngayxulyxong (Tthoso at either level)."""
    polls = lines("bhxh.jsonl")
    events = adapt("bhxh", polls[-1])
    assert kinds(events) == ["received", "assigned", "transferred", "assigned", "completed"]
    assert events[0].data.due.isoformat() == "2025-09-16T00:00:00+07:00"  # type: ignore[union-attr]
    assert events[-1].time.isoformat() == "2025-09-12T15:00:00+07:00"
    assert ids(adapt("bhxh", polls[0])) < ids(adapt("bhxh", polls[1])) < ids(events)


# -- what cannot be mapped -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "payload", "field", "value", "reason"),
    [
        (
            "dvcqg",
            records(record(TrangThaiHoSo="11")),
            "data[0].TrangThaiHoSo",
            "11",
            "unknown_code",
        ),
        ("dvcqg", records(record(TrangThaiHoSo=4)), "data[0].TrangThaiHoSo", 4, "bad_value"),
        (
            "dvcqg",
            records(record(NgayHenTra="20250231000000")),
            "data[0].NgayHenTra",
            "20250231000000",
            "bad_time",
        ),
        (
            "dvcqg",
            records(record(NgayTiepNhan="2025-09-08 09:00:00")),
            "data[0].NgayTiepNhan",
            "2025-09-08 09:00:00",
            "bad_time",
        ),
        ("dvcqg", records(record(MaHoSo="")), "data[0].MaHoSo", "", "missing_field"),
        (
            "dvcqg",
            records(record(TrangThaiHoSo="9")),
            "data[0].NgayKetThucXuLy",
            None,
            "missing_field",
        ),
        ("dvcqg", records(record(KenhThucHien="4")), "data[0].KenhThucHien", "4", "unknown_code"),
        ("dvcqg", records(record(), updating="Yes"), "isUpdating", "Yes", "bad_value"),
        ("dvcqg", {"service": "LayThuTuc", "data": []}, "service", "LayThuTuc", "unknown_code"),
        (
            "dvcqg",
            steps(step("PHONG_A", "20250909100000", status="0")),
            "data[0].TrangThai",
            "0",
            "unknown_code",
        ),
        (
            "opencps",
            {"referenceUid": "x", "dossierStatus": "archived", "govAgencyCode": "S"},
            "dossierStatus",
            "archived",
            "unknown_code",
        ),
        (
            "opencps",
            {
                "referenceUid": "x",
                "dossierStatus": "processing",
                "govAgencyCode": "S",
                "receiveDate": "2025-09-08",
            },
            "receiveDate",
            "2025-09-08",
            "bad_time",
        ),
        (
            "bhxh",
            {"Tthoso": {"Sohoso": "B", "Tenthutuc": "T", "Ngayhentra": "16/09/2025"}},
            "Tthoso.Ngayhentra",
            "16/09/2025",
            "bad_time",
        ),
        ("bhxh", {"Quatrinh": []}, "info.Tthoso", None, "missing_field"),
    ],
)
def test_what_cannot_be_mapped_is_refused_naming_field_and_value(
    name: str, payload: Any, field: str, value: object, reason: str
) -> None:
    """Unknown codes, numbers for codes, impossible dates, other time formats, missing
    fields: InvalidPayload with the field's path and its value, one line."""
    with pytest.raises(InvalidPayload) as err:
        adapt(name, payload)
    got = err.value
    assert (got.reason, got.field, got.value) == (reason, field, value)
    assert "\n" not in str(got) and field in str(got)


def test_a_body_that_is_not_json_is_refused() -> None:
    """Raw bytes that are not JSON are the same exception, reason not_json."""
    with pytest.raises(InvalidPayload) as err:
        adapt_bytes("dvcqg", b"{not json")
    assert err.value.reason == "not_json"


# -- replay and publish ----------------------------------------------------------------------


def with_bad_line(tmp_path: Path) -> tuple[str, str]:
    good = (FIXTURES / "dvcqg.jsonl").read_text().splitlines()
    bad = json.dumps(records(record(TrangThaiHoSo="11")), ensure_ascii=False)
    path = tmp_path / "portal.jsonl"
    path.write_text("\n".join([good[0], bad, *good[1:]]) + "\n")
    return str(path), bad


def test_replay_of_a_bad_payload_line_stops_with_file_line_and_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """replay --format dvcqg: an unknown status code on line 2 is one line naming
    file:2, the field and the value; exit 2, no traceback."""
    path, _ = with_bad_line(tmp_path)
    assert main(["replay", path, "--format", "dvcqg", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"{path}:2: unknown_code" in err
    assert "TrangThaiHoSo='11'" in err and "Traceback" not in err


def test_replay_skip_invalid_counts_the_bad_payload_and_goes_on(tmp_path: Path) -> None:
    """With --skip-invalid the bad line is one invalid event; the rest still gives the
    ping-pong and overdue alerts, and the re-sent events count as duplicates."""
    path, _ = with_bad_line(tmp_path)
    report = tmp_path / "report.json"
    argv = ["replay", path, "--format", "dvcqg", "--skip-invalid", "--quiet"]
    assert main([*argv, "--until", "2025-09-17T00:00", "--report", str(report)]) == 0
    r = json.loads(report.read_text())
    assert r["invalid_events"] == 1 and r["format"] == "dvcqg"
    assert r["duplicates"] == 4
    assert r["alerts"]["ping_pong_unit"]["warning"] == 1
    assert r["alerts"]["deadline"]["overdue"] == 1
