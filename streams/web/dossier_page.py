"""The dossier page's HTML, from `streams.web.dossier_model.page_model`'s dict: one pure
function, `render`, shared by the worker's `/dossiers/<id>` and the demo.

Server-rendered, no script: every value is escaped (unit names, officer ids and alert
evidence come from events), the style is a separate file (`STYLE`, served as
/static/dossier.css) because the Content-Security-Policy allows no inline style, and the
only form posts to the same site (`form-action 'self'`).  One column that reads on a
phone; wider screens get wider margins, nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any
from urllib.parse import quote

STYLESHEET = "/static/dossier.css"

# (Vietnamese, English): staff read Vietnamese first; `lang="en"` shows English only.
WORDS: Mapping[str, tuple[str, str]] = {
    "dossier": ("Hồ sơ", "Dossier"),
    "procedure": ("Thủ tục", "Procedure"),
    "unit": ("Đơn vị đang giữ", "Held by unit"),
    "officer": ("Cán bộ đang giữ", "Held by officer"),
    "received": ("Tiếp nhận", "Received"),
    "due": ("Hạn giải quyết", "Due"),
    "finished": ("Hoàn thành", "Finished"),
    "appointed": ("Ngày hẹn lại không hợp lệ", "Unlawful new date given"),
    "left": ("Còn lại", "Time left"),
    "overdue_by": ("Quá hạn", "Overdue by"),
    "stopped": (
        "Thời hạn tạm dừng: chờ công dân bổ sung",
        "Time limit stopped: waiting for the citizen's documents",
    ),
    "working_days": ("ngày làm việc", "working days"),
    "working_hours": ("giờ làm việc", "working hours"),
    "timeline": ("Quá trình xử lý", "Who held it"),
    "since": ("Từ", "From"),
    "until": ("Đến", "Until"),
    "now_held": ("đang giữ", "holding it now"),
    "inside": ("Trong trung tâm", "In the centre"),
    "outside": ("Công dân giữ (chờ bổ sung)", "With the citizen (supplement)"),
    "citizen": ("Thời gian công dân giữ hồ sơ", "Time with the citizen"),
    "citizen_unplaced": (
        "nhiều lần bổ sung: chỉ biết tổng thời gian",
        "several supplements: only the total is known",
    ),
    "truncated": (
        "Chỉ giữ các bước gần nhất; các bước đầu đã lược bỏ.",
        "Only the latest stays are kept; the earliest are left out.",
    ),
    "alerts": ("Cảnh báo đang mở", "Open alerts"),
    "no_alerts": ("Không có cảnh báo", "No open alerts"),
    "evidence": ("Căn cứ", "Evidence"),
    "path": ("Đường đi", "Path"),
    "fired": ("Thời điểm", "At"),
    "silenced": ("Đã xác nhận", "Acknowledged"),
    "by": ("bởi", "by"),
    "to": ("đến", "until"),
    "ack": ("Xác nhận đã biết", "Acknowledge"),
    "author": ("Người xác nhận", "Acknowledged by"),
    "comment": ("Ghi chú", "Comment"),
    "hours": ("Tắt thông báo trong", "Silence for"),
    "steps": ("Phiếu kiểm soát", "Routing slip"),
    "arrived": ("Nhận", "Arrived"),
    "left_at": ("Chuyển đi", "Left"),
    "points": ("Điểm", "Points"),
    "as_of": ("Tính đến", "As of"),
    "no_state": ("chưa có căn cứ chi tiết", "no detailed evidence here"),
}

ACK_HOURS = (4, 24, 72, 168)
"""The silence lengths the form offers (hours); the server accepts 1 to the largest."""


def render(model: Mapping[str, Any], *, lang: str = "vi") -> str:
    """The whole page for one dossier (`lang`: "vi", Vietnamese with English beside it,
    or "en", English only)."""
    w = Words(lang)
    standing = model["standing"]
    parts = [
        "<!doctype html>",
        f'<html lang="{"en" if lang == "en" else "vi"}"><head><meta charset="utf-8">',
        f"<title>{esc(w.plain('dossier'))} {esc(model['id'])} — DossierWatch</title>",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<link rel="stylesheet" href="{STYLESHEET}"></head><body>',
        "<main>",
        f'<h1><span class="id">{esc(model["id"])}</span>'
        f' <span id="standing" class="standing {esc(standing["code"])}">'
        f"{w.pair_of(standing['vi'], standing['en'])}</span></h1>",
        f'<p class="dim">{w("as_of")} {esc(model["now"])}</p>',
        _facts(model, w),
        _time(model.get("time"), w),
        _alerts(model, w),
        _timeline(model, w),
        _steps(model.get("steps") or [], w),
        "</main></body></html>",
    ]
    return "\n".join(p for p in parts if p)


class Words:
    """The page's words in its language: Vietnamese with the English beside it, or
    English only.  Another page passes its own `words` (the time-left ones included)."""

    def __init__(self, lang: str, words: Mapping[str, tuple[str, str]] = WORDS) -> None:
        self.english = lang == "en"
        self.words = words

    def plain(self, key: str) -> str:
        vi, en = self.words[key]
        return en if self.english else vi

    def __call__(self, key: str) -> str:
        vi, en = self.words[key]
        return self.pair_of(vi, en)

    def pair_of(self, vi: str, en: str) -> str:
        if self.english:
            return esc(en)
        return f'{esc(vi)} <span class="en">{esc(en)}</span>'


def esc(value: object) -> str:
    """Text from events made safe to put in HTML (names, ids and evidence are untrusted)."""
    return escape("" if value is None else str(value), quote=True)


def named_html(n: Mapping[str, Any]) -> str:
    """A name with its code beside it (dimmed), or the code alone."""
    if n.get("name"):
        return f'{esc(n["name"])} <span class="code">{esc(n["code"])}</span>'
    return esc(n.get("code") or "—")


def _facts(model: Mapping[str, Any], w: Words) -> str:
    rows = [
        ("procedure", named_html(model["procedure"])),
        ("unit", _linked(named_html(model["unit"]), model.get("unit_page"))),
        ("officer", esc(model.get("officer")) if model.get("officer") else ""),
        ("received", esc(model.get("received"))),
        ("due", f'<span id="due">{esc(model.get("due"))}</span>' if model.get("due") else ""),
        ("finished", esc(model.get("finished"))),
        ("appointed", esc(model.get("appointed_unlawfully"))),
    ]
    cells = "".join(f"<dt>{w(k)}</dt><dd>{v}</dd>" for k, v in rows if v)
    return f'<section><dl class="facts">{cells}</dl></section>'


def _linked(text: str, href: str | None) -> str:
    return f'<a href="{esc(href)}">{text}</a>' if href else text


def _hours(seconds: int) -> str:
    hours, rest = divmod(max(seconds, 0), 3600)
    return f"{hours}:{rest // 60:02d}"


def _time(time: Mapping[str, Any] | None, w: Words) -> str:
    if not time:
        return ""
    return f'<p id="time" class="time {esc(time["kind"])}">{time_phrase(time, w)}</p>'


def time_phrase(time: Mapping[str, Any], w: Words) -> str:
    """Time left (or overdue by) in working days and office hours, from
    `dossier_model.time_left`; `w` needs this page's time words."""
    if time["kind"] == "stopped":
        return w("stopped")
    label = w("left") if time["kind"] == "left" else w("overdue_by")
    # The same span twice (whole working days, and office hours to the minute), so the
    # hours go in brackets: "3 days · 31:15 hours" read as 3 days plus 31 hours.
    return (
        f"{label}: <b>{time['working_days']}</b> {w('working_days')} "
        f"(<b>{_hours(time['working_seconds'])}</b> {w('working_hours')})"
    )


