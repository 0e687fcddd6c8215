"""The house rules a reader relies on: the core does no I/O and reads no clock, the worker
and replay judge alike, and a replay is the same in any process."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from kafka.partitioner.default import murmur2

from producers.simulator import simulate
from streams.contract.alerts import Alert
from streams.contract.events import encode_event, event_from_dict
from streams.core.engine import Engine
from streams.policy import builtin_book
from streams.replay.run import Replay
from streams.worker.core import TableStates, WorkerCore

REPO = Path(__file__).resolve().parents[2]
CORE = REPO / "streams" / "core"

IO_NAMES = {
    "open",
    "print",
    "input",
    "read_text",
    "write_text",
    "read_bytes",
    "write_bytes",
    "environ",
    "getenv",
    "socket",
    "subprocess",
    "urlopen",
    "files",  # importlib.resources
}
CLOCK_CALLS = {("time", "time"), ("time", "monotonic"), ("datetime", "now"), ("date", "today")}
IO_MODULES = {"os", "socket", "subprocess", "logging", "pathlib", "importlib", "urllib", "time"}


def test_the_core_does_no_io_and_reads_no_clock() -> None:
    """No module of streams/core opens a file, reads the environment, a socket or the wall
    clock, or imports a module for that: time and data come in as arguments."""
    found = []
    for path in sorted(CORE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            where = f"{path.relative_to(REPO)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                module = node.module if isinstance(node, ast.ImportFrom) else None
                for name in [*names, module]:
                    if name and name.split(".")[0] in IO_MODULES:
                        found.append(f"{where}: imports {name}")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if node.func.id in {"open", "print", "input"}:
                    found.append(f"{where}: calls {node.func.id}()")
            elif isinstance(node, ast.Name) and node.id in IO_NAMES - {"open", "print", "input"}:
                found.append(f"{where}: uses {node.id}")
            elif isinstance(node, ast.Attribute):
                if node.attr in IO_NAMES - {"open"}:  # `x.open`: a dossier's open alerts
                    found.append(f"{where}: uses .{node.attr}")
                base = node.value
                if isinstance(base, ast.Name) and (base.id, node.attr) in CLOCK_CALLS:
                    found.append(f"{where}: reads the clock ({base.id}.{node.attr})")
    assert found == []


def _events() -> list[bytes]:
    start = datetime(2025, 9, 1, 1, 0, tzinfo=UTC)
    return [encode_event(event_from_dict(e)) for e in simulate(seed=4, start=start, dossiers=600)]


def _said(alerts: list[Alert]) -> dict[str, list[tuple[str, str]]]:
    by: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for a in alerts:
        by[a.dossier].append((a.id, a.status))
    return {d: sorted(pairs) for d, pairs in by.items()}


def test_the_worker_and_replay_judge_the_same_events_alike() -> None:
    """The same events through the worker's core (six partitions, each with its stream
    clocks, ticks fired as they fall due) and through replay give every dossier the same
    alerts: one engine, one schedule, one clock."""
    lines = _events()
    end = max(event_from_dict(json.loads(raw)).time for raw in lines)
    until = int(end.timestamp()) + 86_400

    got: list[Alert] = []
    replay = Replay(Engine(builtin_book()), got.append)
    replay.stream(enumerate(lines))
    replay.finish(until)

    def partition_of(key: str) -> int:
        return (murmur2(key.encode()) & 0x7FFFFFFF) % 6

    core = WorkerCore(builtin_book(), TableStates({}), partition_of=partition_of)
    live: list[Alert] = []
    for raw in lines:
        body = json.loads(raw)
        key = body["subject"].encode()
        out = core.on_event(raw, key, partition_of(body["subject"]), 0.0)
        assert out.reject is None, out.reject
        live += out.alerts
        # The timer: every partition caught up, the wall clock still (stream time only).
        for name, now in core.due(0.0, range(6), set(range(6))):
            live += core.engine.fire(name, now)
    live += core.engine.advance(until, sorted(core.engine.lanes))
    assert _said(live) == _said(got)
    assert sum(a.status == "firing" for a in got) > 200


def test_a_replay_is_the_same_in_any_process() -> None:
    """Two processes with different hash seeds write the same alerts, byte for byte and in
    the same order, for the same log."""
    log = REPO / "build" / "determinism.jsonl"
    log.parent.mkdir(exist_ok=True)
    log.write_bytes(b"\n".join(_events()) + b"\n")
    digests = []
    for seed in ("1", "2"):
        out = log.with_suffix(f".{seed}.alerts")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "streams.cli",
                "replay",
                str(log),
                "--quiet",
                "--alerts",
                str(out),
            ],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=REPO,
        )
        digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
    assert digests[0] == digests[1]
