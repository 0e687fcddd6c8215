"""GET /wallboard: the operations centre's screen, one HTML page polling the query API.

Kept here as strings on purpose (no front-end build step, no package data to install),
but served as three files — the page, /static/wallboard.css and /static/wallboard.js — so
that the Content-Security-Policy allows no inline script or style at all.  The script
builds every element with textContent, never innerHTML, because unit names and
procedure codes come from the events and must not become markup.  Where the worker has a
catalogue, units and procedures show their names (the code beside a unit's name, dimmed);
a code it does not name is shown as the code.

For a wall: `?kiosk=1` drops everything but the board and turns its pages of units every
`?rotate=N` seconds (`?rows=N` units a page); sizes follow the viewport width (clamp/vw),
so one page reads the same from 1080p to 2160p.  The on-time rate is Decision 766's over
the period stated on screen: the last `?days=N` days (30 by default, the period the
metric counts) or `?from=YYYY-MM-DD&to=…`.  When the API says the figures are stale (no
event or clock tick for its configured time), is unhealthy, or cannot be reached, a
full-width banner says so and since when, and the figures are greyed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from streams.web.views_model import ROLLING_DAYS

if TYPE_CHECKING:  # the demo serves the same files without Faust
    from faust.web import Request, Response, View

POLL_SECONDS = 5
ROTATE_SECONDS = 15
KIOSK_ROWS = 10

PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<title>DossierWatch — Bảng theo dõi / Wallboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/wallboard.css"></head>
<body>
<div id="banner" role="alert" hidden></div>
<header>
  <h1>Hồ sơ đang xử lý <span class="en">Dossiers in progress</span></h1>
  <div class="meta"><span id="partial"></span> <span id="pageno"></span>
    <span id="asof" class="en"></span></div>
</header>
<div id="kpis">
  <div class="kpi"><b id="k-open">—</b><span>Đang xử lý<i>Open</i></span></div>
  <div class="kpi near"><b id="k-near">—</b><span>Sắp đến hạn<i>Near due</i></span></div>
  <div class="kpi over"><b id="k-over">—</b><span>Quá hạn<i>Overdue</i></span></div>
  <div class="kpi"><b id="k-supp">—</b><span>Chờ bổ sung<i>Waiting for documents</i></span></div>
  <div class="kpi rate"><b id="rate766">—</b><span>Đúng hạn (QĐ 766)<i>On time (Decision 766)</i>
    <i id="rate-of"></i></span></div>
</div>
<div id="period"></div>
<main>
  <section id="board"><table>
    <thead><tr class="groups"><th></th><th colspan="5">Hiện tại <i>Now</i></th>
      <th colspan="4">Đã xử lý trong kỳ <i>Finished in the period</i></th>
      <th colspan="2">Cảnh báo <i>Alerts</i></th></tr>
    <tr><th>Đơn vị<i>Unit</i></th><th>Đang xử lý<i>Open</i></th>
      <th>Trong hạn<i>Within time</i></th><th class="near">Sắp đến hạn<i>Near due</i></th>
      <th class="over">Quá hạn<i>Overdue</i></th><th>Chờ bổ sung<i>Supplement</i></th>
      <th>Sớm hạn<i>Early</i></th><th>Đúng hạn<i>On time</i></th><th>Trễ hạn<i>Late</i></th>
      <th>Tỷ lệ 766<i>On-time rate</i></th>
      <th>Đá qua lại<i>Ping-pong</i></th><th>Ngưng trệ<i>Stalled</i></th></tr></thead>
    <tbody id="units"></tbody><tfoot id="total"></tfoot></table></section>
  <section class="list"><h2 class="over">Quá hạn <span class="en">Overdue</span> —
      <span id="unit-o"></span></h2>
    <ul id="overdue"></ul>
    <h2 class="near gap">Sắp đến hạn <span class="en">Near due</span></h2>
    <ul id="atrisk"></ul></section>
  <section class="list"><h2>Đá qua lại <span class="en">Ping-pong referrals</span></h2>
    <ul id="pingpong"></ul></section>
</main>
<div id="timeline" role="dialog"></div>
<script src="/static/wallboard.js"></script></body></html>
"""

