"""Memory per open dossier in the engine, deadline index included, with 1,000,000 open.

    .venv/bin/python bench/memory_per_dossier.py

Each dossier gets the usual opening of its story as wire bytes, decoded by
`decode_event` and applied by `Engine.apply` (the real path): receipt at the One-Stop
Unit, transfer to the handling department within the hour, assignment to an officer
there.  Receipts are spread over three weeks of office hours and the clock is not
advanced, so every dossier is open and none is evicted.

The engine keeps each dossier packed (`streams/core/store.py`: its wake-up and msgpack
state in one bytes object) and files it in the deadline index as one list slot, so its
memory is a handful of objects that can be counted exactly:

* accounting at full scale: `sys.getsizeof` of the store's dict, every key and every
  packed value (rounded up to the allocator's 16-byte size classes, which is what
  pymalloc really hands out for objects this small), and the index's buckets;
* check: an engine of `--check` dossiers really built under tracemalloc (everything it
  keeps, traced from the first event), against the accounting of that same engine;
* baseline, in the same run and under tracemalloc too: the same dossiers kept the way
  the engine kept them before, as `Dossier` objects in a dict with a heap of
  (wake-up, id) tuples;
* RSS: the growth of the resident set (/proc/self/statm) over the full build, as a
  cross-check (it also holds allocator slack).
"""

from __future__ import annotations

import argparse
import gc
import heapq
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from datetime import date

from benchlib import emit, environment, rss_bytes, table

from producers.simulator import DEFAULT_PROCEDURES, DEFAULT_STAFF
from streams.contract.events import decode_event
from streams.core.calendar import DAY, date_to_day, day_start, to_instant, to_iso
from streams.core.dossier import FINISHED, Dossier
from streams.core.engine import Engine
from streams.core.machine import apply_event, wake_hint
from streams.core.policy import PolicyBook
from streams.policy import builtin_book

TARGET_BYTES = 400
START_DAY = date(2025, 9, 8)  # a Monday under Decree 118/2025
WORKING_DAYS = 15  # three weeks of receipts
SOURCE = "dossierwatch-simulator"

_OFFICERS = {unit: [f"O-{unit}-{n}" for n in range(2, count + 1)] for unit, count in DEFAULT_STAFF}


def _working_days(book: PolicyBook) -> list[int]:
    cal = book[book.index_for_day(date_to_day(START_DAY))].calendar
    days: list[int] = []
    day = date_to_day(START_DAY)
    while len(days) < WORKING_DAYS:
        if cal.is_working_day(day):
            days.append(day)
        day += 1
    return days


