"""Notifications per hour that reach people, before and after the noise work: stall
thresholds per procedure group, a digest per unit and rule, stalls inhibited by a breach
of the same dossier, warnings held in the nightly quiet hours.

    .venv/bin/python bench/alert_volume.py [--dossiers 3000] [--road PATH] [--skip-road]

Two logs: the simulator's province (`dossierwatch simulate`, written to a temporary file)
and the public road-traffic fine log (replayed as `dossierwatch replay --quiet --alerts`
would).  Each is replayed twice through the detection core: with the policy as it was
(one stall threshold) and as it is (`[stall.groups]`).  The alerts, in event time, then
go through a model of Alertmanager run over the routing tree of
deploy/alertmanager/alertmanager.yml as it was (commit BEFORE_COMMIT) and as it is:
routes and `continue`, group_by, group_wait / group_interval / repeat_interval,
inhibit_rules, mute_time_intervals (with their location), and the notification log's
rule for when a group is sent again (Alertmanager's DedupStage: something newly firing,
all resolved, newly resolved with send_resolved, or the repeat interval passed).

"Reaching people" is every notification of a receiver other than the operations
centre's webhook (a system) and `nobody`; one notification per receiver and group flush
(its e-mail, Zalo message and webhook carry the same digest).  The figures are per hour
of the log's span; the ratios are after / before.  The real Alertmanager's behaviour on
the same rules is checked in tests/alerting/test_alert_digest.py.

Targets: at most 0.75x the notifications per hour reaching people on the simulated
province; none of the warnings delivered inside the quiet hours; every breach (critical
alert) still delivered to someone, after as before.
"""

from __future__ import annotations

import argparse
import dataclasses
import heapq
import io
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from benchlib import emit, environment, table

from alerts.labels import alert_labels
from streams.contract.alerts import Alert
from streams.core.policy import PolicyBook
from streams.policy import builtin_book
from streams.replay.run import run_replay

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "deploy" / "alertmanager" / "alertmanager.yml"
BEFORE_COMMIT = "2fcae5bd6159c6d7018148e4f229bc7bf3d9f4ac"
ROAD = REPO.parent / "shared" / "data" / "Road_Traffic_Fine_Management_Process.xes.gz"
SYSTEMS = {"ops-centre", "nobody"}
TARGET_RATIO = 0.75

# -- the routing tree -------------------------------------------------------------------

_MATCHER = re.compile(r'^\s*([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*"(.*)"\s*$')
_DURATION = re.compile(r"(\d+)([smhd])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(text: str) -> int:
    return sum(int(n) * _UNIT[u] for n, u in _DURATION.findall(text))


def matcher(text: str) -> Any:
    """An Alertmanager matcher (`rule="x"`, `level=~"a|b"`, `!=`, `!~`): a missing label
    is the empty string, a regex matches the whole value."""
    found = _MATCHER.match(text)
    assert found, text
    name, op, value = found.groups()
    if op == "=":
        return lambda lb: lb.get(name, "") == value
    if op == "!=":
        return lambda lb: lb.get(name, "") != value
    rx, want = re.compile(value), op == "=~"
    return lambda lb: (rx.fullmatch(lb.get(name, "")) is not None) == want


@dataclass
class Route:
    id: str
    matchers: list[Any]
    receiver: str
    group_by: tuple[str, ...]
    group_wait: int
    group_interval: int
    repeat_interval: int
    mute: tuple[str, ...]
    cont: bool
    children: list[Route] = field(default_factory=list)

    def match(self, lb: dict[str, str]) -> list[Route]:
        """Alertmanager's Route.Match: depth first, `continue` goes on to the siblings."""
        if not all(m(lb) for m in self.matchers):
            return []
        out: list[Route] = []
        for c in self.children:
            found = c.match(lb)
            out += found
            if found and not c.cont:
                break
        return out or [self]


def build(spec: dict[str, Any], parent: Route | None = None, rid: str = "0") -> Route:
    """mute_time_intervals are not inherited (dispatch/route.go); the rest is."""
    gb = spec.get("group_by")
    r = Route(
        id=rid,
        matchers=[matcher(m) for m in spec.get("matchers", [])],
        receiver=spec.get("receiver") or (parent.receiver if parent else ""),
        group_by=tuple(gb) if gb is not None else (parent.group_by if parent else ()),
        group_wait=seconds(spec["group_wait"])
        if "group_wait" in spec
        else (parent.group_wait if parent else 30),
        group_interval=seconds(spec["group_interval"])
        if "group_interval" in spec
        else (parent.group_interval if parent else 300),
        repeat_interval=seconds(spec["repeat_interval"])
        if "repeat_interval" in spec
        else (parent.repeat_interval if parent else 4 * 3600),
        mute=tuple(spec.get("mute_time_intervals", [])),
        cont=bool(spec.get("continue", False)),
    )
    r.children = [build(c, r, f"{rid}.{i}") for i, c in enumerate(spec.get("routes", []))]
    return r


@dataclass
class Interval:
    """One time_intervals entry: times of day (minutes) and weekdays, in a location."""

    times: list[tuple[int, int]]
    weekdays: set[int] | None
    zone: ZoneInfo

    def holds(self, t: float) -> bool:
        local = datetime.fromtimestamp(t, self.zone)
        if self.weekdays is not None and local.isoweekday() % 7 not in self.weekdays:
            return False
        minute = local.hour * 60 + local.minute
        return not self.times or any(a <= minute < b for a, b in self.times)


_DAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]