STYLE = """:root { --bg:#10151c; --panel:#1b232e; --fg:#f2f4f7; --dim:#9aa6b5; --orange:#ff9f1a;
        --red:#ff4d4f; --green:#3ccf73; --grey:#59626e; }
/* One size for every screen: 1rem is 1.15% of the viewport width (22px at 1080p, 44px
   at 2160p), within bounds for small windows and huge walls. */
html { font-size: clamp(14px, 1.15vw, 60px); }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg); font:1rem/1.3 system-ui, sans-serif; }
header { display:flex; justify-content:space-between; align-items:baseline;
         padding:.5rem 1rem .2rem; }
h1 { font-size:1.5rem; margin:0; } h2 { font-size:1.15rem; margin:0 0 .4rem; }
.en, i { color:var(--dim); font-size:.75em; font-style:normal; }
th i { display:block; }
.meta { font-size:.85rem; } .meta span { margin-left:.8rem; }
#banner { position:sticky; top:0; z-index:5; width:100%; padding:.6rem 1rem; font-size:1.4rem;
          font-weight:700; background:var(--red); color:#fff; text-align:center; }
#banner.stale { background:#8a5a00; }
#banner[hidden] { display:none; }
#kpis { display:flex; gap:.8rem; padding:.3rem 1rem; }
.kpi { flex:1; background:var(--panel); border-radius:.5rem; padding:.4rem .8rem;
       display:flex; align-items:center; gap:.7rem; }
.kpi b { font-size:2.6rem; font-variant-numeric:tabular-nums; line-height:1; white-space:nowrap; }
.kpi.rate { flex:1.5; }
.kpi span { font-size:.9rem; } .kpi span i { display:block; }
.kpi.near b { color:var(--orange); } .kpi.over b { color:var(--red); }
.kpi.rate b { color:var(--green); }
#period { padding:.2rem 1rem; font-size:.85rem; color:var(--dim); }
main { display:grid; grid-template-columns: 1fr 1fr; gap:.8rem; padding:.3rem 1rem 1rem; }
section { background:var(--panel); border-radius:.5rem; padding:.6rem; }
#board { grid-column: 1 / -1; }
table { width:100%; border-collapse:collapse; }
th, td { text-align:right; padding:.25rem .4rem; border-bottom:1px solid #2b3542; }
th:first-child, td:first-child { text-align:left; }
th { color:var(--dim); font-weight:500; font-size:.75rem; vertical-align:bottom; }
tr.groups th { text-align:center; border-bottom:2px solid #3a4656; font-size:.8rem; }
td.n { font-variant-numeric:tabular-nums; font-weight:700; font-size:1.3rem; }
td.zero { color:var(--grey); }
tfoot td { border-top:2px solid var(--dim); }
tr.unit { cursor:pointer; } tr.unit.sel { outline:.15rem solid #4c8dff; }
a.unit-page { color:inherit; text-decoration:none; }
a.unit-page:hover { text-decoration:underline; }
.code { color:var(--dim); font-size:.65em; margin-left:.4rem; }
.near { color:var(--orange); } .over { color:var(--red); } .rate { color:var(--green); }
li.d { list-style:none; padding:.35rem .5rem; margin:0 0 .35rem; border-radius:.4rem;
       cursor:pointer; background:#232d3a; border-left:.45rem solid var(--dim); font-size:1.1rem; }
li.d.overdue { border-left-color:var(--red); } li.d.near_due { border-left-color:var(--orange); }
li.d .meta, li.meta { color:var(--dim); font-size:.8rem; list-style:none; }
ul { padding:0; margin:0; }
#partial { color:var(--orange); }
#timeline { position:fixed; inset:5% 5%; background:#0b0f14; border:2px solid #4c8dff;
            border-radius:.6rem; padding:1rem; overflow:auto; display:none; }
#timeline.open { display:block; }
#timeline a { color:#8fb8ff; margin-left:1rem; }
.flow { display:flex; flex-wrap:wrap; align-items:center; gap:.3rem; margin:.8rem 0; }
.step { background:var(--panel); border-radius:.5rem; padding:.5rem .7rem; min-width:8rem; }
.step .u { font-size:1.25rem; font-weight:700; }
.step .t, .step .o { color:var(--dim); font-size:.8rem; }
.arrow { font-size:1.8rem; color:#4c8dff; }
button { font-size:1rem; padding:.25rem .7rem; }
.gap { margin-top:.7rem; }
/* Stale or unreachable: the last figures stay, greyed, under the banner. */
body.stale td.n, body.stale .kpi b, body.stale li.d { color:var(--grey) !important; }
body.stale #board, body.stale #kpis { opacity:.55; }
/* Kiosk: the board alone, bigger, no pointer. */
body.kiosk { cursor:none; }
body.kiosk main { grid-template-columns: 1fr; }
body.kiosk section.list { display:none; }
body.kiosk td.n { font-size:1.6rem; } body.kiosk td:first-child { font-size:1.3rem; }
body.kiosk tr.unit { cursor:none; } body.kiosk tr.unit.sel { outline:none; }
"""

