"""What an alert says to people: Vietnamese first (the staff's words), then English.

The sentences live here once.  The bridge writes them into the Alertmanager annotations;
the e-mail templates and the Zalo adapter only lay them out, so a wording change is made
in one place for every channel.  Where the bridge has a catalogue, a unit and a procedure
are named ("Sở Xây dựng (DEPT_CONSTRUCTION)"); without one, or for a code it lacks, the
code stands alone.

The evidence is said in each reader's language: the core's `evidence` is an English
sentence (also the log's and the API's), so the Vietnamese one (`evidence_vi`) is built
here from the alert's fields — rule, level, at, due, unit, officer, chain — never
translated from the English.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from streams.contract.alerts import Alert


@dataclass(frozen=True)
class Wording:
    title: str
    """The level in the users' vocabulary: "Sắp đến hạn", "Quá hạn", …"""
    title_en: str
    summary: str
    summary_en: str


# Per rule: (title, title_en, summary, summary_en); {d} dossier, {unit}, {due}.
_RULES: dict[str, tuple[str, str, str, str]] = {
    "stall": (
        "Tồn đọng",
        "Stalled",
        "Hồ sơ {d} không có tiến triển tại {unit}",
        "Dossier {d} has made no progress in {unit}",
    ),
    "referral_chain": (
        "Chuyển vòng",
        "Referral chain",
        "Hồ sơ {d} bị chuyển qua quá nhiều đơn vị",
        "Dossier {d} has been passed through too many units",
    ),
    "consultation_count": (
        "Xin ý kiến quá nhiều",
        "Too many consultations",
        "Hồ sơ {d} bị gửi xin ý kiến quá số lần cho phép",
        "Dossier {d} was sent out for opinions more often than the policy allows",
    ),
    "consultation_late": (
        "Trả lời xin ý kiến trễ hạn",
        "Late consultation reply",
        "Đơn vị được xin ý kiến về hồ sơ {d} chưa trả lời đúng hạn",
        "A unit consulted on dossier {d} has not replied by its deadline",
    ),
    "transfer_late": (
        "Chuyển hồ sơ trễ",
        "Late transfer",
        "Bộ phận Một cửa chưa chuyển hồ sơ {d} đúng hạn",
        "The One-Stop Unit did not pass dossier {d} on in time",
    ),
    "acceptance_late": (
        "Tiếp nhận trễ",
        "Late acceptance",
        "Hồ sơ trực tuyến {d} chưa được tiếp nhận trong 8 giờ làm việc",
        "Online dossier {d} was not accepted within 8 working hours",
    ),
    "supplement_late": (
        "Yêu cầu bổ sung trễ",
        "Late supplement request",
        "Hồ sơ {d} bị yêu cầu bổ sung sau thời hạn 3 ngày làm việc",
        "Dossier {d} was asked for more documents after the 3 working days allowed",
    ),
    "supplement_repeated": (
        "Yêu cầu bổ sung nhiều lần",
        "Repeated supplement request",
        "Hồ sơ {d} bị yêu cầu bổ sung quá một lần",
        "Dossier {d} was asked for more documents more than once",
    ),
    "supplement_expired": (
        "Hết hạn bổ sung",
        "Supplement expired",
        "Hồ sơ {d} bị đóng vì không được bổ sung trong 15 ngày",
        "Dossier {d} was closed: no documents arrived within 15 days",
    ),
    "reschedule_late": (
        "Hẹn lại trễ",
        "Late re-appointment",
        "Thư xin lỗi và hẹn lại của hồ sơ {d} được phát hành muộn",
        "The apology and new date for dossier {d} came too late",
    ),
    "reschedule_repeated": (
        "Hẹn lại nhiều lần",
        "Repeated re-appointment",
        "Hồ sơ {d} bị hẹn lại quá một lần",
        "Dossier {d} was given a new appointment date more than once",
    ),
    "intake_notice": (
        "Hồ sơ trực tuyến chờ tiếp nhận",
        "Online submission waiting",
        "Hồ sơ trực tuyến {d} chưa có cán bộ tiếp nhận sau 2 giờ làm việc",
        "Online dossier {d} has no receiving officer 2 working hours after submission",
    ),
    "appointment_beyond_limit": (
        "Hẹn trả vượt thời hạn",
        "Appointment beyond the legal limit",
        "Ngày hẹn trả của hồ sơ {d} muộn hơn thời hạn giải quyết theo quy định",
        "The due date given for dossier {d} is later than the procedure's legal limit allows",
    ),
    "refusal_late": (
        "Từ chối quá hạn",
        "Late refusal",
        "Hồ sơ {d} bị từ chối sau khi đã quá hạn giải quyết",
        "Dossier {d} was refused after its time limit had passed",
    ),
    "step_late": (
        "Trễ hạn bước xử lý",
        "Step overdue",
        "{unit} giữ hồ sơ {d} quá thời hạn ghi trên phiếu kiểm soát",
        "{unit} has held dossier {d} past its deadline on the routing slip",
    ),
    "paper_transfer_late": (
        "Chuyển hồ sơ giấy trễ",
        "Late paper transfer",
        "Hồ sơ giấy {d} chưa được chuyển liên thông trong 01 ngày làm việc",
        "The paper file of dossier {d} was not sent across levels within 1 working day",
    ),
}