def intervals(config: dict[str, Any]) -> dict[str, list[Interval]]:
    out: dict[str, list[Interval]] = {}
    for named in config.get("time_intervals", []) + config.get("mute_time_intervals", []):
        parts = []
        for ti in named["time_intervals"]:
            unknown = set(ti) - {"times", "weekdays", "location"}
            assert not unknown, f"{named['name']}: the model does not read {unknown}"

            def minute(hhmm: str) -> int:
                h, m = hhmm.split(":")
                return int(h) * 60 + int(m)

            days: set[int] | None = None
            if "weekdays" in ti:
                days = set()
                for w in ti["weekdays"]:
                    a, _, b = w.partition(":")
                    lo, hi = _DAYS.index(a), _DAYS.index(b or a)
                    days |= set(range(lo, hi + 1))
            parts.append(
                Interval(
                    [(minute(x["start_time"]), minute(x["end_time"])) for x in ti.get("times", [])],
                    days,
                    ZoneInfo(ti.get("location", "UTC")),
                )
            )
        out[named["name"]] = parts
    return out


# -- Alertmanager over an alert stream ---------------------------------------------------


@dataclass
class Group:
    """One aggregation group, kept so that a flush costs what changed, not its size.

    The notification log's firing set is implicit: an alert counts as told when it has
    been visible (firing, not inhibited) since before the last notification; `fresh`
    holds the visible ones that are not (what makes Alertmanager notify again)."""

    route: Route
    base: float  # first flush; later ones on base + k * group_interval
    visible: set[str] = field(default_factory=set)
    hidden: set[str] = field(default_factory=set)  # firing but inhibited
    fresh: set[str] = field(default_factory=set)
    warnings: int = 0  # visible warnings
    resolved: list[str] = field(default_factory=list)  # since the last flush
    resolved_visible: int = 0
    last: float | None = None  # the last notification
    told_any: bool = False  # it had firing alerts
    next: float | None = None


@dataclass
class Outcome:
    notifications: Counter[str] = field(default_factory=Counter)  # per receiver
    night_warnings: int = 0  # warnings delivered in the quiet hours (20:00–07:00 local)
    delivered_critical: set[str] = field(default_factory=set)
    critical: set[str] = field(default_factory=set)
    hours: Counter[int] = field(default_factory=Counter)  # notifications per local hour
    reasons: Counter[str] = field(default_factory=Counter)  # new, resolved, repeat

    @property
    def people(self) -> int:
        return sum(n for r, n in self.notifications.items() if r not in SYSTEMS)