def _duration(d: Mapping[str, int]) -> str:
    days = f"{d['days']}d " if d["days"] else ""
    return f"{days}{d['hours']}h{d['minutes']:02d}"


def _timeline(model: Mapping[str, Any], w: Words) -> str:
    items = []
    for stay in model["timeline"]:
        officers = "".join(
            f'<li class="officer">{esc(o["officer"])} · {w("since")} {esc(o["since"])}'
            f" · {_duration(o['held'])}</li>"
            for o in stay["officers"]
        )
        until = f"{w('until')} {esc(stay['until'])}" if stay["until"] else w("now_held")
        outside = (
            f" · {w('outside')}: {_duration(stay['outside'])}" if stay["outside"]["seconds"] else ""
        )
        items.append(
            f'<li class="stay{" current" if stay["current"] else ""}">'
            f'<div class="u">{named_html(stay["unit"])}</div>'
            f'<div class="t">{w("since")} {esc(stay["since"])} · {until}</div>'
            f'<div class="t">{w("inside")}: {_duration(stay["inside"])}{outside}</div>'
            f"<ul>{officers}</ul></li>"
        )
    citizen = model.get("citizen") or {}
    note = ""
    if citizen.get("total", {}).get("seconds"):
        unplaced = "" if citizen.get("placed") else f" ({w('citizen_unplaced')})"
        note = f'<p class="citizen">{w("citizen")}: {_duration(citizen["total"])}{unplaced}</p>'
    cut = f'<p class="dim">{w("truncated")}</p>' if model.get("timeline_truncated") else ""
    return (
        f'<section><h2>{w("timeline")}</h2>{cut}<ol id="timeline">{"".join(items)}</ol>'
        f"{note}</section>"
    )