def _deadline(level: str) -> tuple[str, str, str, str]:
    if level.startswith("near_due_"):
        pct = level.removeprefix("near_due_")
        return (
            "Sắp đến hạn",
            "Near due",
            f"Hồ sơ {{d}} đã dùng {pct}% thời hạn giải quyết, hạn {{due}}",
            f"Dossier {{d}} has used {pct}% of its time limit, due {{due}}",
        )
    if level.startswith("escalation_"):
        n = level.removeprefix("escalation_")
        return (
            f"Quá hạn – cảnh báo cấp {n}",
            f"Overdue – escalation level {n}",
            "Hồ sơ {d} vẫn quá hạn (hạn {due}), đang ở {unit}",
            "Dossier {d} is still overdue (due {due}), held by {unit}",
        )
    return (
        "Quá hạn",
        "Overdue",
        "Hồ sơ {d} đã quá hạn {due} tại {unit}",
        "Dossier {d} passed its due date {due} in {unit}",
    )


def _ping_pong(between_vi: str, between_en: str, level: str) -> tuple[str, str, str, str]:
    again_vi, again_en = (" nhiều lần", " repeatedly") if level == "critical" else ("", "")
    return (
        "Chuyển qua lại",
        "Ping-pong referral",
        f"Hồ sơ {{d}} bị chuyển đi chuyển lại giữa các {between_vi}{again_vi}",
        f"Dossier {{d}} is being passed back and forth between {between_en}{again_en}",
    )


def wording(a: Alert, unit_name: str | None = None) -> Wording:
    if a.rule == "deadline":
        parts = _deadline(a.level)
    elif a.rule == "ping_pong_unit":
        parts = _ping_pong("đơn vị", "units", a.level)
    elif a.rule == "ping_pong_officer":
        parts = _ping_pong("cán bộ", "officers", a.level)
    else:
        parts = _RULES.get(
            a.rule,
            (
                f"Cảnh báo {a.rule}",
                f"Alert {a.rule}",
                f"Hồ sơ {{d}}: {a.rule}/{a.level}",
                f"Dossier {{d}}: {a.rule}/{a.level}",
            ),
        )
    unit = unit_name or a.unit or "?"
    fill = {"d": a.dossier, "unit": unit, "due": _day(a.due) if a.due else "?"}
    title, title_en, summary, summary_en = parts
    return Wording(title, title_en, summary.format(**fill), summary_en.format(**fill))


def _day(iso: str) -> str:
    """Staff read a date and a time of day; seconds and the +07:00 offset are noise."""
    return iso[:16].replace("T", " ")


