"""GET /wallboard: the operations centre's screen, one HTML page polling the query API.

Kept here as strings on purpose (no front-end build step, no package data to install),
but served as three files — the page, /static/wallboard.css and /static/wallboard.js — so
that the Content-Security-Policy allows no inline script or style at all.  The script
builds every element with textContent, never innerHTML, because unit names and
procedure codes come from the events and must not become markup.  Where the worker has a
catalogue, units and procedures show their names (the code beside a unit's name, dimmed);
a code it does not name is shown as the code.
"""

from __future__ import annotations

from typing import Any

from faust.web import Request, Response, View

POLL_SECONDS = 5

PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<title>DossierWatch — Bảng theo dõi / Wallboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/wallboard.css"></head>
<body>
<header>
  <h1>Hồ sơ đang xử lý <span class="en">Dossiers in progress</span></h1>
  <div><span id="partial"></span> <span id="clock" class="en"></span></div>
</header>
<main>
  <section><h2>Đơn vị <span class="en">Units</span></h2>
    <table><thead><tr><th>Đơn vị<br>Unit</th><th>Đang xử lý<br>Open</th>
      <th>Trong hạn<br>Within time</th><th class="near">Sắp đến hạn<br>Near due</th>
      <th class="over">Quá hạn<br>Overdue</th><th>Đá qua lại<br>Ping-pong</th></tr></thead>
      <tbody id="units"></tbody></table></section>
  <section><h2 class="over">Quá hạn <span class="en">Overdue</span> — <span id="unit-o"></span></h2>
    <ul id="overdue"></ul>
    <h2 class="near gap">Sắp đến hạn <span class="en">Near due</span></h2>
    <ul id="atrisk"></ul></section>
  <section><h2>Đá qua lại <span class="en">Ping-pong referrals</span></h2>
    <ul id="pingpong"></ul></section>
