"""The detection core compiled with mypyc (setup.py) against the pure-Python sources: the
same alerts and the same report, byte for byte, on the public logs and the simulator.

The compiled wheel is built once per run (deploy/build-compiled.sh, about half a minute)
and unpacked into a temporary directory; each replay runs in its own interpreter, with
that directory first on PYTHONPATH (compiled) or without it (the editable install's
sources)."""

from __future__ import annotations

import ast
import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.real_logs


def compiled_modules() -> list[str]:
    """setup.py's COMPILED list, as module names."""
    tree = ast.parse((REPO / "setup.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "COMPILED":
            paths: list[str] = ast.literal_eval(node.value)
            return [p.removesuffix(".py").replace("/", ".") for p in paths]
    raise AssertionError("setup.py has no COMPILED list")


@pytest.fixture(scope="session")
def compiled(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The compiled package, unpacked, built once per run even when the tests are spread
    over xdist workers (they share this run's temporary root, under a lock).  A failed
    build fails the tests: never a skip."""
    base = tmp_path_factory.getbasetemp()
    root = base if worker_id == "master" else base.parent  # this run's, not an older one's
    dest = root / "compiled-core"
    with open(root / "compiled-core.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (dest / "BUILT").exists():
            done = subprocess.run(
                ["bash", str(REPO / "deploy/build-compiled.sh"), str(dest)],
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHON": sys.executable},
                timeout=600,
            )
            assert done.returncode == 0, done.stdout + done.stderr
            (dest / "BUILT").touch()
    return dest


def run(code: list[str], cwd: Path, compiled: Path | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if compiled is not None:
        env["PYTHONPATH"] = str(compiled)
    return subprocess.run(
        [sys.executable, *code], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def replay(
    log: str, out: Path, compiled: Path | None, *args: str
) -> tuple[bytes, dict[str, object]]:
    """The replay's alerts file (bytes) and its report without the timings."""
    out.mkdir()
    alerts, report = out / "alerts.jsonl", out / "report.json"
    done = run(
        ["-m", "streams.cli", "replay", log, "--quiet", "--alerts", str(alerts),
         "--report", str(report), *args],
        out,
        compiled,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    figures = json.loads(report.read_text(encoding="utf-8"))
    for timing in ("seconds", "events_per_second"):
        figures.pop(timing, None)
    return alerts.read_bytes(), figures


def test_the_compiled_build_really_loads_every_listed_module_compiled(
    compiled: Path, tmp_path: Path
) -> None:
    """Each module setup.py lists is a C extension under PYTHONPATH, and pure without it."""
    modules = compiled_modules()
    probe = [
        "-c",
        "import importlib, json, sys; "
        "print(json.dumps([importlib.import_module(m).__file__ for m in sys.argv[1:]]))",
        *modules,
    ]
    with_compiled = json.loads(run(probe, tmp_path, compiled).stdout)
    pure = json.loads(run(probe, tmp_path, None).stdout)
    assert len(modules) >= 10
    assert all(f.startswith(str(compiled)) and f.endswith(".so") for f in with_compiled)
    assert all(f.startswith(str(REPO)) and f.endswith(".py") for f in pure)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("receipt.xes.gz", ("--unit-attr", "org:group", "--due-attr", "deadline")),
        ("BPIC15_1.xes.gz", ("--unit-attr", "org:resource", "--officer-attr", "none")),
        ("BPIC20_PermitLog_cleaned.xes.gz", ("--unit-attr", "org:role", "--officer-attr", "none")),
    ],
)
def test_a_public_log_gives_the_same_alerts_and_report_compiled_and_pure(
    name: str,
    args: tuple[str, ...],
    compiled: Path,
    data_path: Callable[[str], str],
    tmp_path: Path,
) -> None:
    """Byte for byte, in the same order: the compiled core changes speed, nothing else."""
    log = data_path(name)
    fast = replay(log, tmp_path / "compiled", compiled, *args)
    pure = replay(log, tmp_path / "pure", None, *args)
    assert fast[0].count(b"\n") > 100
    assert fast == pure


def test_the_simulated_province_gives_the_same_alerts_compiled_and_pure(
    compiled: Path, tmp_path: Path
) -> None:
    """Every story the simulator tells (stalls, consultations, supplements, citizens'
    appointments …) fires the same alerts through both."""
    log = tmp_path / "province.jsonl"
    made = run(
        ["-m", "streams.cli", "simulate", "--seed", "7", "--dossiers", "3000",
         "--output", str(log)],
        tmp_path,
        None,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    fast = replay(str(log), tmp_path / "compiled", compiled)
    pure = replay(str(log), tmp_path / "pure", None)
    rules = {json.loads(line)["rule"] for line in pure[0].splitlines()}
    assert len(rules) >= 8  # the mix really exercises the detectors
    assert fast == pure