def details(
    a: Alert,
    unit_name: str | None = None,
    procedure_name: str | None = None,
    chain_names: Mapping[str, str] | None = None,
) -> tuple[str, str]:
    """The facts behind the alert, one per line (Vietnamese, English), ending with the
    evidence: `evidence_vi` in the Vietnamese, the core's sentence in the English."""
    vi: list[str] = []
    en: list[str] = []
    if a.unit:
        unit = f"{unit_name} ({a.unit})" if unit_name else a.unit
        vi.append(f"Đơn vị: {unit}")
        en.append(f"Unit: {unit}")
    if a.procedure:
        group = f" ({a.procedure_group})" if a.procedure_group else ""
        code = f"{procedure_name} ({a.procedure})" if procedure_name else a.procedure
        proc = f"{code}{group}"
        vi.append(f"Thủ tục: {proc}")
        en.append(f"Procedure: {proc}")
    if a.officer:
        vi.append(f"Cán bộ đang giữ: {a.officer}")
        en.append(f"Held by officer: {a.officer}")
    if a.due:
        vi.append(f"Hạn xử lý: {_day(a.due)}")
        en.append(f"Due: {_day(a.due)}")
    vi.append(f"Thời điểm: {_day(a.at)}")
    en.append(f"At: {_day(a.at)}")
    if a.chain:
        path = chain_text(a, chain_names)
        vi.append(f"Đường đi: {path}")
        en.append(f"Path: {path}")
    # The evidence in each reader's language: Vietnamese from the fields, English as the
    # core wrote it.
    vi.append(f"Căn cứ: {evidence_vi(a, unit_name, chain_names)}")
    if a.evidence:
        en.append(f"Evidence: {a.evidence}")
    return "\n".join(vi), "\n".join(en)


def chain_text(a: Alert, names: Mapping[str, str] | None = None) -> str:
    """The referral path; units by their names when `names` has them (an officer chain,
    ping_pong_officer's, never: officers are not units)."""
    named = names if names and a.rule != "ping_pong_officer" else {}
    return " → ".join(f"{named.get(who, who)} ({_day(when)})" for who, when in a.chain)


# -- evidence in Vietnamese ---------------------------------------------------------------
#
# The core writes its `evidence` in English (it is also the log's and the API's).  For the
# staff, the same facts are said again in Vietnamese from the alert's structured fields
# (rule, level, at, due, unit, officer, chain), so nothing is translated from the English
# sentence and a new English wording cannot break the Vietnamese one.
# Placeholders: {at} when it fired, {due}, {unit}, {who} "; cán bộ X đang giữ" or "",
# {group} " với nhóm thủ tục land" or "",
# {n} the level's number (75 of near_due_75, 2 of escalation_2) or, for ping-pong and
# referral chains, the count the alert id is anchored on; {path} the chain.

