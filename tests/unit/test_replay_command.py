"""`dossierwatch replay` on small files: the audit instant, rejects through the boundary."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest
from helpers.story import Story

from streams.cli import main
from streams.contract.events import encode_event
from streams.policy import builtin_book
from streams.replay.run import count_log_events, run_replay


def write(path: Path, lines: list[bytes]) -> str:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return str(path)


def replay(tmp_path: Path, log: str, *args: str) -> dict[str, Any]:
    report = tmp_path / "report.json"
    assert main(["replay", log, "--quiet", "--report", str(report), *args]) == 0
    result: dict[str, Any] = json.loads(report.read_text())
    return result


def story_lines() -> list[bytes]:
    due = Story("HS-1").received("2025-09-08T09:00", unit="A", due="2025-09-10T00:00")
    other = Story("HS-2").received("2025-09-10T00:00", unit="A", time_limit="30wd")
    return [encode_event(e) for e in (*due.events, *other.events)]


def test_open_dossiers_are_judged_as_of_the_last_event_by_default(tmp_path: Path) -> None:
    """A log ending exactly at a due instant: that dossier is not overdue yet, and the
    report says which instant it judged at."""
    r = replay(tmp_path, write(tmp_path / "log.jsonl", story_lines()))
    assert r["judged_at"] == "2025-09-10T00:00:00+07:00"
    assert r["judged_at_source"] == "last event"
    assert r["overdue_at_end"] == 0 and "overdue" not in r["alerts"].get("deadline", {})


def test_until_judges_open_dossiers_as_of_an_audit_instant(tmp_path: Path) -> None:
    """--until a week later: the dossier due meanwhile is overdue and its breach fired."""
    log = write(tmp_path / "log.jsonl", story_lines())
    r = replay(tmp_path, log, "--until", "2025-09-17T00:00")
    assert r["judged_at"] == "2025-09-17T00:00:00+07:00" and r["judged_at_source"] == "--until"
    assert r["overdue_at_end"] == 1 and r["alerts"]["deadline"]["overdue"] == 1


def test_a_bad_event_stops_the_replay_with_its_line_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An event dated in year 1 stops the replay: one line naming file:line and the reason."""
    lines = story_lines()
    lines.insert(1, lines[0].replace(b"2025-09-08", b"0001-09-08").replace(b"HS-1-1", b"X"))
    log = write(tmp_path / "log.jsonl", lines)
    assert main(["replay", log, "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"{log}:2: time_out_of_range" in err


def test_skip_invalid_counts_every_kind_of_reject_and_goes_on(tmp_path: Path) -> None:
    """Poison lines of several kinds are skipped and counted; the valid events still give
    their alerts."""
    lines = story_lines()
    reused = json.loads(lines[0])
    reused["data"]["unit"] = "B"
    poison = [
        b"{not json",
        b'{"x":' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"id":"\xff"}',
        lines[0].replace(b"2025-09-08", b"9999-09-08").replace(b"HS-1-1", b"Y"),
        json.dumps(reused).encode(),
    ]
    log = write(tmp_path / "log.jsonl", [lines[0], *poison, *lines[1:]])
    r = replay(tmp_path, log, "--skip-invalid", "--until", "2025-09-17T00:00")
    assert r["invalid_events"] == len(poison)
    assert r["alerts"]["deadline"]["overdue"] == 1


def test_grace_changes_when_a_replay_fires_not_what(tmp_path: Path) -> None:
    """A source's allowed lateness holds its timers back while the file is read, but the
    audit instant at the end judges everything: the same alerts come out."""
    lines = story_lines()
    later = Story("HS-3").received("2025-09-11T10:00", unit="A", time_limit="30wd").events[0]
    log = write(tmp_path / "log.jsonl", [*lines, encode_event(later)])
    plain, slow = tmp_path / "plain.jsonl", tmp_path / "slow.jsonl"
    replay(tmp_path, log, "--alerts", str(plain))
    replay(tmp_path, log, "--alerts", str(slow), "--grace", "test=172800")
    ids = [json.loads(line)["id"] for line in plain.read_text().splitlines()]
    slow_ids = [json.loads(line)["id"] for line in slow.read_text().splitlines()]
    assert sorted(ids) == sorted(slow_ids) and any("/overdue/" in i for i in ids)


def test_link_base_puts_each_alerts_dossier_page_in_its_url(tmp_path: Path) -> None:
    """--link-base stamps every alert with its dossier's page, id quoted, as the worker
    does; without it the alerts carry no url."""
    lines = story_lines()
    log = write(tmp_path / "log.jsonl", lines)
    linked, bare = tmp_path / "linked.jsonl", tmp_path / "bare.jsonl"
    until = ("--until", "2025-09-17T00:00")
    replay(tmp_path, log, *until, "--alerts", str(linked), "--link-base", "https://dw.example/")
    replay(tmp_path, log, *until, "--alerts", str(bare))
    alerts = [json.loads(line) for line in linked.read_text().splitlines()]
    assert alerts and all(a["url"] == f"https://dw.example/dossiers/{a['dossier']}" for a in alerts)
    assert all(not json.loads(line).get("url") for line in bare.read_text().splitlines())


NAIVE_CSV = """\
case,time,org:group
HS-7,2025-09-08T09:00:00,A
HS-7,2025-09-09T09:00:00,B
"""


def test_a_csv_with_local_times_is_read_in_the_default_zone(tmp_path: Path) -> None:
    """A CSV export without offsets replays in Asia/Ho_Chi_Minh by default, or in the
    zone --timezone names."""
    log = tmp_path / "export.csv"
    log.write_text(NAIVE_CSV)
    r = replay(tmp_path, str(log))
    assert r["first_event"] == "2025-09-08T09:00:00+07:00"
    r = replay(tmp_path, str(log), "--timezone", "UTC")
    assert r["first_event"] == "2025-09-08T16:00:00+07:00"


def test_a_unit_attribute_no_event_has_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--unit-attr naming a column the CSV lacks is one line and exit 2, not an empty
    result."""
    log = tmp_path / "export.csv"
    log.write_text(NAIVE_CSV)
    assert main(["replay", str(log), "--quiet", "--unit-attr", "org:role"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "'org:role'" in err


def test_a_unit_attribute_no_xes_event_has_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same for an XES log, found once the log is read: one line, exit 2."""
    log = tmp_path / "log.xes"
    log.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1.0">\n<trace>'
        '<string key="concept:name" value="HS-8"/><event><string key="org:group" value="A"/>'
        '<date key="time:timestamp" value="2025-09-08T09:00:00+07:00"/></event></trace>\n</log>\n'
    )
    assert main(["replay", str(log), "--quiet", "--unit-attr", "org:role"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no event has the unit attribute 'org:role'" in err


def test_replay_judges_stated_due_dates_by_the_catalogue_legal_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With `--catalog`, procedure 1.002111 has a legal limit of 10 working days, so a
    receipt of Mon 8/9/2025 promising Fri 26/9 is `appointment_beyond_limit`; without the
    catalogue the procedure's limit is unknown and nothing is said."""
    log = tmp_path / "one.jsonl"
    story = Story().received(
        "2025-09-08T09:00", procedure="1.002111", unit="A", time_limit=None, due="2025-09-26T17:00"
    )
    log.write_bytes(b"".join(encode_event(e) + b"\n" for e in story.events))
    catalog = Path(__file__).resolve().parents[2] / "docs/examples/catalog/procedures.csv"
    assert main(["replay", str(log), "--catalog", str(catalog)]) == 0
    assert "appointment_beyond_limit" in capsys.readouterr().out
    assert main(["replay", str(log)]) == 0
    assert "appointment_beyond_limit" not in capsys.readouterr().out


class Terminal(io.StringIO):
    """stderr as a terminal: where the progress bar draws."""

    def isatty(self) -> bool:
        return True


def xes(events: int, *, units: tuple[str, ...] = ("A", "B")) -> str:
    """One trace of `events` events an hour apart, its unit alternating among `units`."""
    body = "".join(
        f'<event><string key="org:group" value="{units[i % len(units)]}"/>'
        f'<date key="time:timestamp" value="2025-09-08T{8 + i:02d}:00:00+07:00"/></event>\n'
        for i in range(events)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1.0">\n<trace>'
        f'<string key="concept:name" value="HS-1"/>\n{body}</trace>\n</log>\n'
    )


def test_the_progress_bar_counts_the_files_events_not_the_dossiers(tmp_path: Path) -> None:
    """A 4-event XES log maps onto more dossier events (a receipt, transfers, the
    completion); on a terminal the bar still ends at 4/4 events, 100%, with a rate."""
    log = tmp_path / "log.xes"
    log.write_text(xes(4))
    term = Terminal()
    report = run_replay(str(log), book=builtin_book(), progress=term)
    assert report["log_events"] == 4 and report["dossier_events"] > 4
    out = term.getvalue()
    assert "4/4" in out and "100%" in out and "events/s" in out
    assert "5/4" not in out


def test_the_progress_bar_stays_off_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    """Off a terminal (a pipe, a CI log) the replay writes nothing to stderr."""
    log = tmp_path / "log.xes"
    log.write_text(xes(4))
    stream = io.StringIO()
    run_replay(str(log), book=builtin_book(), progress=stream)
    assert stream.getvalue() == ""


def test_a_files_events_are_counted_per_format_across_read_chunks(tmp_path: Path) -> None:
    """50,000 XES events (gzip, about 4 MB unpacked: several 1 MiB chunks), JSON Lines
    without their blank lines, CSV rows without the header."""
    big = tmp_path / "big.xes.gz"
    big.write_bytes(gzip.compress(xes(50_000, units=("A",)).encode()))
    assert count_log_events(str(big), "xes") == 50_000
    lines = tmp_path / "log.jsonl"
    lines.write_bytes(b'{"a": 1}\n\n{"a": 2}\n   \n{"a": 3}\n')
    assert count_log_events(str(lines), "jsonl") == 3
    rows = tmp_path / "log.csv"
    rows.write_text("case,time\n1,2025-09-08T09:00:00+07:00\n1,2025-09-08T10:00:00+07:00\n")
    assert count_log_events(str(rows), "csv") == 2
