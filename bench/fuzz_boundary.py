"""Fuzzing the boundary at scale: 10⁶ mutated messages through the worker's boundary.

    .venv/bin/python bench/fuzz_boundary.py [--examples 1000000] [--seed 1] [--jobs 2]

The messages come from the grammar of tests/helpers/mutations.py — valid CloudEvents of
every type mutated field by field, bytes and message keys, and plain junk — driven by a
seeded `random.Random` (the CI property drives the same table through hypothesis, 10⁴
times).  Each job feeds its share into ONE long-lived `WorkerCore` over a dict table
(`--path take`: `boundary.take` with one long-lived `Engine`, keyed or not at random), so
poison accumulates: 10⁶ messages to some 50,000 dossiers, a few of them up to their
5,000-event limit.  The wall clock moves one second per message and every `--tick-every`
messages the timer path runs as the worker's does (`due`, then `on_tick` of each).

Checked, and printed:
  - exceptions escaping the boundary (`on_event`/`take`) or the timer path: must be 0;
  - rejects by reason; "unexpected" (an exception no check named): must be 0 — grouped
    by kind, the shortest message of each printed with the frames that raised it
    (replayed on a fresh core);
  - a rejected message that left a write in the table: must be 0;
  - every `--check-every` messages and at the end: (1) a fresh dossier's valid story fed
    to the poisoned core alerts exactly as on a fresh core; (2) the latest
    `--check-sample` messages, each put into its story on a fresh core (the CI property's
    check): rejected, the story alerts exactly as without it; admitted, none of the
    story's valid events comes back "unexpected".
Generation is timed with the rest: examples/s is the whole loop; "boundary only" is the
time inside `on_event`/`take`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import re
import sys
import time
import traceback
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchlib import emit, environment, rate, table
from prometheus_client import CollectorRegistry

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # tests/helpers

from helpers.mutations import (
    STORIES,
    Case,
    EngineFeed,
    WorkerFeed,
    check_story,
    feed_story,
    poisoned_story,
    random_case,
    same_alerts,
    story_bytes,
)

from streams.contract.events import InvalidEvent, decode_event, type_name
from streams.core.boundary import REASONS, UNEXPECTED, Reject, admit
from streams.core.calendar import to_instant
from streams.core.policy import PolicyBook
from streams.metrics import PipelineMetrics
from streams.policy import builtin_book
from streams.worker.core import WorkerCore

KEEP = 5
"""Failing inputs kept per kind for the report."""


@dataclass
class JobResult:
    examples: int = 0
    seconds: float = 0.0
    boundary_seconds: float = 0.0
    outcomes: Counter[str] = field(default_factory=Counter)
    escapes: list[str] = field(default_factory=list)
    escaped: int = 0
    timer_escaped: int = 0
    timer_rejects: int = 0
    unexpected: Counter[str] = field(default_factory=Counter)
    """By kind: the exception class and its message with the numbers taken out."""
    smallest: dict[str, tuple[int, str]] = field(default_factory=dict)
    """Per kind, the shortest message that earned it (its length, the report)."""
    traces: int = 0
    checks: int = 0
    check_failures: list[str] = field(default_factory=list)
    poison_checks: int = 0
    poison_failures: list[str] = field(default_factory=list)
    dossiers: int = 0


# -- one job ---------------------------------------------------------------------------


class Job:
    def __init__(self, index: int, seed: int, path: str, args: argparse.Namespace) -> None:
        self.book = builtin_book()
        self.index = index
        self.rng = random.Random(seed * 1000 + index)
        self.path = path
        self.args = args
        metrics = PipelineMetrics(CollectorRegistry(), self.book)  # as the worker counts
        self.worker = WorkerFeed(self.book, metrics=metrics) if path == "worker" else None
        self.engine = EngineFeed(self.book) if path == "take" else None
        self.result = JobResult()
        self.recent: deque[Case] = deque(maxlen=args.check_sample)  # for the story check
        self.checks = 0

    def send(self, case: Case) -> list[Any] | Reject:
        if self.engine is not None:
            self.engine.keyed = self.rng.random() < 0.5
            return self.engine.event(case.raw, case.key)
        assert self.worker is not None
        self.worker.wall += 1.0
        return self.worker.event(case.raw, case.key)

    def run(self, n: int) -> JobResult:
        r, args = self.result, self.args
        started = time.perf_counter()
        for i in range(1, n + 1):
            case = random_case(self.rng)
            self.one(case)
            if i % args.tick_every == 0:
                self.timers()
            if i % args.check_every == 0:
                self.check()
        self.check()
        r.examples = n
        r.seconds = time.perf_counter() - started
        r.dossiers = self.dossiers()
        return r

    def dossiers(self) -> int:
        if self.worker is not None:
            return len(self.worker.table)
        assert self.engine is not None
        return sum(1 for _ in self.engine.engine.dossiers)

    def one(self, case: Case) -> None:
        r = self.result
        t0 = time.perf_counter()
        try:
            out = self.send(case)
        except Exception as err:  # what the property forbids: counted, kept, the run goes on
            r.boundary_seconds += time.perf_counter() - t0
            r.escaped += 1
            if len(r.escapes) < KEEP:
                r.escapes.append(f"{type(err).__name__}: {err}\n  {case!r}\n{_frame(err)}")
            return
        r.boundary_seconds += time.perf_counter() - t0
        self.recent.append(case)
        if not isinstance(out, Reject):
            r.outcomes["accepted"] += 1
            return
        r.outcomes[out.reason if out.reason in REASONS else f"?{out.reason}"] += 1
        if out.reason == UNEXPECTED:
            self.unexpected(out, case)
        if self.worker is not None and self.worker.trace:
            r.traces += 1
            self.worker.trace = False

    def unexpected(self, out: Reject, case: Case) -> None:
        r = self.result
        kind = f"{_type(case)}: {out.error}: {re.sub(r'[0-9]+', 'N', out.message[:120])}"
        r.unexpected[kind] += 1
        if kind not in r.smallest or len(case.raw) < r.smallest[kind][0]:
            shown = f"{out.error}: {out.message[:300]}\n  {case!r}\n{where(case)}"
            r.smallest[kind] = (len(case.raw), shown)

    def timers(self) -> None:
        """The worker's timer: every due dossier ticked at its source's stream time."""
        r = self.result
        try:
            if self.worker is not None:
                core, wall = self.worker.core, self.worker.wall
                for key, now in core.due(wall, [0], {0}):
                    out = core.on_tick(key.encode(), str(now).encode(), 0, wall)
                    r.timer_rejects += out.reject is not None
                    self.worker.commit()
            else:
                assert self.engine is not None
                # As replay does: the stream time is the latest admitted event's.
                last = self.engine.last
                if last is not None:
                    self.engine.engine.advance(to_instant(last.time) + 3600)
        except Exception as err:
            r.timer_escaped += 1
            if len(r.escapes) < KEEP:
                r.escapes.append(f"timer: {type(err).__name__}: {err}\n{_frame(err)}")

    def check(self) -> None:
        self.checks += 1
        r = self.result
        feed = self.worker or self.engine
        assert feed is not None
        dossier = f"FUZZ-CHECK-{self.index}-{self.checks}"
        r.checks += 1
        try:
            got = feed_story(feed, check_story(dossier), dossier)
            ok = _normalised(got, dossier) == CHECK_TRAIL
        except Exception as err:
            ok, got = False, [f"{type(err).__name__}: {err}"]
        if not ok and len(r.check_failures) < KEEP:
            r.check_failures.append(f"{dossier}: {got!r}"[:2000])
        for case in self.recent:
            r.poison_checks += 1
            failure = poison_check(self.book, self.path, case, self.rng)
            if failure and len(r.poison_failures) < KEEP:
                r.poison_failures.append(failure)
        self.recent.clear()


def _normalised(trail: list[Any], dossier: str) -> list[Any]:
    return [step if isinstance(step, str) else same_alerts(step, dossier) for step in trail]


def _fresh(book: PolicyBook, path: str) -> WorkerFeed | EngineFeed:
    return WorkerFeed(book) if path == "worker" else EngineFeed(book)


def _references() -> tuple[list[Any], list[list[Any]]]:
    book = builtin_book()
    check = _normalised(feed_story(WorkerFeed(book), check_story("X"), "X"), "X")
    stories = [
        feed_story(WorkerFeed(book), story_bytes(i), s[0]["subject"]) for i, s in enumerate(STORIES)
    ]
    return check, stories


CHECK_TRAIL, STORY_TRAILS = _references()


def poison_check(book: PolicyBook, path: str, case: Case, rng: random.Random) -> str | None:
    """The CI property's check: the message inside its story on a fresh core.  Rejected,
    the story alerts as without it; admitted, none of the story's valid events may come
    back unexpected."""
    story = case.base[0]
    at = rng.randint(0, len(STORIES[story]))
    try:
        trail, outcome = poisoned_story(_fresh(book, path), story, case, at)
    except Exception as err:
        return f"{type(err).__name__}: {err} (at {at})\n  {case!r}"
    if UNEXPECTED in trail:
        return f"a valid event of story {story} came back unexpected (at {at})\n  {case!r}"
    if isinstance(outcome, Reject) and trail != STORY_TRAILS[story]:
        return f"story {story} alerts otherwise after {outcome} (at {at})\n  {case!r}"
    return None


def _type(case: Case) -> str:
    try:
        return type_name(decode_event(case.raw))
    except InvalidEvent:
        return "?"


def _frame(err: BaseException) -> str:
    frames = traceback.extract_tb(err.__traceback__)
    return "\n".join(f"    {f.filename}:{f.lineno} in {f.name}" for f in frames[-3:])


def where(case: Case) -> str:
    """Replay an unexpected reject on a fresh core outside the boundary: the frames that
    raised (or why it does not reproduce: it needed the long-lived core's state)."""
    core = WorkerCore(builtin_book())
    try:
        event = admit(case.raw, case.key, core.book.bounds)
        core.engine.apply(event)
    except Exception as err:
        return _frame(err)
    return "    (not on a fresh core: it needed the state the earlier messages left)"


def run_job(spec: tuple[int, int, int, str, argparse.Namespace]) -> JobResult:
    index, seed, n, path, args = spec
    return Job(index, seed, path, args).run(n)


# -- the report ------------------------------------------------------------------------


def merge(results: list[JobResult]) -> JobResult:
    total = JobResult()
    for r in results:
        total.examples += r.examples
        total.seconds = max(total.seconds, r.seconds)  # jobs run side by side
        total.boundary_seconds += r.boundary_seconds
        total.outcomes.update(r.outcomes)
        total.escaped += r.escaped
        total.timer_escaped += r.timer_escaped
        total.timer_rejects += r.timer_rejects
        total.escapes += r.escapes
        total.unexpected.update(r.unexpected)
        for kind, (size, shown) in r.smallest.items():
            if kind not in total.smallest or size < total.smallest[kind][0]:
                total.smallest[kind] = (size, shown)
        total.traces += r.traces
        total.checks += r.checks
        total.check_failures += r.check_failures
        total.poison_checks += r.poison_checks
        total.poison_failures += r.poison_failures
        total.dossiers += r.dossiers
    return total


def report(total: JobResult, wall: float, args: argparse.Namespace) -> None:
    n = total.examples
    print(f"\n{n:,} messages in {wall:,.1f} s with {args.jobs} job(s), path {args.path}")
    print(
        f"  {rate(n, wall):,.0f} examples/s overall (generation included);"
        f" boundary only {rate(n, total.boundary_seconds):,.0f}/s per job"
    )
    print(f"  dossiers left in the job tables: {total.dossiers:,}\n")
    rows = [(reason, count, 100 * count / n) for reason, count in total.outcomes.most_common()]
    print(table(["outcome", "messages", "%"], rows))
    unexpected = total.outcomes[UNEXPECTED]
    unknown = sum(c for k, c in total.outcomes.items() if k.startswith("?"))
    checks_ok = not total.check_failures and not total.poison_failures
    print()
    print(
        table(
            ["check", "count", "must be"],
            [
                ("exceptions escaping the boundary", total.escaped, 0),
                ("exceptions escaping the timer path", total.timer_escaped, 0),
                ("timer ticks rejected", total.timer_rejects, 0),
                ('"unexpected" rejects', unexpected, 0),
                ("rejects with a reason outside REASONS", unknown, 0),
                ("rejects that left a write behind", total.traces, 0),
                ("check dossier after the poison, failed", len(total.check_failures), 0),
                ("  checks run", total.checks, "-"),
                ("message put in its story, failed", len(total.poison_failures), 0),
                ("  checks run", total.poison_checks, "-"),
            ],
        )
    )
    if total.unexpected:
        print("\nunexpected rejects by kind, each with the shortest message that earned it:")
        print(table(["kind", "messages"], total.unexpected.most_common()))
    for title, items in (
        ("exceptions", total.escapes),
        ("unexpected rejects (shortest of each kind)", [s for _, s in total.smallest.values()]),
        ("check dossier failures", total.check_failures),
        ("poisoned story failures", total.poison_failures),
    ):
        if items:
            print(f"\nfirst {title}:")
            for item in items[:KEEP]:
                print(f"- {item}")
    met = (
        total.escaped == total.timer_escaped == total.timer_rejects == 0
        and unexpected == unknown == total.traces == 0
        and checks_ok
    )
    print(
        "\nzero exceptions escaping, every reject with a reason, valid events after any"
        f" reject give the right alerts: {'MET' if met else 'NOT MET'}"
    )
    emit(
        {
            "bench": "fuzz_boundary",
            "examples": n,
            "jobs": args.jobs,
            "path": args.path,
            "seed": args.seed,
            "seconds": round(wall, 1),
            "examples_per_s": round(rate(n, wall)),
            "outcomes": dict(total.outcomes),
            "escaped": total.escaped,
            "timer_escaped": total.timer_escaped,
            "unexpected": unexpected,
            "unexpected_kinds": dict(total.unexpected),
            "traces": total.traces,
            "checks": total.checks,
            "check_failures": len(total.check_failures),
            "poison_checks": total.poison_checks,
            "poison_failures": len(total.poison_failures),
            "met": met,
            **environment(),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2, help="processes, each its own core")
    parser.add_argument("--path", choices=["worker", "take"], default="worker")
    parser.add_argument("--check-every", type=int, default=5000)
    parser.add_argument("--check-sample", type=int, default=20)
    parser.add_argument("--tick-every", type=int, default=1000)
    args = parser.parse_args()
    shares = [
        args.examples // args.jobs + (i < args.examples % args.jobs) for i in range(args.jobs)
    ]
    specs = [(i, args.seed, n, args.path, args) for i, n in enumerate(shares)]
    print(f"fuzzing {args.examples:,} messages, seed {args.seed}, {args.jobs} job(s)…", flush=True)
    started = time.perf_counter()
    if args.jobs == 1:
        results = [run_job(specs[0])]
    else:
        with multiprocessing.Pool(args.jobs) as pool:
            results = pool.map(run_job, specs)
    report(merge(results), time.perf_counter() - started, args)


if __name__ == "__main__":
    main()