_EVIDENCE_VI: dict[tuple[str, str], str] = {
    ("deadline", "near_due"): "Đến {at} hồ sơ đã dùng {n}% số giờ làm việc của thời hạn; hạn"
    " {due}; đang ở {unit}{who}.",
    ("deadline", "overdue"): "Hạn giải quyết {due} đã qua mà hồ sơ chưa có kết quả; đang ở"
    " {unit}{who}.",
    ("deadline", "escalation"): "Đến {at} hồ sơ vẫn quá hạn (hạn {due}), cảnh báo cấp {n};"
    " đang ở {unit}{who}.",
    ("stall", ""): "Hồ sơ không có tiến triển nào tại {unit} cho đến {at}, quá số ngày làm việc"
    " cho phép{group}{who}.",
    ("ping_pong_unit", ""): "Hồ sơ bị chuyển trả qua lại giữa các đơn vị ({n} lần): {path}.",
    ("ping_pong_officer", ""): "Hồ sơ bị chuyển trả qua lại giữa các cán bộ ({n} lần): {path}.",
    ("referral_chain", ""): "Hồ sơ đã qua {n} đơn vị (không kể Bộ phận Một cửa): {path}.",
    ("consultation_count", ""): "Đến {at} hồ sơ đã được gửi xin ý kiến quá số lần cho phép;"
    " đang ở {unit}.",
    ("consultation_late", ""): "Hạn trả lời xin ý kiến đã qua lúc {at} mà chưa có trả lời.",
    ("transfer_late", ""): "Đến {at} Bộ phận Một cửa chưa chuyển hồ sơ cho đơn vị giải quyết.",
    ("acceptance_late", ""): "Đến {at} hồ sơ trực tuyến chưa được tiếp nhận hoặc trả lại"
    " (quá 8 giờ làm việc).",
    ("supplement_late", ""): "Yêu cầu bổ sung lúc {at}, sau 3 ngày làm việc kể từ khi tiếp"
    " nhận; đơn vị {unit}.",
    ("supplement_repeated", ""): "Yêu cầu bổ sung lần nữa lúc {at}: chỉ được yêu cầu một lần;"
    " đơn vị {unit}.",
    ("supplement_expired", ""): "Hết thời hạn bổ sung lúc {at} mà công dân chưa nộp bổ sung;"
    " hồ sơ được đóng.",
    ("reschedule_late", ""): "Thư xin lỗi và hẹn lại phát hành lúc {at}, không kịp trước hạn"
    " {due} ít nhất 01 ngày làm việc; hạn giữ nguyên.",
    ("reschedule_repeated", ""): "Hẹn lại lần nữa lúc {at}: chỉ được hẹn lại một lần; hạn giữ"
    " nguyên {due}.",
    ("intake_notice", ""): "Đến {at} chưa có cán bộ nhận hồ sơ trực tuyến (đã qua 2 giờ làm việc).",
    ("appointment_beyond_limit", ""): "Phiếu hẹn ghi ngày trả {due}, muộn hơn thời hạn giải"
    " quyết của thủ tục; tiếp nhận lúc {at}.",
    ("refusal_late", ""): "Văn bản từ chối gửi lúc {at}, sau hạn giải quyết {due}.",
    ("step_late", ""): "{unit} giữ hồ sơ quá hạn bước xử lý trên phiếu kiểm soát (đến {at}){who}.",
    ("paper_transfer_late", ""): "Đến {at} hồ sơ giấy chưa được chuyển liên thông (quá 01"
    " ngày làm việc).",
}


def _evidence_key(a: Alert) -> tuple[tuple[str, str], str]:
    """The template's key and its number: near_due_75 → (near_due, 75); a referral's count
    is its id's anchor (`dossier/rule/level/anchor`)."""
    rule, level = a.rule, a.level
    if rule == "deadline":
        for kind in ("near_due", "escalation"):
            if level.startswith(f"{kind}_"):
                return (rule, kind), level.removeprefix(f"{kind}_")
        return (rule, "overdue"), ""
    if rule in ("ping_pong_unit", "ping_pong_officer", "referral_chain"):
        return (rule, ""), a.id.rsplit("/", 1)[-1]
    return (rule, ""), ""


def evidence_vi(
    a: Alert, unit_name: str | None = None, chain_names: Mapping[str, str] | None = None
) -> str:
    """The evidence in Vietnamese, from the alert's fields; for a rule without a sentence
    here, its title, the time and the unit."""
    key, n = _evidence_key(a)
    template = _EVIDENCE_VI.get(key)
    unit = unit_name or a.unit or "?"
    if template is None:
        return f"{wording(a, unit_name).title} lúc {_day(a.at)}" + (
            f" tại {unit}." if a.unit else "."
        )
    return template.format(
        at=_day(a.at),
        due=_day(a.due) if a.due else "?",
        unit=unit,
        who=f"; cán bộ {a.officer} đang giữ" if a.officer else "",
        group=f" với nhóm thủ tục {a.procedure_group}" if a.procedure_group else "",
        n=n,
        path=chain_text(a, chain_names) if a.chain else unit,
    )
