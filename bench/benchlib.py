"""Small helpers shared by the benchmark scripts: timing, tables, the JSON result line.

The scripts are run as `python bench/NAME.py`, which puts bench/ on sys.path, so this
module is imported as a plain top-level module rather than as part of a package.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

_PAGE = os.sysconf("SC_PAGE_SIZE")


def best_of(prepare: Callable[[], Callable[[], T]], repeat: int) -> tuple[float, list[float], T]:
    """Best wall time of `repeat` runs, every run's time, and the last run's result.

    `prepare` builds a fresh run (e.g. a new engine) outside the timed span.  The
    minimum is the figure least disturbed by other work on a 2-core box; a full
    collection first keeps garbage from an earlier part out of this part.
    """
    times: list[float] = []
    last: list[T] = []
    for _ in range(max(1, repeat)):
        last.clear()  # free the previous run's state before the next is built
        run = prepare()
        gc.collect()
        started = time.perf_counter()
        last.append(run())
        times.append(time.perf_counter() - started)
    return min(times), times, last[0]


def rss_bytes() -> int:
    """Resident set size from /proc/self/statm (second field, in pages)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("nan")


def ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else float("nan")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: first column left-aligned, numbers right-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        first = values[0].ljust(widths[0])
        rest = (v.rjust(w) for v, w in zip(values[1:], widths[1:], strict=True))
        return "  ".join((first, *rest)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, cells)])


def _cell(v: object) -> str:
    if isinstance(v, float):
        if v != v:  # NaN
            return "-"
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.3f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def environment() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "core": core_build(),
    }


def core_build() -> str:
    """Says "compiled" when the detection core runs as mypyc's C extensions (`make compiled`,
    then PYTHONPATH=build/compiled), else "pure"."""
    import streams.core.engine  # imported here: benchlib itself needs no project module

    return "compiled" if streams.core.engine.__file__.endswith(".so") else "pure"


def emit(result: dict[str, Any]) -> None:
    """The last line of every script: one JSON object that a collector can parse."""
    sys.stdout.flush()
    print(json.dumps(result, sort_keys=True, default=str))
