"""The unit page's and the officer page's HTML, from `streams.web.unit_model`'s dict: one
pure function, `render`, shared by the worker (`/units/<code>`,
`/units/<code>/officers/<officer>`) and the demo.

Built as the dossier page is (`streams.web.dossier_page`: its words, escaping, time-left
phrase and stylesheet, plus /static/units.css for the tables): server-rendered, no
script, every value escaped.  Unit heads read it on a phone: below 700 px each dossier
row becomes a card whose cells carry their column's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from streams.web import dossier_page as dp
from streams.web.dossier_model import unit_path
from streams.web.dossier_page import Words, esc, time_phrase
from streams.web.unit_model import PAGE_SIZE

STYLESHEET = "/static/units.css"

WORDS: Mapping[str, tuple[str, str]] = {
    **dp.WORDS,
    "unit_page": ("Đơn vị", "Unit"),
    "officer_page": ("Cán bộ", "Officer"),
    "back": ("Về trang đơn vị", "Back to the unit"),
    "open": ("Đang xử lý", "Open"),
    "overdue": ("Quá hạn", "Overdue"),
    "near_due": ("Sắp đến hạn", "Near due"),
    "within_time": ("Trong hạn", "Within time"),
    "waiting_supplement": ("Chờ bổ sung", "Waiting for documents"),
    "dossiers": ("Hồ sơ đang xử lý", "Open dossiers"),
    "by_time_left": ("theo thời gian còn lại", "by time left"),
    "none": ("Không có hồ sơ", "No dossiers"),
    "officer": ("Cán bộ", "Officer"),
    "no_officer": ("Chưa giao cán bộ", "No officer yet"),
    "status": ("Tình trạng", "Status"),
    "total": ("hồ sơ", "dossiers"),
    "page": ("Trang", "Page"),
    "previous": ("← Trang trước", "← Previous"),
    "next": ("Trang sau →", "Next →"),
    "officers": ("Theo cán bộ", "By officer"),
    "stalls": ("Tồn đọng", "Stalls"),
    "ping_pong": ("Chuyển qua lại", "Ping-pong"),
    "history": ("Tồn đọng và chuyển qua lại", "Stalls and ping-pong"),
    "no_history": ("Chưa có", "None so far"),
    "newest": ("mới nhất trong", "newest of"),
    "still_open": ("đang mở", "still open"),
    "closed": ("đã kết thúc", "over"),
    "partial": (
        "Thiếu dữ liệu một số phân vùng",
        "Some partitions did not answer: the figures are incomplete",
    ),
}

COUNT_KEYS = ("open", "overdue", "near_due", "within_time", "waiting_supplement")
COLUMNS = ("dossier", "procedure", "officer", "received", "due", "left", "status")
OFFICER_COLUMNS = ("open", "overdue", "near_due", "stalls", "ping_pong")


def render(model: Mapping[str, Any], *, lang: str = "vi") -> str:
    """The whole page (`lang`: "vi", Vietnamese with English beside it, or "en")."""
    w = Words(lang, WORDS)
    unit = model["unit"]
    officer = model.get("officer")
    name = model.get("unit_name") or unit
    title = f"{w.plain('officer_page')} {officer}" if officer else name
    parts = [
        "<!doctype html>",
        f'<html lang="{"en" if lang == "en" else "vi"}"><head><meta charset="utf-8">',
        f"<title>{esc(title)} — DossierWatch</title>",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<link rel="stylesheet" href="{dp.STYLESHEET}">',
        f'<link rel="stylesheet" href="{STYLESHEET}"></head><body>',
        "<main>",
        _heading(model, w),
        f'<p class="dim">{w("as_of")} {esc(model["now"])}</p>',
        f'<p id="partial" class="partial">{w("partial")}</p>' if model.get("partial") else "",
        _counts(model["counts"], w),
        _dossiers(model, w, lang),
        "" if officer else _officers(model, w),
        _history(model, w),
        "</main></body></html>",
    ]
    return "\n".join(p for p in parts if p)


def _heading(model: Mapping[str, Any], w: Words) -> str:
    unit, name, officer = model["unit"], model.get("unit_name"), model.get("officer")
    named = dp.named_html({"code": unit, "name": name})
    if not officer:
        return f'<h1 id="unit">{named}</h1>'
    back = f'<a href="{esc(unit_path(unit))}">{w("back")}</a>'
    return (
        f'<h1 id="officer">{w("officer_page")} <span class="id">{esc(officer)}</span></h1>'
        f'<p class="unit">{w("unit_page")}: {named} · {back}</p>'
    )


def _counts(counts: Mapping[str, int], w: Words) -> str:
    chips = "".join(
        f'<div class="count {k}" data-key="{k}"><b>{counts.get(k, 0)}</b>{w(k)}</div>'
        for k in COUNT_KEYS
    )
    return f'<section id="counts" class="counts">{chips}</section>'


def _dossiers(model: Mapping[str, Any], w: Words, lang: str) -> str:
    rows = "".join(_row(model["unit"], item, w) for item in model["items"])
    head = "".join(f"<th>{w(k)}</th>" for k in COLUMNS)
    pages = max(model["pages"], 1)
    summary = (
        f'<p class="dim"><span id="total">{model["total"]}</span> {w("total")}'
        f" · {w('page')} {model['page']}/{pages}</p>"
    )
    table = (
        f'<table id="dossiers" class="rows"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table>"
        if rows
        else f'<p class="dim">{w("none")}</p>'
    )
    return (
        f'<section><h2>{w("dossiers")} <span class="en">{w.plain("by_time_left")}</span></h2>'
        f"{summary}{table}{_pager(model, w, lang)}</section>"
    )


def _row(unit: str, item: Mapping[str, Any], w: Words) -> str:
    standing = item["standing"]
    officer = item.get("officer")
    who = (
        f'<a href="{esc(unit_path(unit, officer))}">{esc(officer)}</a>'
        if officer
        else f'<span class="dim">{w("no_officer")}</span>'
    )
    procedure = dp.named_html({"code": item["procedure"], "name": item.get("procedure_name")})
    time = item.get("time")
    cells = {
        "dossier": f'<a href="/dossiers/{quote(item["id"], safe="")}">{esc(item["id"])}</a>',
        "procedure": procedure,
        "officer": who,
        "received": esc(item.get("received") or "—"),
        "due": esc(item.get("due") or "—"),
        "left": time_phrase(time, w) if time else "—",
        "status": f'<span class="standing {esc(standing["code"])}">'
        f"{w.pair_of(standing['vi'], standing['en'])}</span>",
    }
    tds = "".join(
        f'<td class="{k}" data-label="{esc(w.plain(k))}">{cells[k]}</td>' for k in COLUMNS
    )
    return f'<tr class="{esc(standing["code"])}" data-id="{esc(item["id"])}">{tds}</tr>'


def _pager(model: Mapping[str, Any], w: Words, lang: str) -> str:
    page, pages, size = model["page"], model["pages"], model["size"]
    if pages <= 1:
        return ""

    def link(to: int, key: str, rel: str) -> str:
        query = f"?page={to}" + (f"&size={size}" if size != PAGE_SIZE else "")
        query += "&lang=en" if lang == "en" else ""
        return f'<a rel="{rel}" href="{esc(query)}">{w(key)}</a>'

    links = [link(page - 1, "previous", "prev")] if page > 1 else []
    links += [link(page + 1, "next", "next")] if page < pages else []
    return f'<nav class="pager">{" ".join(links)}</nav>'


def _officers(model: Mapping[str, Any], w: Words) -> str:
    rows = []
    for o in model.get("officers") or ():
        who = o["officer"]
        first = (
            f'<a href="{esc(unit_path(model["unit"], who))}">{esc(who)}</a>'
            if who
            else f'<span class="dim">{w("no_officer")}</span>'
        )
        cells = "".join(
            f'<td class="n{" hot " + k if o[k] and k != "open" else ""}">{o[k]}</td>'
            for k in OFFICER_COLUMNS
        )
        rows.append(f"<tr><td>{first}</td>{cells}</tr>")
    if not rows:
        return ""
    head = "".join(f"<th>{w(k)}</th>" for k in ("officer", *OFFICER_COLUMNS))
    return (
        f'<section><h2>{w("officers")}</h2><div class="scroll"><table id="officers">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div></section>"
    )


def _history(model: Mapping[str, Any], w: Words) -> str:
    entries = model.get("history") or []
    if not entries:
        return f'<section><h2>{w("history")}</h2><p class="dim">{w("no_history")}</p></section>'
    items = []
    for e in entries:
        state = w("still_open") if e["open"] else w("closed")
        dossier = f'<a href="/dossiers/{quote(e["dossier"], safe="")}">{esc(e["dossier"])}</a>'
        meta = [dossier, esc(e["at"] or "—"), state]
        if e.get("officers"):
            meta.append(", ".join(esc(o) for o in e["officers"]))
        items.append(
            f'<li class="entry {esc(e["rule"])} {esc(e["level"])}" data-id="{esc(e["id"])}">'
            f'<div class="title">{w.pair_of(e["title"], e["title_en"])}</div>'
            f'<div class="t">{" · ".join(meta)}</div>'
            f'<div class="evidence">{w("evidence")}: {esc(e["evidence"])}</div></li>'
        )
    shown = (
        f'<p class="dim">{len(entries)} {w.plain("newest")} {model["history_total"]}</p>'
        if model["history_total"] > len(entries)
        else ""
    )
    return (
        f'<section><h2>{w("history")}</h2>{shown}<ul id="history">{"".join(items)}</ul></section>'
    )


STYLE = """main { max-width:1280px; }
.counts { display:flex; flex-wrap:wrap; gap:8px; }
.count { flex:1 1 8em; background:#f5f6f8; border-radius:8px; padding:6px 10px; }
.count b { display:block; font-size:1.6em; font-variant-numeric:tabular-nums; }
.count.overdue b { color:#c0392b; } .count.near_due b { color:#e67e22; }
.count.within_time b { color:#2e9e5b; }
.partial { background:#fdf0e2; color:#8a4b00; border-radius:8px; padding:8px 14px; }
p.unit { margin:0 0 8px; }
table.rows td, table.rows th { vertical-align:top; }
table.rows tr.overdue td:first-child { border-left:6px solid #c0392b; }
table.rows tr.near_due td:first-child { border-left:6px solid #e67e22; }
table.rows tr.within_time td:first-child { border-left:6px solid #2e9e5b; }
td.hot.overdue, td.hot.stalls, td.hot.ping_pong { color:#c0392b; font-weight:700; }
td.hot.near_due { color:#e67e22; font-weight:700; }
nav.pager { display:flex; justify-content:space-between; margin-top:8px; }
ul#history { list-style:none; padding:0; }
li.entry { border-left:6px solid #e67e22; padding:8px 10px; margin:0 0 10px;
           background:#fafbfc; }
li.entry.critical { border-left-color:#c0392b; }
a { color:#1f5fbf; }
/* A phone: each dossier a card, each cell with its column's name. */
@media (max-width: 700px) {
  table.rows thead { display:none; }
  table.rows, table.rows tbody, table.rows tr, table.rows td { display:block; width:100%; }
  table.rows tr { border-radius:8px; background:#fafbfc; margin:0 0 10px; padding:6px 8px;
                  border-left:6px solid #6b7785; }
  table.rows tr.overdue { border-left-color:#c0392b; }
  table.rows tr.near_due { border-left-color:#e67e22; }
  table.rows tr.within_time { border-left-color:#2e9e5b; }
  table.rows tr[class] td:first-child { border-left:0; font-weight:700; }
  table.rows td { border:0; padding:2px 0; overflow-wrap:anywhere; }
  table.rows td::before { content: attr(data-label) ": "; color:#6b7785; }
  /* The dossier's id needs no name; time left says its own ("Còn lại", "Quá hạn"). */
  table.rows td.dossier::before, table.rows td.left::before { content: ""; }
}
"""
