"""The demo's web UI on a real HTTP server over a finished run: 150 simulated dossiers
paced on a fake clock (no broker, no waiting), served on a free local port behind a guard
with a token for the centre and one for each unit's head."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from producers.simulator import simulate
from streams.core.engine import Engine
from streams.demo import DemoRun, serve_web
from streams.policy import builtin_book
from streams.web.auth import CENTRE, UNIT_PREFIX, Guard, digest, new_token

MONDAY = datetime(2025, 9, 8, 7, 30, tzinfo=timezone(timedelta(hours=7)))


class FakeClock:
    """A monotonic clock that only moves when slept on."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class ServedDemo:
    base: str
    run: DemoRun
    tokens: dict[str, str]
    """Role → its token: `centre` and `unit:<code>` for every unit of the run."""

    def get(self, path: str, role: str | None = CENTRE) -> tuple[int, str]:
        """(status, body) of a GET of `path` (or a full URL) as `role` (None: nobody)."""
        url = path if path.startswith("http") else self.base + path
        request = urllib.request.Request(url, headers={"Accept": "text/html"})
        if role is not None:
            request.add_header("Authorization", f"Bearer {self.tokens[role]}")
        try:
            with urllib.request.urlopen(request, timeout=15) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(errors="replace")


def finished_run(seconds: float = 20) -> DemoRun:
    """A run of 150 simulated dossiers on a fake clock, `seconds` of it (ten days)."""
    clock = FakeClock()
    run = DemoRun(
        Engine(builtin_book()), compression=43200, duration=seconds, clock=clock, sleep=clock.sleep
    )
    run.run(simulate(seed=3, start=MONDAY, dossiers=150, per_working_day=100))
    return run


@contextmanager
def served_demo() -> Iterator[ServedDemo]:
    run = finished_run()
    units = sorted({d.unit for d in run.engine.states() if d.unit})
    tokens = {role: new_token() for role in [CENTRE, *(UNIT_PREFIX + u for u in units)]}
    guard = Guard({digest(t): (role, frozenset({role})) for role, t in tokens.items()})
    server = serve_web(0, run, run.engine.book, guard)
    try:
        yield ServedDemo(f"http://127.0.0.1:{server.server_port}", run, tokens)
    finally:
        server.shutdown()
        server.server_close()
