"""The National Public Service Portal (Cổng DVC quốc gia) sync requests a case-handling
system sends: `DongBoHoSoMC` (dossier records) and `CapNhatTienDoHoSoMC` (progress
steps).  Field names, formats and codes: docs/adapters.md, with the public sources.

A body is either the LGSP envelope OpenCPS sends (`{"service": …, "isUpdating": …,
"data": [...]}`) or the bare array other systems post to the service's own URL (the
service and `isUpdating` then ride in the query string); a bare array is records when
its items carry `TrangThaiHoSo`, steps when they carry `ThoiDiemXuLy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from streams.contract.events import DossierEvent
from streams.eventlogs.adapters.common import (
    COMPACT,
    Events,
    InvalidPayload,
    code,
    flag,
    items,
    local_time,
    obj,
    path,
    text,
)

RECORDS = "DongBoHoSoMC"
STEPS = "CapNhatTienDoHoSoMC"

STATUS = {
    "1": "Mới đăng ký",
    "2": "Được tiếp nhận",
    "3": "Không được tiếp nhận",
    "4": "Đang xử lý",
    "5": "Yêu cầu bổ sung giấy tờ",
    "6": "Yêu cầu thực hiện nghĩa vụ tài chính",
    "7": "Công dân yêu cầu rút hồ sơ",
    "8": "Dừng xử lý",
    "9": "Đã xử lý xong",
    "10": "Đã trả kết quả",
}
"""TrangThaiHoSo (records) and TrangThai (steps): the portal's codes, as strings."""

CHANNEL = {"1": "direct", "2": "online", "3": "post"}
"""KenhThucHien: 1 trực tiếp, 2 trực tuyến, 3 bưu chính công ích."""

UPDATING = {"True": True, "False": False}


def _time(
    rec: Mapping[str, Any], key: str, where: str, *, required: bool = False
) -> datetime | None:
    return local_time(rec, key, where, COMPACT, required=required)


def adapt(payload: object, source: str) -> list[DossierEvent]:
    if isinstance(payload, dict):
        service = payload.get("service")
        if service is None:
            raise InvalidPayload("missing_field", "service", None, f"{RECORDS} or {STEPS}")
        if service not in (RECORDS, STEPS):
            raise InvalidPayload("unknown_code", "service", service, f"known: {RECORDS}, {STEPS}")
        flag(payload, "isUpdating", "", UPDATING)
        data = items(payload.get("data"), "data", required=True)
        where = "data"
    elif isinstance(payload, list):
        data, where = payload, ""
        first = obj(data[0], "[0]") if data else {}
        if "TrangThaiHoSo" in first:
            service = RECORDS
        elif "ThoiDiemXuLy" in first:
            service = STEPS
        else:
            raise InvalidPayload(
                "bad_shape",
                "[0]",
                sorted(first)[:8],
                "neither a record (TrangThaiHoSo) nor a step (ThoiDiemXuLy)",
            )
    else:
        raise InvalidPayload("bad_shape", "", payload, "expected a JSON object or array")
    out: list[DossierEvent] = []
    if service == RECORDS:
        for i, rec in enumerate(data):
            out += _record(obj(rec, path(where, i)), path(where, i), source)
    else:
        out += _steps(data, where, source)
    return out


