"""GET /api/report on a real HTTP server (the demo's) and `dossierwatch report --api`:
the same figures as a replay of the same events, a unit token's own rows, errors."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from helpers.report_story import october, write_log
from helpers.story import at

from streams import cli
from streams.core.engine import Engine
from streams.policy import builtin_book
from streams.replay.period import replay_period
from streams.reports.figures import COUNTS, PERIOD_COLUMNS
from streams.reports.periods import parse_period
from streams.web.auth import Guard, write_token
from streams.web.demo_server import DemoSite, serve

NOW = "2025-11-10T10:00"
"""The demo's stream time: October is over, so the API judges it whole."""


@dataclass
class Api:
    url: str
    tokens: dict[str, Path]
    log: str
    """The same events as a log file, for the replay to compare with."""

    def get(self, path: str, token: str | None) -> tuple[int, Any]:
        request = urllib.request.Request(self.url + path)
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as err:
            text = err.read().decode()
            return err.code, json.loads(text) if "json" in err.headers["Content-Type"] else text

    def token(self, role: str) -> str:
        return self.tokens[role].read_text().strip()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    """The demo's web server over an engine fed October's stories, as of NOW, with a
    centre token and a token of unit A (each in its own file, as a user keeps it).

    A live API counts what it still holds, as it stands now: a dossier moved to another
    unit after October would be counted in that unit (a replay counts it in October's), so
    the story leaves that one out; and finished dossiers stay 60 days (`--retention-days`),
    so that none of October's has been dropped by NOW."""
    stories = [s for s in october() if s.dossier != "MOVED-IN-NOVEMBER"]
    engine = Engine(builtin_book(), retention_days=60)
    engine.drain(sorted((e for s in stories for e in s.events), key=lambda e: e.time))
    engine.advance(at(NOW))
    token_file = tmp_path / "tokens.toml"
    tokens = {}
    for role in ("centre", "unit:A"):
        held = tmp_path / f"{role.replace(':', '-')}.token"
        held.write_text(write_token(token_file, f"test {role}", [role]) + "\n")
        tokens[role] = held
    site = DemoSite(
        engine,
        engine.book,
        threading.Lock(),
        Guard.from_file(token_file),
        heartbeat=lambda: (None, None, 0.0),
        alerts=lambda _: [],
        stale_after=60,
    )
    server = serve(site, 0)
    try:
        yield Api(
            f"http://127.0.0.1:{server.server_port}",
            tokens,
            write_log(tmp_path / "october.jsonl", stories),
        )
    finally:
        server.shutdown()
        server.server_close()


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Run:
    """`dossierwatch ARGS…` in-process, in a scratch directory: (exit code, out, err)."""
    monkeypatch.chdir(tmp_path)

    def go(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return go


def sheet_rows(path: Path) -> tuple[dict[str, list[Any]], list[Any]]:
    """The workbook's unit rows by unit code and its total row (the counts' columns)."""
    ws = openpyxl.load_workbook(path).active
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    first = next(i for i, r in enumerate(rows) if r[0] and str(r[0]).startswith("Đơn vị")) + 2
    units = {str(r[0]): r[1:] for r in rows[first:-1]}
    return units, rows[-1][1:]


SHEET_KEYS = [*PERIOD_COLUMNS, "on_time_rate_766", "ping_pong", "consulted"]
"""The workbook's columns after the unit, by the API's names."""


def test_api_workbook_and_replay_agree_on_the_same_period(api: Api, run: Run) -> None:
    """The xlsx written from the API has the API's rows and total, its total is the sum of
    its rows, and all of it equals the replay of the same events for October."""
    status, body = api.get("/api/report?period=2025-10", api.token("centre"))
    assert status == 200 and body["period"]["label"] == "2025-10"
    assert body["as_of"] == "2025-11-01T00:00:00+07:00"
    code, out, err = run(
        "report",
        "--api",
        api.url,
        "--token-file",
        str(api.tokens["centre"]),
        "--period",
        "2025-10",
        "--output",
        "api.xlsx",
    )
    assert code == 0, err
    assert out.startswith("wrote api.xlsx: 2025-10, 2 units")
    units, total = sheet_rows(Path("api.xlsx"))
    served = {r["unit"]: [r[k] for k in SHEET_KEYS] for r in body["rows"]}
    assert {u: [pytest.approx(v) for v in row] for u, row in units.items()} == served
    assert [pytest.approx(v) for v in total] == [body["total"][k] for k in SHEET_KEYS]
    assert total[0] == sum(row[0] for row in units.values())

    p = parse_period("2025-10")
    replayed = replay_period(api.log, p.start, p.end, book=builtin_book())
    by_api = {r["unit"]: {k: r[k] for k in COUNTS} for r in body["rows"]}
    assert by_api == replayed.counts
    assert {k: body["total"][k] for k in COUNTS} == {
        k: sum(row[k] for row in replayed.counts.values()) for k in COUNTS
    }


def test_a_unit_token_gets_its_own_units_rows(api: Api, run: Run) -> None:
    """With unit A's token the API and the report hold A's row only; the total is A's."""
    status, body = api.get("/api/report?period=2025-10", api.token("unit:A"))
    assert status == 200
    assert [r["unit"] for r in body["rows"]] == ["A"]
    assert body["total"]["received"] == body["rows"][0]["received"]
    code, _, err = run(
        "report", "--api", api.url, "--token", api.token("unit:A"), "--period", "2025-10",
        "--format", "html",
    )  # fmt: skip
    assert code == 0, err
    page = Path("report-2025-10.html").read_text(encoding="utf-8")
    assert 'data-unit="A"' in page and 'data-unit="B"' not in page


def test_api_and_command_errors_are_one_line(api: Api, run: Run, tmp_path: Path) -> None:
    """The API answers 400 to a bad or future period and 401 without a token; the command
    says each in one line (exit 2), and an unreachable API exits 1."""
    centre = api.token("centre")
    assert api.get("/api/report?period=2025-13", centre)[0] == 400
    status, body = api.get("/api/report", centre)
    assert status == 400 and "period" in body["error"]
    assert api.get("/api/report?period=2025-10", None)[0] == 401

    code, _, err = run("report", "--api", api.url, "--token", centre, "--period", "2030-01")
    assert code == 2 and len(err.splitlines()) == 1 and "has not begun" in err
    code, _, err = run("report", "--api", api.url, "--token", "wrong", "--period", "2025-10")
    assert code == 2 and len(err.splitlines()) == 1 and "401" in err
    code, _, err = run("report", "--api", api.url, "--period", "2025-10")
    assert code == 2 and "--token" in err
    code, _, err = run("report", "--api", "ftp://x", "--token", centre, "--period", "2025-10")
    assert code == 2 and "http" in err
    closed = "http://127.0.0.1:9"  # the discard port: nothing listens there
    code, _, err = run("report", "--api", closed, "--token", centre, "--period", "2025-10")
    assert code == 1 and len(err.splitlines()) == 1 and "cannot reach" in err
    assert not list(tmp_path.glob("report-*"))
