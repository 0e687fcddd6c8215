"""Start-up races: fresh workers on new topics, a restart, and two workers at once.

    .venv/bin/python bench/startup_race.py [--loops 100]   (about 25 s a loop)

Needs the local broker (`make kafka-up`).  Not run in CI.  Each loop:

1. fresh: a new topic prefix and app id, one worker on topics that do not exist yet,
   until /health shows it owns all the partitions;
2. restart: SIGTERM, the same worker started again, until it owns them all again;
3. pair: two workers of another new prefix and app id started at the same moment (the
   case where Faust used to create a changelog while the consumer subscribed), until both
   answer /health and together own every partition, each partition once.

A loop fails when a worker exits by itself, logs "PartitionsMismatch", "Traceback" or
"crashed" (any case), or is not assigned within --timeout seconds (90).  After each
phase is reached the workers are watched for --settle seconds more (an agent that
crashes right after the assignment leaves the worker up and healthy-looking).  Prints one
line per loop and last `loops N, failures F`; exits 1 if any loop failed.

`--bin` runs another `dossierwatch` (e.g. an older checkout's); `--precreate` first
creates the four topics but not the changelogs, the layout older workers expected.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from streams.worker.settings import WorkerSettings
from streams.worker.topics import ensure_topics, worker_topics

MARKERS = re.compile(r"PartitionsMismatch|Traceback|crashed", re.IGNORECASE)
BIN = Path(sys.executable).with_name("dossierwatch")


class Failure(Exception):
    """One loop's failure: which phase, which worker, what happened."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Worker:
    """One `dossierwatch worker` process, its log file and its /health."""

    def __init__(self, name: str, args: argparse.Namespace, prefix: str, workdir: Path) -> None:
        self.name = name
        self.args = args
        self.prefix = prefix
        self.data_dir = workdir / name
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log = workdir / f"{name}.log"
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.stopping = False

    def start(self) -> None:
        self.port = free_port()
        self.stopping = False
        cmd = [
            self.args.bin,
            "worker",
            "--bootstrap",
            self.args.bootstrap,
            "--topic-prefix",
            self.prefix,
            "--app-id",
            self.prefix.rstrip("-"),
            "--store",
            "memory://",
            "--data-dir",
            str(self.data_dir),
            "--web-port",
            str(self.port),
            "--partitions",
            str(self.args.partitions),
        ]
        with open(self.log, "ab") as out:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    def health(self) -> dict[str, Any] | None:
        try:
            url = f"http://127.0.0.1:{self.port}/health"
            with urllib.request.urlopen(url, timeout=2) as r:
                result: dict[str, Any] = json.loads(r.read())
                return result
        except (OSError, ValueError):
            return None

    def assigned(self) -> list[int]:
        h = self.health()
        return list(h.get("assigned_partitions") or []) if h else []

    def problem(self) -> str | None:
        """Why this worker counts as failed now, or None."""
        if self.proc is not None and not self.stopping and self.proc.poll() is not None:
            return f"{self.name} exited with code {self.proc.returncode}"
        marked = self.marked_line()
        return f"{self.name} logged: {marked}" if marked else None

    def marked_line(self) -> str | None:
        if not self.log.exists():
            return None
        for line in self.log.read_text(errors="replace").splitlines():
            if MARKERS.search(line):
                return line.strip()[:300]
        return None

    def stop(self, timeout: float = 30.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.stopping = True
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise Failure(f"{self.name} did not stop within {timeout:g}s of SIGTERM") from None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def tail(self, lines: int = 8) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def watch(
    phase: str,
    workers: Sequence[Worker],
    reached: Callable[[], bool],
    timeout: float,
    settle: float,
) -> float:
    """Seconds until `reached()`, then `settle` more seconds without a problem."""
    started = time.monotonic()
    deadline = started + timeout
    took: float | None = None
    while True:
        for w in workers:
            problem = w.problem()
            if problem:
                raise Failure(f"{phase}: {problem}\n{w.tail()}")
        now = time.monotonic()
        if took is None and reached():
            took = now - started
        if took is not None and now - started >= took + settle:
            return took
        if took is None and now >= deadline:
            seen = ", ".join(f"{w.name} {w.assigned()}" for w in workers)
            raise Failure(f"{phase}: not assigned within {timeout:g}s ({seen})")
        time.sleep(0.25)


def owns_all(workers: Sequence[Worker], partitions: int) -> Callable[[], bool]:
    def check() -> bool:
        held = [w.assigned() for w in workers]
        if not all(held):
            return False
        together = sorted(p for parts in held for p in parts)
        return together == list(range(partitions))  # all of them, each once

    return check


def one_loop(args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    times: dict[str, float] = {}
    prefixes = [f"race{uuid.uuid4().hex[:8]}-", f"race{uuid.uuid4().hex[:8]}-"]
    workers: list[Worker] = []
    try:
        if args.precreate:
            precreate(args, prefixes)
        single = Worker("fresh", args, prefixes[0], workdir)
        workers.append(single)
        single.start()
        times["fresh"] = watch(
            "fresh", [single], owns_all([single], args.partitions), args.timeout, args.settle
        )

        stop_cleanly("fresh", [single])
        single.name = "restarted"
        single.start()
        times["restart"] = watch(
            "restart", [single], owns_all([single], args.partitions), args.timeout, args.settle
        )
        stop_cleanly("restart", [single])

        pair = [Worker(f"pair-{i}", args, prefixes[1], workdir) for i in (1, 2)]
        workers.extend(pair)
        for w in pair:  # as close together as two Popen calls get
            w.start()
        times["pair"] = watch(
            "pair", pair, owns_all(pair, args.partitions), args.timeout, args.settle
        )
        stop_cleanly("pair", pair)
        return times
    finally:
        for w in workers:
            w.kill()
        cleanup(args, prefixes)


def stop_cleanly(phase: str, workers: Sequence[Worker]) -> None:
    """SIGTERM; what the workers logged while stopping counts too."""
    for w in workers:
        w.stop()
    for w in workers:
        marked = w.marked_line()
        if marked:
            raise Failure(f"{phase} (stopping): {w.name} logged: {marked}\n{w.tail()}")


def settings_for(args: argparse.Namespace, prefix: str) -> WorkerSettings:
    """The settings `dossierwatch worker --topic-prefix prefix` runs with."""
    return WorkerSettings(
        bootstrap=args.bootstrap,
        app_id=prefix.rstrip("-"),
        events_topic=f"{prefix}dossier-events",
        alerts_topic=f"{prefix}dossier-alerts",
        dlq_topic=f"{prefix}dossier-events-dlq",
        ticks_topic=f"{prefix}dossier-ticks",
        partitions=args.partitions,
    )


def precreate(args: argparse.Namespace, prefixes: Sequence[str]) -> None:
    """The four topics but not the changelogs, as kafkactl.sh and the tests make them:
    the set-up in which workers that do not create their topics first used to race."""
    for prefix in prefixes:
        ensure_topics(args.bootstrap, worker_topics(settings_for(args, prefix), tables=()))


def cleanup(args: argparse.Namespace, prefixes: Sequence[str]) -> None:
    """Delete the loop's topics and consumer groups (best effort)."""
    from kafka.admin import KafkaAdminClient

    names = [t.name for p in prefixes for t in worker_topics(settings_for(args, p))]
    try:
        admin = KafkaAdminClient(bootstrap_servers=args.bootstrap, client_id="startup-race")
    except Exception:
        return
    try:
        admin.delete_topics(names, timeout_ms=30_000, raise_errors=False)
        admin.delete_groups([p.rstrip("-") for p in prefixes])
    except Exception:
        pass
    finally:
        admin.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loops", type=int, default=100)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds to get assigned")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds watched afterwards")
    parser.add_argument("--bin", default=str(BIN), help="the dossierwatch command")
    parser.add_argument("--keep-logs", type=Path, help="copy the logs of failed loops here")
    parser.add_argument(
        "--precreate",
        action="store_true",
        help="create the four topics (not the changelogs) first, to run an older worker",
    )
    args = parser.parse_args()

    failures = 0
    for n in range(1, args.loops + 1):
        with tempfile.TemporaryDirectory(prefix="startup-race-") as tmp:
            started = time.monotonic()
            try:
                times = one_loop(args, Path(tmp))
            except Failure as failure:
                failures += 1
                print(f"loop {n}/{args.loops}: FAILED {failure}", flush=True)
                keep_logs(args.keep_logs, Path(tmp), n)
                continue
            except KeyboardInterrupt:
                print(f"interrupted in loop {n}", flush=True)
                args.loops = n - 1
                break
            spans = ", ".join(f"{k} {v:.1f}s" for k, v in times.items())
            total = time.monotonic() - started
            print(f"loop {n}/{args.loops}: ok ({spans}; loop {total:.0f}s)", flush=True)
    print(f"loops {args.loops}, failures {failures}", flush=True)
    return 1 if failures else 0


def keep_logs(target: Path | None, tmp: Path, loop: int) -> None:
    if target is None:
        return
    target.mkdir(parents=True, exist_ok=True)
    for log in tmp.glob("*.log"):
        (target / f"loop{loop}-{log.name}").write_bytes(log.read_bytes())


if __name__ == "__main__":
    sys.exit(main())