def _record(rec: Mapping[str, Any], where: str, source: str) -> list[DossierEvent]:
    dossier = text(rec, "MaHoSo", where, required=True)
    assert dossier is not None
    status = code(rec, "TrangThaiHoSo", where, STATUS, required=True)
    channel = code(rec, "KenhThucHien", where, CHANNEL, required=False)
    unit = text(rec, "DonViXuLy", where, required=True)
    # Every time field is read, used or not: a malformed one is refused, never skipped.
    submitted = _time(rec, "NgayNopHoSo", where)
    received = _time(rec, "NgayTiepNhan", where)
    due = _time(rec, "NgayHenTra", where)
    returned = _time(rec, "NgayTra", where)
    ended = _time(rec, "NgayKetThucXuLy", where)
    refused = _time(rec, "NgayTuChoi", where)
    ev = Events(source, dossier, where)
    how = CHANNEL.get(channel or "")

    if status in ("1", "3"):  # never received: registered, or refused at the counter
        at = submitted or received
        if at is None:
            raise InvalidPayload(
                "missing_field",
                path(where, "NgayTiepNhan"),
                None,
                f"status {status} needs NgayNopHoSo or NgayTiepNhan",
            )
        ev.add("submitted", at, unit=unit, channel=how or "online")
        if status == "3":
            ev.add("completed", refused or ended or at, outcome="refused")
        return ev.events()

    if received is None:
        raise InvalidPayload(
            "missing_field", path(where, "NgayTiepNhan"), None, f"status {status} needs it"
        )
    procedure = text(rec, "MaTTHC", where, required=True)
    if submitted is not None and submitted < received and how == "online":
        ev.add("submitted", submitted, unit=unit, channel="online")
    ev.add("received", received, procedure=procedure, unit=unit, channel=how, due=due)
    _supplements(rec, where, ev)

    def end(key: str, value: datetime | None) -> datetime:
        if value is None:
            raise InvalidPayload(
                "missing_field", path(where, key), None, f"status {status} needs it"
            )
        return value

    if status == "7":
        ev.add("withdrawn", end("NgayKetThucXuLy", ended))
    elif status == "8":
        ev.add("completed", end("NgayKetThucXuLy", ended), outcome="refused")
    elif status == "9":
        ev.add("completed", end("NgayKetThucXuLy", ended), outcome="approved")
    elif status == "10":
        if ended is not None:
            ev.add("completed", ended, outcome="approved")
        ev.add("delivered", end("NgayTra", returned))
    return ev.events()


def _supplements(rec: Mapping[str, Any], where: str, ev: Events) -> None:
    key = path(where, "DanhSachHoSoBoSung")
    for j, raw in enumerate(items(rec.get("DanhSachHoSoBoSung"), key)):
        at = path(key, j)
        entry = obj(raw, at)
        asked = _time(entry, "NgayBoSung", at, required=True)
        assert asked is not None
        back = _time(entry, "NgayTiepNhanBoSung", at)
        _time(entry, "NgayHenTraTruoc", at)  # the appointment before: checked, not used
        new_due = _time(entry, "NgayHenTraMoi", at)
        ev.add("supplement_requested", asked, reason=text(entry, "NoiDungBoSung", at))
        if back is not None:
            ev.add("supplement_received", back)
        if new_due is not None:
            ev.add("rescheduled", back or asked, new_due=new_due)


def _steps(data: list[Any], where: str, source: str) -> list[DossierEvent]:
    """Steps grouped by dossier, in time order: a change of PhongBanXuLy from one step to
    the next is a transfer, the same one again is progress in place (one stay)."""
    by_dossier: dict[str, list[tuple[datetime, str, Mapping[str, Any]]]] = {}
    for i, raw in enumerate(data):
        at = path(where, i)
        step = obj(raw, at)
        dossier = text(step, "MaHoSo", at, required=True)
        assert dossier is not None
        when = _time(step, "ThoiDiemXuLy", at, required=True)
        assert when is not None
        code(step, "TrangThai", at, STATUS, required=True)
        _time(step, "NgayBatDau", at)
        _time(step, "NgayKetThucTheoQuyDinh", at)
        by_dossier.setdefault(dossier, []).append((when, at, step))
    out: list[DossierEvent] = []
    for dossier, steps in by_dossier.items():
        steps.sort(key=lambda s: s[0])  # stable: equal times keep the body's order
        ev = Events(source, dossier, steps[0][1])
        unit: str | None = None
        for when, at, step in steps:
            here = text(step, "PhongBanXuLy", at) or unit
            if here is None:
                continue  # no department named yet: nothing to place the step in
            officer = text(step, "NguoiXuLy", at)
            step_due = _time(step, "NgayKetThucTheoQuyDinh", at)
            if unit is not None and here != unit:
                ev.add(
                    "transferred",
                    when,
                    from_unit=unit,
                    to_unit=here,
                    officer=officer,
                    step_due=step_due,
                )
            else:
                ev.add("assigned", when, unit=here, officer=officer, step_due=step_due)
            unit = here
        out += ev.events()
    return out
