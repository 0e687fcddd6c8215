"""The dashboards' words about time hold: a panel that says "today" shows today, and the
"since last event" tile is judged in working hours (not red every night)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml
from integration.services import binary

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS = REPO / "deploy" / "grafana" / "dashboards"
RULES = REPO / "deploy" / "prometheus" / "rules" / "alerts.yml"
TODAY = re.compile(r"hôm nay|today", re.IGNORECASE)


def panels() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        board = json.loads(path.read_text(encoding="utf-8"))
        assert board["timezone"] == "Asia/Ho_Chi_Minh", path.name
        for p in board["panels"]:
            out += [(path.stem, q) for q in (p, *p.get("panels", []))]
    return out


def test_panels_that_say_today_show_today() -> None:
    """Every panel whose title says "hôm nay" / "today" has the relative time now/d (from
    local midnight, the dashboards being in Viet Nam time), shown on the panel."""
    today = [(board, p) for board, p in panels() if TODAY.search(p["title"])]
    assert today
    for board, p in today:
        assert p.get("timeFrom") == "now/d", f"{board} / {p['title']}"
        assert not p.get("hideTimeOverride"), f"{board} / {p['title']}"
        assert not p.get("timeShift"), f"{board} / {p['title']}"


def since_last_event() -> dict[str, Any]:
    (panel,) = [p for _, p in panels() if "Since last event" in p["title"]]
    return panel


def test_since_last_event_maps_off_hours_to_a_word_not_a_colour() -> None:
    """Outside working hours the tile's query gives -1, shown as "Ngoài giờ / Off hours"
    in the text colour; in working hours it turns orange at 5 and red at 15 minutes."""
    p = since_last_event()
    defaults = p["fieldConfig"]["defaults"]
    (mapping,) = defaults["mappings"]
    assert mapping["options"]["-1"]["text"] == "Ngoài giờ / Off hours"
    assert mapping["options"]["-1"]["color"] == "text"
    steps = [(s["color"], s["value"]) for s in defaults["thresholds"]["steps"]]
    assert steps == [("green", None), ("orange", 300), ("red", 900)]


def test_since_last_event_counts_working_time_only(tmp_path: Path) -> None:
    """With the last event processed Thursday 07:00 (Viet Nam): at 07:20 (before opening)
    the tile reads off hours; at 07:40 it counts 10 minutes (from 07:30, not 40); at
    10:00 two and a half hours; at 12:00 (lunch) off hours again; at 13:10, 10 minutes
    of the afternoon stretch.  promtool's clock starts at Thursday 07:00 in Viet Nam."""
    expr = since_last_event()["targets"][0]["expr"]
    checks = [("20m", -1), ("40m", 600), ("3h", 9000), ("5h", -1), ("6h10m", 600)]
    spec = {
        "rule_files": [str(RULES)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {
                        "series": "dossierwatch_last_processed_timestamp_seconds"
                        '{job="dossierwatch-worker",instance="w1:6066"}',
                        "values": "0x400",
                    }
                ],
                "promql_expr_test": [
                    {"expr": expr, "eval_time": at, "exp_samples": [{"labels": "{}", "value": v}]}
                    for at, v in checks
                ],
            }
        ],
    }
    test_file = tmp_path / "since_test.yml"
    test_file.write_text(yaml.safe_dump(spec, allow_unicode=True))
    done = subprocess.run(
        [binary("promtool"), "test", "rules", str(test_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