</main>
<div id="timeline" role="dialog"></div>
<script src="/static/wallboard.js"></script></body></html>
"""

STYLE = """:root { --bg:#10151c; --panel:#1b232e; --fg:#f2f4f7; --dim:#9aa6b5; --orange:#ff9f1a;
        --red:#ff4d4f; --green:#3ccf73; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg); font:22px/1.35 system-ui, sans-serif; }
header { display:flex; justify-content:space-between; align-items:baseline; padding:14px 24px; }
h1 { font-size:34px; margin:0; } h2 { font-size:26px; margin:0 0 10px; }
.en { color:var(--dim); font-size:.8em; }
main { display:grid; grid-template-columns: 1.4fr 1fr 1fr; gap:18px; padding:0 24px 24px; }
section { background:var(--panel); border-radius:10px; padding:16px; min-height:200px; }
table { width:100%; border-collapse:collapse; }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid #2b3542; }
th { color:var(--dim); font-weight:500; font-size:.8em; }
td.n { text-align:right; font-variant-numeric:tabular-nums; font-weight:700; font-size:1.4em; }
tr.unit { cursor:pointer; } tr.unit.sel { outline:3px solid #4c8dff; }
.code { color:var(--dim); font-size:.7em; margin-left:8px; }
.near { color:var(--orange); } .over { color:var(--red); }
li.d { list-style:none; padding:8px 10px; margin:0 0 8px; border-radius:8px; cursor:pointer;
       background:#232d3a; border-left:10px solid var(--dim); font-size:26px; }
li.d.overdue { border-left-color:var(--red); } li.d.near_due { border-left-color:var(--orange); }
li.d .meta { color:var(--dim); font-size:18px; }
ul { padding:0; margin:0; }
#partial { color:var(--orange); font-size:18px; }
#timeline { position:fixed; inset:5% 5%; background:#0b0f14; border:2px solid #4c8dff;
            border-radius:12px; padding:24px; overflow:auto; display:none; }
#timeline.open { display:block; }
.flow { display:flex; flex-wrap:wrap; align-items:center; gap:6px; margin:18px 0; }
.step { background:var(--panel); border-radius:10px; padding:12px 16px; min-width:180px; }
.step .u { font-size:28px; font-weight:700; }
.step .t, .step .o { color:var(--dim); font-size:18px; }
.arrow { font-size:40px; color:#4c8dff; }
button { font-size:22px; padding:6px 16px; }
.gap { margin-top:16px; }
"""

SCRIPT = """"use strict";
const POLL = __POLL__ * 1000;
let unit = new URLSearchParams(location.search).get("unit");

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
async function getJson(path) {
  const r = await fetch(path, {cache: "no-store"});
  if (!r.ok) throw new Error(path + " → " + r.status);
  return r.json();
}
function unitCell(code, name) {
  const td = el("td", "", name || code);
  if (name) td.append(el("span", "code", code));
  return td;
}
function since(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const d = Math.floor(seconds / 86400), h = Math.floor(seconds % 86400 / 3600);
  const m = Math.floor(seconds % 3600 / 60);
  return d > 0 ? d + " ngày/days " + h + " h" : h + " h " + m + " ph/min";
}
function item(d) {
  const li = el("li", "d " + d.standing.code);
  li.dataset.id = d.id;
  li.append(el("div", "", d.id + " · " + (d.procedure_name || d.procedure)));
  const due = (d.due || "—").slice(0, 16).replace("T", " ");
  let meta = d.standing.vi + " / " + d.standing.en + " · hạn/due " + due;
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
async function refresh() {
  try {
    const board = await getJson("/api/board");
    const rows = board.units;
    if (!unit && rows.length) unit = rows[0].unit;
    const names = Object.fromEntries(rows.map(r => [r.unit, r.unit_name]));
    const body = document.getElementById("units");
    body.replaceChildren(...rows.map(r => {
      const tr = el("tr", "unit" + (r.unit === unit ? " sel" : ""));
      tr.append(unitCell(r.unit, r.unit_name), el("td", "n", r.open), el("td", "n", r.within_time),
                el("td", "n near", r.near_due), el("td", "n over", r.overdue),
                el("td", "n", r.ping_pong));
      tr.addEventListener("click", () => { unit = r.unit; refresh(); });
      return tr;
    }));
    let partial = board.partial;
    if (unit) {
      const u = encodeURIComponent(unit);
      const [o, a] = await Promise.all([getJson("/api/units/" + u + "/overdue?size=15"),
                                        getJson("/api/units/" + u + "/at-risk?size=10")]);
      document.getElementById("unit-o").textContent = o.unit_name || names[unit] || unit;
      fill("overdue", o.items, "Không có / None");
      fill("atrisk", a.items, "Không có / None");
      partial = partial || o.partial || a.partial;
    }
    const pp = await getJson("/api/ping-pong?size=12");
    fill("pingpong", pp.items, "Không có / None");
    partial = partial || pp.partial;
    document.getElementById("partial").textContent =
      partial ? "Thiếu dữ liệu một số phân vùng / Some partitions missing" : "";
    document.getElementById("clock").textContent =
      "Cập nhật / Updated " + new Date().toLocaleTimeString("vi-VN");
  } catch (e) {
    document.getElementById("partial").textContent = "Mất kết nối / Connection lost: " + e.message;
  }
}
async function openTimeline(id) {
  const box = document.getElementById("timeline");
  const d = await getJson("/api/dossiers/" + encodeURIComponent(id));
  const close = el("button", "", "Đóng / Close");
  close.addEventListener("click", () => box.classList.remove("open"));
  const head = el("h2", d.standing.code === "overdue" ? "over" :
                       d.standing.code === "near_due" ? "near" : "",
                  d.id + " · " + (d.procedure_name || d.procedure) + " — " + d.standing.vi +
                  " / " + d.standing.en);
  const facts = el("div", "en", "Tiếp nhận/Received " + (d.received_at || "—").slice(0, 16) +
                   " · Hạn/Due " + (d.due || "—").slice(0, 16) +
                   " · Đá qua lại/Bounces " + d.unit_bounces);
  const flow = el("div", "flow");
  flow.id = "chain";
  d.chain.forEach((s, i) => {
    if (i) flow.append(el("span", "arrow", "→"));
    const step = el("div", "step");
    step.append(el("div", "u", s.unit_name || s.unit),
                el("div", "t", s.since.slice(0, 16).replace("T", " ")));
    for (const o of s.officers) step.append(el("div", "o", "CB/Officer " + o.officer));
    flow.append(step);
  });
  const alerts = el("ul");
  for (const a of d.open_alerts)
    alerts.append(el("li", "meta",
                     "⚠ " + a.rule + " · " + a.level + (a.unit ? " · " + a.unit : "")));
  box.replaceChildren(close, head, facts, flow,
                      el("h2", "", "Cảnh báo đang mở / Open alerts"), alerts);
  box.classList.add("open");
}
refresh();
setInterval(refresh, POLL);
""".replace("__POLL__", str(POLL_SECONDS))


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