def _alerts(model: Mapping[str, Any], w: Words) -> str:
    alerts = model.get("alerts") or []
    if not alerts:
        return f'<section><h2>{w("alerts")}</h2><p class="dim">{w("no_alerts")}</p></section>'
    form = model.get("acknowledge")
    items = [_alert(model["id"], a, form, w) for a in alerts]
    return f'<section><h2>{w("alerts")}</h2><ul id="alerts">{"".join(items)}</ul></section>'


def _alert(dossier: str, a: Mapping[str, Any], form: Any, w: Words) -> str:
    title = (
        w.pair_of(a["title"], a.get("title_en") or "")
        if a.get("title")
        else esc(f"{a['rule']} / {a['level']}")
    )
    lines = [f'<div class="title">{title} <span class="code">{esc(a["id"])}</span></div>']
    meta = [named_html(a["unit"])] if a["unit"].get("code") else []
    if a.get("at"):
        meta.append(f"{w('fired')} {esc(a['at'])}")
    if meta:
        lines.append(f'<div class="t">{" · ".join(meta)}</div>')
    if a.get("evidence"):
        lines.append(f'<div class="evidence">{w("evidence")}: {esc(a["evidence"])}</div>')
    if a.get("chain"):
        lines.append(f'<div class="chain">{w("path")}: {esc(a["chain"])}</div>')
    if not a.get("evidence") and not a.get("chain"):
        lines.append(f'<div class="dim">{w("evidence")}: {w("no_state")}</div>')
    for s in a.get("silences") or ():
        lines.append(
            f'<div class="silence">✓ {w("silenced")} {w("by")} <b>{esc(s["by"])}</b>'
            f" {w('to')} {esc(s['until'])}: {esc(s['comment'])}</div>"
        )
    if form and a.get("can_acknowledge"):
        lines.append(_form(dossier, a["id"], form, w))
    severity = esc(a.get("severity") or "")
    return f'<li class="alert {severity}" data-id="{esc(a["id"])}">{"".join(lines)}</li>'


def _form(dossier: str, alert_id: str, form: Mapping[str, Any], w: Words) -> str:
    action = f"/dossiers/{quote(dossier, safe='')}/alerts/{quote(alert_id, safe='')}/ack"
    hours = "".join(
        f'<option value="{h}"{" selected" if h == 24 else ""}>{h} h</option>' for h in ACK_HOURS
    )
    return (
        f'<form class="ack" method="post" action="{esc(action)}">'
        f'<input type="hidden" name="csrf" value="{esc(form["csrf"])}">'
        f'<label>{w("author")} <input name="author" value="{esc(form["author"])}" readonly>'
        "</label>"
        f'<label>{w("comment")} <textarea name="comment" required maxlength="1000" rows="2">'
        "</textarea></label>"
        f'<label>{w("hours")} <select name="hours">{hours}</select></label>'
        f'<button type="submit">{w("ack")}</button></form>'
    )


