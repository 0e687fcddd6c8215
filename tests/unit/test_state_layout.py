"""Versioned state: older layouts are migrated as they are read, newer ones refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from streams.contract.alerts import Alert
from streams.core.dossier import Dossier
from streams.core.layouts import LAYOUT, Migrations, NewerLayoutError, StoredStateError
from streams.core.store import live, pack, pack_clocks, unpack, unpack_clocks
from streams.metrics import PipelineMetrics
from streams.policy import builtin_book
from streams.worker.core import TableStates, WorkerCore

BOOK = builtin_book()
FIXTURE = Path(__file__).parents[1] / "fixtures" / "state" / "layout-1.json"
NEWER = LAYOUT + 1


class Worker:
    """A WorkerCore over plain tables, committing as the agent does (states after alerts,
    then the partition's clocks)."""

    def __init__(self, dossiers: dict[bytes, bytes] | None = None) -> None:
        self.dossiers: dict[bytes, bytes] = dossiers if dossiers is not None else {}
        self.clocks: dict[bytes, bytes] = {}
        self.registry = CollectorRegistry()
        self.core = WorkerCore(
            BOOK, TableStates(self.dossiers), PipelineMetrics(self.registry, BOOK)
        )

    def run(self, steps: list[list[Any]]) -> list[Alert]:
        """The fixture's steps: ["event", CloudEvent JSON, wall] or ["look", wall]."""
        alerts: list[Alert] = []
        for step in steps:
            if step[0] == "event":
                subject = json.loads(step[1])["subject"].encode()
                out = self.core.on_event(step[1].encode(), subject, 0, step[2])
                assert out.reject is None, out.reject
                alerts += out.alerts
                self.commit(step[2])
                continue
            for key, now in self.core.due(step[1], [0], {0}):
                out = self.core.on_tick(key.encode(), str(now).encode(), 0, step[1])
                assert out.reject is None, out.reject
                alerts += out.alerts
                self.commit(step[1])
        return alerts

    def commit(self, wall: float) -> None:
        for key, value in self.core.store.take_writes().items():
            if value is None:
                self.dossiers.pop(key.encode(), None)
            else:
                self.dossiers[key.encode()] = value
        self.clocks[b"0"] = self.core.saved_clocks(0, wall)

    def recover(self, clocks: dict[bytes, bytes]) -> None:
        """What a restarted worker does with its tables (streams/worker/deadlines.py)."""
        self.core.clocks.clear()
        for partition, raw in clocks.items():
            self.core.restore_clocks(int(partition), raw)
        self.core.rebuild()

    def migrations(self, table: str) -> float | None:
        return self.registry.get_sample_value(
            "dossierwatch_state_migrations_total", {"table": table, "from_layout": "1"}
        )


def fixture() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(FIXTURE.read_text())
    return loaded


def test_state_written_by_layout_1_gives_the_dossiers_and_alerts_of_a_fresh_run() -> None:
    """Tables packed by the layout-1 code, read by this one, end the scenario with the same
    dossiers and alerts as a worker that ran it all; the migrations are counted."""
    recorded = fixture()
    fresh = Worker()
    fresh.run(recorded["before"])
    want_alerts = fresh.run(recorded["after"])
    old = {k.encode(): bytes.fromhex(v) for k, v in recorded["tables"]["dossiers"].items()}
    assert {raw[0] for raw in old.values()} == {1}
    upgraded = Worker(old)
    upgraded.recover(
        {k.encode(): bytes.fromhex(v) for k, v in recorded["tables"]["clocks"].items()}
    )
    assert (upgraded.migrations("dossiers") or 0) >= len(old)
    assert upgraded.migrations("clocks") == 1
    got_alerts = upgraded.run(recorded["after"])
    assert want_alerts and got_alerts == want_alerts
    assert upgraded.dossiers.keys() == fresh.dossiers.keys()
    for key in fresh.dossiers:
        assert upgraded.core.store.get(key.decode()) == fresh.core.store.get(key.decode())
    # What the run rewrote is in today's layout.
    assert {raw[0] for raw in upgraded.dossiers.values()} == {LAYOUT}
    assert upgraded.clocks[b"0"][0] == LAYOUT


def test_a_layout_1_value_reads_as_the_same_dossier_as_its_layout_2_rewrite() -> None:
    """Every dossier in the fixture reads the same before and after it is packed again,
    wake-up and source tag included."""
    for key, text in fixture()["tables"]["dossiers"].items():
        raw = bytes.fromhex(text)
        d = unpack(key, raw)
        again = pack(d)
        assert again[0] == LAYOUT and again[1:] == raw[1:]
        assert unpack(key, again) == d and live(again) == live(raw)


def test_a_newer_layout_is_refused_with_one_line_naming_what_to_do() -> None:
    """A dossier or clocks value of a newer layout raises, with the table, both layouts
    and the way out in one line; it is never read as 'no state'."""
    raw = bytes((NEWER,)) + pack(Dossier(id="HS-1"))[1:]
    for read in (lambda: unpack("HS-1", raw), lambda: live(raw)):
        with pytest.raises(NewerLayoutError) as refused:
            read()
        message = str(refused.value)
        assert "\n" not in message
        assert message == (
            f"stored state of table dossiers has layout {NEWER}, this version reads up to"
            f" {LAYOUT}: upgrade the worker or restore from a changelog written by it"
        )
    with pytest.raises(NewerLayoutError, match="table clocks has layout"):
        unpack_clocks(bytes((NEWER,)) + b"\x91\x80")


def test_a_worker_meeting_a_newer_state_stops_instead_of_dead_lettering() -> None:
    """An event or a tick for a dossier stored in a newer layout raises out of the core
    (the worker stops), where a bad event would come back as a reject."""
    w = Worker()
    w.run(fixture()["before"][:1])
    key = next(iter(w.dossiers))
    w.dossiers[key] = bytes((NEWER,)) + w.dossiers[key][1:]
    event = fixture()["before"][0][1].replace('"id":"HS-3-1"', '"id":"HS-3-9"')
    with pytest.raises(NewerLayoutError):
        w.core.on_event(event.encode(), key, 0, 2_000_000.0)
    with pytest.raises(NewerLayoutError):
        w.core.on_tick(key, b"1757293200", 0, 2_000_000.0)
    with pytest.raises(NewerLayoutError):
        w.core.rebuild()


def test_garbage_is_unreadable_not_newer() -> None:
    """A first byte no layout can have (msgpack's, 0xff) or a missing step is an unreadable
    value — skipped by the schedule — not a reason to stop the worker."""
    for raw in (b"\xff\x00", b"\x00" * 17, b"\x01\x02"):
        with pytest.raises(StoredStateError) as err:
            unpack("X", raw)
        assert not isinstance(err.value, NewerLayoutError)
        assert live(raw) is None
    gap = Migrations(current=3)
    with pytest.raises(StoredStateError, match="no migration leads from layout 1 to 2"):
        gap.check("dossiers", 1)


def test_a_registered_migration_runs_in_order_and_is_observed_once_per_value() -> None:
    """A synthetic layout 3 (units stored upper-case), registered only here: a layout-2
    value reads through the test's step, and the observer hears (table, 2) once."""
    book = Migrations(current=3)
    book.register("dossiers", 1)(lambda v: v)
    unit = list(Dossier.__struct_fields__).index("unit")

    @book.register("dossiers", 2)
    def shout(value: dict[str, Any]) -> dict[str, Any]:
        state = list(value["state"])
        state[unit] = state[unit].upper()
        return {**value, "state": state}

    d = Dossier(id="HS-1", unit="a", trail=("b", 10), wake=99)
    heard: list[tuple[str, int]] = []
    got = unpack("HS-1", pack(d), migrations=book, observe=lambda t, v: heard.append((t, v)))
    assert got.unit == "A" and got.wake == 99 and got.trail == ("b", 10)
    assert heard == [("dossiers", 2)]
    with pytest.raises(ValueError, match="already has a step"):
        book.register("dossiers", 2)(lambda v: v)


def test_clocks_of_layout_1_had_no_header_and_restore_the_same_stream_time() -> None:
    """A layout-1 clocks value (bare msgpack) and its layout-2 rewrite restore equal clocks."""
    saved = fixture()["tables"]["clocks"]["0"]
    raw = bytes.fromhex(saved)
    assert raw[0] == 0x91  # no layout byte: layout 1
    assert unpack_clocks(raw) == raw == unpack_clocks(pack_clocks(raw))


def test_migrations_are_logged_once_per_table() -> None:
    """Reading many old values says so in one log line per table, with the layout."""
    old = {k.encode(): bytes.fromhex(v) for k, v in fixture()["tables"]["dossiers"].items()}
    w = Worker(old)
    with capture_logs() as logs:
        for _ in range(3):
            list(w.core.store.states())
    said = [e for e in logs if "older layout" in e["event"]]
    assert [(e["table"], e["from_layout"]) for e in said] == [("dossiers", 1)]
    assert w.migrations("dossiers") == 3 * len(old)