SCRIPT = """"use strict";
const Q = new URLSearchParams(location.search);
const KIOSK = Q.get("kiosk") === "1";
const POLL = Math.max(1, Number(Q.get("poll")) || __POLL__) * 1000;
const ROTATE = Math.max(1, Number(Q.get("rotate")) || __ROTATE__) * 1000;
const ROWS = Math.max(0, Number(Q.get("rows")) || (KIOSK ? __ROWS__ : 0));  // 0: every unit
const PERIOD = new URLSearchParams();
if (Q.get("from") || Q.get("to")) {
  for (const k of ["from", "to"]) if (Q.get(k)) PERIOD.set(k, Q.get(k));
} else {
  PERIOD.set("days", Q.get("days") || "__DAYS__");
}
let unit = Q.get("unit");
let board = null, pageIndex = 0, failures = 0;
if (KIOSK) document.body.classList.add("kiosk");

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
async function getJson(path) {
  const wait = Math.max(2 * POLL, 10000);
  const r = await fetch(path, {cache: "no-store", signal: AbortSignal.timeout(wait)});
  if (!r.ok) throw new Error(path.split("?")[0] + " → " + r.status);
  return r.json();
}
// "2025-09-08T09:00:00+07:00" → "08/09/2025 09:00": the local time the API states.
function fmt(iso) {
  if (!iso) return "—";
  const m = /^(\\d{4})-(\\d{2})-(\\d{2})T(\\d{2}):(\\d{2})/.exec(iso);
  return m ? m[3] + "/" + m[2] + "/" + m[1] + " " + m[4] + ":" + m[5] : iso;
}
function num(n) { return Number(n || 0).toLocaleString("vi-VN"); }
// From the counts, not the API's rounded rate: a rounded rate rounded again can differ.
function pct(row) {
  if (!row.handled) return "—";
  return (100 * row.handled_on_time / row.handled).toFixed(1).replace(".", ",") + " %";
}
function since(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const d = Math.floor(seconds / 86400), h = Math.floor(seconds % 86400 / 3600);
  const m = Math.floor(seconds % 3600 / 60);
  return d > 0 ? d + " ngày/days " + h + " h" : h + " h " + m + " ph/min";
}
function banner(kind, text) {
  const b = document.getElementById("banner");
  document.body.classList.toggle("stale", Boolean(kind));
  b.hidden = !kind;
  b.className = kind || "";
  b.dataset.kind = kind || "";
  b.textContent = text || "";
}
// The unit's name opens its page (its dossiers by time left, officers, history).
function unitCell(code, name) {
  const td = el("td", "");
  const a = el("a", "unit-page", name || code);
  a.href = "/units/" + encodeURIComponent(code);
  td.append(a);
  if (name) td.append(el("span", "code", code));
  return td;
}
const COLS = [["open", ""], ["within_time", ""], ["near_due", "near"], ["overdue", "over"],
              ["waiting_supplement", ""], ["finished_early", ""], ["finished_on_time", ""],
              ["finished_late", "over"], ["on_time_rate_766", "rate"], ["ping_pong", "over"],
              ["stalled", "near"]];
function cells(tr, r) {
  for (const [k, cls] of COLS) {
    const v = r[k];
    if (k === "on_time_rate_766") { tr.append(el("td", "n rate", pct(r))); continue; }
    const td = el("td", "n " + (v ? cls : "zero"), num(v));
    td.dataset.col = k;
    tr.append(td);
  }
  return tr;
}
function renderBoard() {
  const rows = board.by_unit.rows;
  const size = ROWS || rows.length || 1;
  const pages = Math.max(1, Math.ceil(rows.length / size));
  pageIndex = pageIndex % pages;
  const shown = rows.slice(pageIndex * size, (pageIndex + 1) * size);
  document.getElementById("units").replaceChildren(...shown.map(r => {
    const tr = cells(el("tr", "unit" + (!KIOSK && r.unit === unit ? " sel" : "")), r);
    tr.prepend(unitCell(r.unit, r.unit_name));
    tr.dataset.unit = r.unit;
    if (!KIOSK) tr.addEventListener("click", () => { unit = r.unit; refresh(); });
    return tr;
  }));
  const t = board.by_unit.total;
  const foot = cells(el("tr", "total"), t);
  foot.prepend(el("td", "", "Tổng / Total"));
  document.getElementById("total").replaceChildren(foot);
  document.getElementById("pageno").textContent =
    pages > 1 ? "Trang / Page " + (pageIndex + 1) + "/" + pages : "";
  document.getElementById("pageno").dataset.page = String(pageIndex + 1);
  document.getElementById("k-open").textContent = num(t.open);
  document.getElementById("k-near").textContent = num(t.near_due);
  document.getElementById("k-over").textContent = num(t.overdue);
  document.getElementById("k-supp").textContent = num(t.waiting_supplement);
  const rate = document.getElementById("rate766");
  rate.textContent = pct(t);
  rate.dataset.onTime = String(t.handled_on_time);
  rate.dataset.handled = String(t.handled);
  document.getElementById("rate-of").textContent =
    num(t.handled_on_time) + " / " + num(t.handled) + " hồ sơ / dossiers";
  const p = board.period, days = PERIOD.get("days");
  document.getElementById("period").textContent =
    "Kỳ / Period: " + (days ? days + " ngày gần nhất / last " + days + " days, " : "") +
    fmt(p.from) + " – " + fmt(p.to) +
    " · Tỷ lệ đúng hạn theo QĐ 766 / on-time rate per Decision 766";
  document.getElementById("asof").textContent = "Số liệu lúc / As of " + fmt(board.as_of);
}
function item(d) {
  const li = el("li", "d " + d.standing.code);
  li.dataset.id = d.id;
  li.append(el("div", "", d.id + " · " + (d.procedure_name || d.procedure)));
  let meta = d.standing.vi + " / " + d.standing.en + " · hạn/due " + fmt(d.due);
  if (d.standing.code === "overdue") meta += " · trễ/late " + since(d.seconds_overdue);
  if (d.chain) meta = d.unit_bounces + " lần/bounces · " +
    d.chain.map(s => s.unit_name || s.unit).join(" → ");
  li.append(el("div", "meta", meta));
  li.addEventListener("click", () => openTimeline(d.id));
  return li;
}
function fill(id, items, empty) {
  const ul = document.getElementById(id);
  ul.replaceChildren(...(items.length ? items.map(item) : [el("li", "meta", empty)]));
}
async function lists() {
  let partial = false;
  if (unit) {
    const u = encodeURIComponent(unit);
    const [o, a] = await Promise.all([getJson("/api/units/" + u + "/overdue?size=15"),
                                      getJson("/api/units/" + u + "/at-risk?size=10")]);
    const named = board.by_unit.rows.find(r => r.unit === unit);
    document.getElementById("unit-o").textContent =
      o.unit_name || (named && named.unit_name) || unit;
    fill("overdue", o.items, "Không có / None");
    fill("atrisk", a.items, "Không có / None");
    partial = o.partial || a.partial;
  }
  const pp = await getJson("/api/ping-pong?size=12");
  fill("pingpong", pp.items, "Không có / None");
  return partial || pp.partial;
}
async function refresh() {
  try {
    board = await getJson("/api/board?" + PERIOD);
    const rows = board.by_unit.rows;
    if (!unit && rows.length) unit = board.units.length ? board.units[0].unit : rows[0].unit;
    renderBoard();
    const partial = board.partial || (!KIOSK && await lists());
    document.getElementById("partial").textContent =
      partial ? "Thiếu dữ liệu một số phân vùng / Some partitions missing" : "";
    const f = board.freshness || {};
    const last = f.last_event_at || f.last_tick_at;
    if (f.healthy === false) {
      banner("unhealthy", "Hệ thống gặp sự cố / The system is unhealthy: " + (f.reason || ""));
    } else if (f.stale) {
      banner("stale", "Số liệu không cập nhật" + (last ? " từ " + fmt(last) : "") +
             " / Figures not updated" + (last ? " since " + fmt(last) : ""));
    } else {
      banner("", "");
    }
    failures = 0;
  } catch (e) {
    // One lost answer is not an outage: the banner comes with the second in a row.
    if (++failures < 2) return;
    banner("unreachable", "Mất kết nối máy chủ / Cannot reach the server" +
           (board ? " — số liệu lúc / figures as of " + fmt(board.as_of) : "") +
           " (" + e.message + ")");
  }
}
async function openTimeline(id) {
  const box = document.getElementById("timeline");
  const d = await getJson("/api/dossiers/" + encodeURIComponent(id));
  const close = el("button", "", "Đóng / Close");
  close.addEventListener("click", () => box.classList.remove("open"));
  const page = el("a", "", "Trang hồ sơ / Dossier page");
  page.href = "/dossiers/" + encodeURIComponent(id);
  const head = el("h2", d.standing.code === "overdue" ? "over" :
                       d.standing.code === "near_due" ? "near" : "",
                  d.id + " · " + (d.procedure_name || d.procedure) + " — " + d.standing.vi +
                  " / " + d.standing.en);
  const facts = el("div", "en", "Tiếp nhận/Received " + fmt(d.received_at) +
                   " · Hạn/Due " + fmt(d.due) +
                   " · Đá qua lại/Bounces " + d.unit_bounces);
  const flow = el("div", "flow");
  flow.id = "chain";
  d.chain.forEach((s, i) => {
    if (i) flow.append(el("span", "arrow", "→"));
    const step = el("div", "step");
    step.append(el("div", "u", s.unit_name || s.unit), el("div", "t", fmt(s.since)));
    for (const o of s.officers) step.append(el("div", "o", "CB/Officer " + o.officer));
    flow.append(step);
  });
  const alerts = el("ul");
  for (const a of d.open_alerts)
    alerts.append(el("li", "meta",
                     "⚠ " + a.rule + " · " + a.level + (a.unit ? " · " + a.unit : "")));
  box.replaceChildren(close, page, head, facts, flow,
                      el("h2", "", "Cảnh báo đang mở / Open alerts"), alerts);
  box.classList.add("open");
}
// The next poll once this one is answered (or given up): never two at once.
(async function poll() { await refresh(); setTimeout(poll, POLL); })();
if (KIOSK) setInterval(() => { pageIndex += 1; if (board) renderBoard(); }, ROTATE);
"""
for _name, _value in (
    ("__POLL__", POLL_SECONDS),
    ("__ROTATE__", ROTATE_SECONDS),
    ("__ROWS__", KIOSK_ROWS),
    ("__DAYS__", ROLLING_DAYS),
):
    SCRIPT = SCRIPT.replace(_name, str(_value))

FILES: Mapping[str, tuple[str, str]] = {
    "/wallboard": ("text/html; charset=utf-8", PAGE),
    "/static/wallboard.css": ("text/css; charset=utf-8", STYLE),
    "/static/wallboard.js": ("application/javascript; charset=utf-8", SCRIPT),
}
"""Path → (content type, body): what any server of the wallboard serves."""


def register_wallboard(app: Any) -> None:
    """Serve /wallboard and its stylesheet and script."""

    @app.page("/wallboard")  # type: ignore[untyped-decorator]
    async def wallboard(web: View, request: Request) -> Response:
        page: Response = web.html(PAGE, headers={"Cache-Control": "no-store"})
        return page

    @app.page("/static/wallboard.css")  # type: ignore[untyped-decorator]
    async def wallboard_css(web: View, request: Request) -> Response:
        css: Response = web.text(STYLE, content_type="text/css")
        return css

    @app.page("/static/wallboard.js")  # type: ignore[untyped-decorator]
    async def wallboard_js(web: View, request: Request) -> Response:
        js: Response = web.text(SCRIPT, content_type="application/javascript")
        return js