def _steps(steps: list[Mapping[str, Any]], w: Words) -> str:
    if not steps:
        return ""
    rows = "".join(
        f"<tr><td>{named_html(s['unit'])}</td><td>{esc(s['arrived'])}</td><td>{esc(s['due'])}</td>"
        f"<td>{esc(s['left'] or '—')}</td>"
        f'<td class="n">{"" if s["points"] is None else s["points"]}</td></tr>'
        for s in steps
    )
    head = "".join(f"<th>{w(k)}</th>" for k in ("unit", "arrived", "due", "left_at", "points"))
    return (
        f'<section><h2>{w("steps")}</h2><div class="scroll"><table id="steps">'
        f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div></section>"
    )


STYLE = """* { box-sizing: border-box; }
body { margin:0; background:#f5f6f8; color:#17202a; font:16px/1.45 system-ui, sans-serif; }
main { max-width:960px; margin:0 auto; padding:12px; }
h1 { font-size:1.5em; margin:8px 0; overflow-wrap:anywhere; } h2 { font-size:1.15em; }
section { background:#fff; border-radius:8px; padding:12px 14px; margin:0 0 12px; }
.en, .dim, .code { color:#6b7785; } .en, .code { font-size:.85em; } .code { margin-left:4px; }
.standing { display:inline-block; padding:2px 10px; border-radius:14px; font-size:.8em;
            background:#e3e8ee; vertical-align:middle; }
.standing.overdue, .standing.late { background:#c0392b; color:#fff; }
.standing.near_due { background:#e67e22; color:#fff; }
.standing.overdue .en, .standing.late .en, .standing.near_due .en { color:#fde9e2; }
.standing.within_time, .standing.early, .standing.on_time { background:#2e9e5b; color:#fff; }
.standing.within_time .en, .standing.early .en, .standing.on_time .en { color:#e1f5e9; }
dl.facts { display:grid; grid-template-columns: minmax(8em, max-content) 1fr; gap:4px 12px;
           margin:0; }
dt { color:#6b7785; } dd { margin:0; overflow-wrap:anywhere; }
.time { font-size:1.1em; background:#fff; border-radius:8px; padding:10px 14px; }
.time.overdue { border-left:8px solid #c0392b; } .time.left { border-left:8px solid #2e9e5b; }
.time.stopped { border-left:8px solid #6b7785; }
ol, ul { padding-left:1.2em; margin:6px 0; }
li.stay { margin:0 0 10px; } li.stay.current .u { font-weight:700; }
.t, li.officer { color:#4a5663; font-size:.92em; }
ul#alerts { list-style:none; padding:0; }
li.alert { border-left:6px solid #6b7785; padding:8px 10px; margin:0 0 10px; background:#fafbfc; }
li.alert.critical { border-left-color:#c0392b; } li.alert.warning { border-left-color:#e67e22; }
.title { font-weight:600; overflow-wrap:anywhere; }
.evidence, .chain { overflow-wrap:anywhere; }
.silence { color:#1e7a45; margin-top:4px; }
form.ack { display:grid; gap:6px; margin-top:8px; }
form.ack label { display:grid; gap:2px; font-size:.92em; }
form.ack input, form.ack textarea, form.ack select, form.ack button { font:inherit;
  padding:6px 8px; width:100%; }
form.ack button { background:#1f5fbf; color:#fff; border:0; border-radius:6px; }
.scroll { overflow-x:auto; } table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:4px 8px; border-bottom:1px solid #e3e8ee; }
td.n { text-align:right; font-variant-numeric:tabular-nums; }
@media (min-width: 900px) { form.ack { grid-template-columns: 1fr 2fr 1fr auto;
  align-items:end; } main { padding:24px; } }
"""