def events(n: int, book: PolicyBook) -> Iterator[bytes]:
    """Receipt, transfer and assignment of dossier 0, then 1, … as wire bytes.

    Deterministic and cheap (no simulator run): the procedure cycles through the
    simulator's table, the receipt falls between 07:30 and 11:00 on one of the working
    days, transfer 40–100 minutes later, assignment 10–40 minutes after that."""
    days = _working_days(book)
    procs = DEFAULT_PROCEDURES
    for i in range(n):
        dossier = f"HS-{i * 2654435761 % (1 << 40):010x}"  # spread like the simulator's
        proc = procs[i % len(procs)]
        officers = _OFFICERS[proc.unit]
        day = days[i * len(days) // n]
        t0 = day_start(day) + 7 * 3600 + 1800 + (i * 7919) % (3 * 3600 + 1800)
        t1 = t0 + 2400 + (i * 31) % 3600
        t2 = t1 + 600 + (i * 17) % 1800
        yield (
            f'{{"specversion":"1.0","id":"{dossier}-1","source":"{SOURCE}",'
            f'"type":"dossier.received","time":"{to_iso(t0)}","subject":"{dossier}",'
            f'"datacontenttype":"application/json","data":{{"procedure":"{proc.code}",'
            f'"unit":"ONE_STOP","channel":"direct","time_limit":"{proc.time_limit}",'
            f'"procedure_group":"{proc.group}"}}}}'
        ).encode()
        yield (
            f'{{"specversion":"1.0","id":"{dossier}-2","source":"{SOURCE}",'
            f'"type":"dossier.transferred","time":"{to_iso(t1)}","subject":"{dossier}",'
            f'"datacontenttype":"application/json","data":{{"from_unit":"ONE_STOP",'
            f'"to_unit":"{proc.unit}","reason":"for_handling"}}}}'
        ).encode()
        yield (
            f'{{"specversion":"1.0","id":"{dossier}-3","source":"{SOURCE}",'
            f'"type":"dossier.assigned","time":"{to_iso(t2)}","subject":"{dossier}",'
            f'"datacontenttype":"application/json","data":{{"unit":"{proc.unit}",'
            f'"officer":"{officers[i % len(officers)]}"}}}}'
        ).encode()


def build(n: int, book: PolicyBook) -> Engine:
    engine = Engine(book)
    apply = engine.apply
    for raw in events(n, book):
        apply(decode_event(raw))
    return engine


def build_objects(n: int, book: PolicyBook) -> tuple[dict[str, Dossier], list[tuple[int, str]]]:
    """The baseline: dossiers as objects, and a heap of (wake-up, id) tuples."""
    dossiers: dict[str, Dossier] = {}
    heap: list[tuple[int, str]] = []
    retention = 30 * DAY
    for raw in events(n, book):
        event = decode_event(raw)
        t = to_instant(event.time)
        d, _ = apply_event(dossiers.get(event.subject), event, book, t)
        dossiers[event.subject] = d
        hint = wake_hint(d, book[d.policy], retention, t)
        if hint is not None and (d.wake is None or hint < d.wake):
            heapq.heappush(heap, (hint, d.id))
            d.wake = hint
    return dossiers, heap


def _alloc(size: int) -> int:
    """What pymalloc hands out for an object of `size` bytes (16-byte classes up to 512)."""
    return (size + 15) // 16 * 16 if size <= 512 else size


def account(engine: Engine) -> dict[str, float]:
    """Bytes the engine holds per dossier, by part, counted object by object."""
    packed: dict[str, bytes] = engine.dossiers._raw  # type: ignore[attr-defined]
    n = len(packed) or 1
    values = [len(v) for v in packed.values()]
    index_bytes = 0
    for index in engine.lanes.values():  # one per (partition, source)
        buckets = index._buckets
        index_bytes += (
            sys.getsizeof(buckets)
            + sum(_alloc(sys.getsizeof(v)) for v in buckets.values())
            + sum(_alloc(sys.getsizeof(k)) for k in buckets)
            + sys.getsizeof(index._order)
        )
    seen = [len(d.seen) for d in (engine.dossiers.get(k) for k in list(packed)[:2000]) if d]
    parts = {
        "store: dict table share": sys.getsizeof(packed) / n,
        "store: keys (dossier ids)": sum(_alloc(sys.getsizeof(k)) for k in packed) / n,
        "store: packed values": sum(_alloc(sys.getsizeof(v)) for v in packed.values()) / n,
        "index: bucket lists and heap": index_bytes / n,
    }
    parts["total"] = sum(parts.values())
    parts["mean packed value length"] = sum(values) / n
    # Of the packed value: every event's identity, kept for the dossier's life.
    parts["of which event identities (12 bytes an event)"] = sum(seen) / (len(seen) or 1)
    return parts


def traced_build(n: int, book: PolicyBook, what: str) -> tuple[float, object]:
    """Build under tracemalloc; bytes still held afterwards, per dossier, and the result."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    result: object = build(n, book) if what == "engine" else build_objects(n, book)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return held / n, result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument(
        "--check", type=int, default=50_000, help="dossiers built under tracemalloc (0: skip)"
    )
    args = parser.parse_args(argv)
    n = args.dossiers

    book = builtin_book()
    build(100, book)  # imports, decoders, calendars: not the dossiers' share
    build_objects(100, book)
    gc.collect()
    r0 = rss_bytes()
    print(f"building {n:,} open dossiers (receipt, transfer, assignment) …", flush=True)
    started = time.perf_counter()
    engine = build(n, book)
    seconds = time.perf_counter() - started
    gc.collect()
    rss_growth = rss_bytes() - r0
    statuses = Counter(d.status for d in engine.states())
    n_open = sum(v for k, v in statuses.items() if k not in FINISHED)
    entries = sum(len(index) for index in engine.lanes.values())
    live = sum(index.live for index in engine.lanes.values())
    print(
        f"  {n_open:,} of {statuses.total():,} dossiers open; index {entries:,} entries"
        f" ({live:,} live); built in {seconds:.0f} s ({3 * n / seconds:,.0f} events/s)",
        flush=True,
    )
    full = account(engine)
    total_parts = ("store: dict table share", "store: keys (dossier ids)", "store: packed values")
    total_parts += ("index: bucket lists and heap",)
    del engine
    gc.collect()

    checked: dict[str, float] | None = None
    if args.check:
        started = time.perf_counter()
        real, small = traced_build(args.check, book, "engine")
        assert isinstance(small, Engine)
        counted = account(small)["total"]
        del small
        baseline, objects = traced_build(args.check, book, "objects")
        del objects
        checked = {"real": real, "counted": counted, "baseline": baseline}
        print(f"  tracemalloc builds of {args.check:,} in {time.perf_counter() - started:.0f} s")

    scale = n / (n_open or 1)  # every dossier is open here, but say it right
    total = full["total"] * scale
    rss_per = rss_growth / (n_open or 1)
    print()
    print(
        table(
            [f"bytes per open dossier, {n:,} dossiers (counted)", "bytes"],
            [
                (k, round(v * (scale if k in total_parts or k == "total" else 1), 1))
                for k, v in full.items()
            ],
        )
    )
    print()
    rows: list[tuple[str, float]] = [("RSS growth over the build", round(rss_per, 1))]
    if checked:
        rows += [
            (f"engine of {args.check:,}: tracemalloc", round(checked["real"], 1)),
            (f"engine of {args.check:,}: counted", round(checked["counted"], 1)),
            (f"baseline (objects + tuple heap) of {args.check:,}", round(checked["baseline"], 1)),
        ]
    print(table(["cross-checks and baseline", "bytes"], rows))
    ratio = round(checked["real"] / checked["baseline"], 3) if checked else None
    meets = total <= TARGET_BYTES and rss_per <= TARGET_BYTES
    print(
        f"\nengine / object baseline (tracemalloc, same run): {ratio};"
        f" target ≤ {TARGET_BYTES} bytes per open dossier at {n:,}:"
        f" {'MET' if meets else 'NOT MET'} ({total:.0f} counted, {rss_per:.0f} RSS)"
    )
    emit(
        {
            "bench": "memory_per_dossier",
            "dossiers": n,
            "open": n_open,
            "bytes_per_open_dossier": round(total, 1),
            "parts": {k: round(v * scale, 1) for k, v in full.items()},
            "rss_bytes_per": round(rss_per, 1),
            "index_entries": entries,
            "check": checked,
            "ratio_engine_over_objects": ratio,
            "target_bytes": TARGET_BYTES,
            "meets_target": meets,
            **environment(),
        }
    )


if __name__ == "__main__":
    main()