VN = ZoneInfo("Asia/Ho_Chi_Minh")


def simulate(
    config: dict[str, Any], alerts: list[Alert], tail: float = 86400
) -> tuple[Outcome, float]:
    """Run the alert stream through the config, and `tail` seconds past its last alert
    (what was held overnight goes out); (what was notified, hours spanned)."""
    root = build(config["route"])
    muted_by = intervals(config)
    rules = [
        (
            [matcher(m) for m in r.get("source_matchers", [])],
            [matcher(m) for m in r.get("target_matchers", [])],
            tuple(r.get("equal", [])),
        )
        for r in config.get("inhibit_rules", [])
    ]
    Key = tuple[str, tuple[str, ...]]
    sources: list[Counter[tuple[str, ...]]] = [Counter() for _ in rules]
    targets: list[dict[tuple[str, ...], set[str]]] = [{} for _ in rules]
    # Per firing alert: (rule, equal labels' values, whether it is a source too) for each
    # inhibit rule it is a target of, worked out once when it fires.
    target_of: dict[str, list[tuple[int, tuple[str, ...], bool]]] = {}
    firing: dict[str, dict[str, str]] = {}
    done: set[str] = set()  # resolved ids: the bridge never fires one again
    groups: dict[Key, Group] = {}
    where: dict[str, set[Key]] = {}
    heap: list[tuple[float, int, Key]] = []
    seq = 0
    out = Outcome()
    cache: dict[tuple[Any, ...], list[Route]] = {}

    def routes(lb: dict[str, str]) -> list[Route]:
        key = tuple(sorted((k, v) for k, v in lb.items() if k not in ("alert_id", "dossier")))
        if key not in cache:
            cache[key] = root.match({**lb, "dossier": "x"})
        return cache[key]

    def schedule(gk: Key, at: float) -> None:
        nonlocal seq
        g = groups[gk]
        if g.next is None or at < g.next:
            g.next = at
            seq += 1
            heapq.heappush(heap, (at, seq, gk))

    def soon(g: Group, t: float) -> float:
        if t <= g.base:
            return g.base
        gi = g.route.group_interval
        return g.base + -(-(t - g.base) // gi) * gi

    def inhibited(aid: str) -> bool:
        """A firing source with the same `equal` labels mutes a target; an alert that is
        both never mutes itself (Alertmanager excludes it)."""
        return any(sources[i][key] > int(own) for i, key, own in target_of.get(aid, ()))

    def show(aid: str, t: float) -> None:
        """An inhibited alert is no longer: it is news in each of its groups."""
        for gk in where.get(aid, ()):
            g = groups[gk]
            if aid in g.hidden:
                g.hidden.discard(aid)
                g.visible.add(aid)
                g.fresh.add(aid)
                g.warnings += firing[aid]["severity"] == "warning"
                schedule(gk, soon(g, t))

    def hide(aid: str) -> None:
        for gk in where.get(aid, ()):
            g = groups[gk]
            if aid in g.visible:
                g.visible.discard(aid)
                g.fresh.discard(aid)
                g.warnings -= firing[aid]["severity"] == "warning"
                g.hidden.add(aid)

    def flush(gk: Key, now: float) -> None:
        g = groups[gk]
        g.next = None
        r = g.route
        muted = any(iv.holds(now) for name in r.mute for iv in muted_by[name])
        why = ""
        if muted or not (g.visible or g.resolved_visible):
            pass
        elif g.fresh:
            why = "new"
        elif not g.visible:
            why = "resolved" if g.told_any else ""
        elif g.resolved_visible:
            why = "resolved"
        elif g.last is not None and g.last < now - r.repeat_interval:
            why = "repeat"
        if why:
            out.notifications[r.receiver] += 1
            if r.receiver not in SYSTEMS:
                out.reasons[why] += 1
                local = datetime.fromtimestamp(now, VN).hour
                out.hours[local] += 1
                out.delivered_critical.update(
                    a for a in g.fresh if firing[a]["severity"] == "critical"
                )
                if g.warnings and (local >= 20 or local < 7):
                    out.night_warnings += 1
            g.fresh.clear()
            g.last, g.told_any = now, bool(g.visible)
        for a in g.resolved:
            where[a].discard(gk)
        g.resolved.clear()
        g.resolved_visible = 0
        if not g.visible and not g.hidden:
            del groups[gk]
            return
        if g.fresh:
            schedule(gk, now + r.group_interval)  # held back (quiet hours): try again
        elif g.visible and g.last is not None:
            # The repeat, or (a repeat due in the quiet hours) the next flush after now.
            due = soon(g, g.last + r.repeat_interval + 1)
            schedule(gk, max(due, now + r.group_interval))

    stream = sorted(
        ((datetime.fromisoformat(a.at).timestamp(), i, a) for i, a in enumerate(alerts)),
        key=lambda x: (x[0], x[1]),
    )
    if not stream:
        return out, 0.0
    first, last = stream[0][0], stream[-1][0] + tail
    for t, _, a in stream:
        while heap and heap[0][0] <= t:
            at, _, gk = heapq.heappop(heap)
            if gk in groups and groups[gk].next == at:
                flush(gk, at)
        if a.status == "firing":
            if a.id in firing or a.id in done:
                continue
            lb = firing[a.id] = alert_labels(a)
            if lb["severity"] == "critical":
                out.critical.add(a.id)
            newly: list[str] = []  # targets this source now inhibits
            for i, (src, target, equal) in enumerate(rules):
                key = tuple(lb.get(e, "") for e in equal)
                own = all(m(lb) for m in src)
                if own:
                    sources[i][key] += 1
                    newly += targets[i].get(key, ())
                if all(m(lb) for m in target):
                    targets[i].setdefault(key, set()).add(a.id)
                    target_of.setdefault(a.id, []).append((i, key, own))
            for other in newly:
                if inhibited(other):
                    hide(other)
            where[a.id] = set()
            hidden = inhibited(a.id)
            for r in routes(lb):
                gk = (r.id, tuple(lb.get(k, "") for k in r.group_by))
                if gk not in groups:
                    groups[gk] = Group(r, t + r.group_wait)
                g = groups[gk]
                if hidden:
                    g.hidden.add(a.id)
                else:
                    g.visible.add(a.id)
                    g.fresh.add(a.id)
                    g.warnings += lb["severity"] == "warning"
                where[a.id].add(gk)
                schedule(gk, soon(g, t))
        else:
            if a.id not in firing:
                continue
            lb = firing[a.id]
            done.add(a.id)
            for gk in where.get(a.id, ()):
                g = groups[gk]
                if a.id in g.visible:
                    g.visible.discard(a.id)
                    g.fresh.discard(a.id)
                    g.warnings -= lb["severity"] == "warning"
                    g.resolved_visible += 1
                g.hidden.discard(a.id)
                g.resolved.append(a.id)
                schedule(gk, soon(g, t))
            freed: list[str] = []
            for i, (src, target, equal) in enumerate(rules):
                key = tuple(lb.get(e, "") for e in equal)
                if all(m(lb) for m in target):
                    targets[i].get(key, set()).discard(a.id)
                if all(m(lb) for m in src):
                    sources[i][key] -= 1
                    freed += targets[i].get(key, ())
            target_of.pop(a.id, None)
            for other in freed:
                if not inhibited(other):
                    show(other, t)
            del firing[a.id]
    while heap and heap[0][0] <= last:
        at, _, gk = heapq.heappop(heap)
        if gk in groups and groups[gk].next == at:
            flush(gk, at)
    return out, max((last - first) / 3600, 1.0)


# -- the logs ---------------------------------------------------------------------------


def before_book() -> PolicyBook:
    """The built-in policies with one stall threshold for every group, as before."""
    return PolicyBook(
        dataclasses.replace(p, stall_group_working_days={}) for p in builtin_book().policies
    )


def replayed(path: str, book: PolicyBook) -> list[Alert]:
    got: list[Alert] = []
    run_replay(path, book=book, emit=got.append, progress=io.StringIO())
    return got


def before_config() -> dict[str, Any]:
    text = subprocess.run(
        ["git", "show", f"{BEFORE_COMMIT}:deploy/alertmanager/alertmanager.yml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    config: dict[str, Any] = yaml.safe_load(text)
    return config


def measure(name: str, path: str, rows: list[list[str]], result: dict[str, Any]) -> None:
    configs = {"before": before_config(), "after": yaml.safe_load(CONFIG.read_text("utf-8"))}
    books = {"before": before_book(), "after": builtin_book()}
    figures: dict[str, dict[str, float]] = {}
    for side in ("before", "after"):
        started = time.perf_counter()
        alerts = replayed(path, books[side])
        fired = [a for a in alerts if a.status == "firing"]
        out, hours = simulate(configs[side], alerts)
        lost = len(out.critical - out.delivered_critical)
        figures[side] = {
            "alerts_per_hour": len(fired) / hours,
            "stall_alerts": sum(1 for a in fired if a.rule == "stall"),
            "notifications_per_hour": sum(out.notifications.values()) / hours,
            "people_per_hour": out.people / hours,
            "night_warning_notifications": out.night_warnings,
            "critical_not_delivered": lost,
            "hours": hours,
            "seconds": time.perf_counter() - started,
        }
    b, a = figures["before"], figures["after"]

    def ratio(key: str) -> str:
        return f"{a[key] / b[key]:.3f}" if b[key] else "–"

    for key, label in (
        ("alerts_per_hour", "alerts fired / hour (one message each)"),
        ("stall_alerts", "stall alerts"),
        ("notifications_per_hour", "notifications / hour, all receivers"),
        ("people_per_hour", "notifications / hour reaching people"),
        ("night_warning_notifications", "warnings delivered 20:00–07:00"),
        ("critical_not_delivered", "breaches never delivered"),
    ):
        rows.append([name, label, f"{b[key]:,.2f}", f"{a[key]:,.2f}", ratio(key)])
    result[name] = figures


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dossiers", type=int, default=3000)
    ap.add_argument("--road", default=str(ROAD))
    ap.add_argument("--skip-road", action="store_true")
    args = ap.parse_args(list(argv) if argv is not None else None)
    rows: list[list[str]] = []
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        sim = str(Path(tmp) / "province.jsonl")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "streams.cli",
                "simulate",
                "--dossiers",
                str(args.dossiers),
                "--output",
                sim,
            ],
            check=True,
        )
        measure(f"simulated ({args.dossiers:,} dossiers)", sim, rows, result)
    if not args.skip_road:
        measure("road-traffic fines", args.road, rows, result)
    print(table(["log", "figure", "before", "after", "after/before"], rows))
    sim_figs = next(iter(result.values()))
    people = sim_figs["after"]["people_per_hour"] / max(sim_figs["before"]["people_per_hour"], 1e-9)
    night = all(f["after"]["night_warning_notifications"] == 0 for f in result.values())
    kept = all(f["after"]["critical_not_delivered"] == 0 for f in result.values())
    print(
        f"target: notifications reaching people ≤ {TARGET_RATIO}x before on the simulated"
        f" province: {people:.3f}x — {'MET' if people <= TARGET_RATIO else 'NOT MET'}"
    )
    print(f"target: no warning delivered in the quiet hours: {'MET' if night else 'NOT MET'}")
    print(f"target: every breach still delivered: {'MET' if kept else 'NOT MET'}")
    emit(
        {
            "bench": "alert_volume",
            "logs": result,
            "people_ratio_simulated": round(people, 4),
            "targets_met": people <= TARGET_RATIO and night and kept,
            **environment(),
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
