"""Memory per open dossier in the engine, deadline index included, with 1,000,000 open.

    .venv/bin/python bench/memory_per_dossier.py

Each dossier gets the usual opening of its story as wire bytes, decoded by
`decode_event` and applied by `Engine.apply` (the real path, so every string a dossier
keeps is the decoder's own copy, as in production): receipt at the One-Stop Unit,
transfer to the handling department within the hour, assignment to an officer there.
Receipts are spread over three weeks of office hours and the clock is not advanced, so
every dossier is open and none is evicted.

* tracemalloc: building 1M dossiers under tracemalloc would take many minutes (it
  traces every transient allocation of the decode/apply path too), so the engine is
  built untraced and then copied under tracemalloc: the containers at full scale (a
  dict with the same million keys inserted in the same order, a list with as many
  appends as the heap: same tables, same spare capacity), and the objects of every
  10th dossier (struct, strings, ints, tuples, bytes, its heap entries) with exactly the
  original's sharing, scaled up.  Ints the dossiers share with the policy's deadline
  cache are not theirs and are not copied, as in the real engine.  The method is checked
  at the end against an engine really built under tracemalloc (--check N dossiers).
* baseline: the sampled copies also go into plain dicts holding the same fields (the
  same value objects) plus (wake, key) heap tuples; the containers likewise at full scale.
* RSS: the growth of the resident set (/proc/self/statm) over the build, as a
  cross-check.  It also holds allocator slack and the deadline cache, which is measured
  on its own (sys.getsizeof over every entry) and shown beside it.
* breakdown: a sys.getsizeof walk over a sample of the original dossiers.
"""

from __future__ import annotations

import argparse
import gc
import operator
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from datetime import date
from typing import Any

import msgspec
from benchlib import emit, environment, rss_bytes, table

from producers.simulator import DEFAULT_PROCEDURES, DEFAULT_STAFF
from streams.core.calendar import date_to_day, day_start, to_iso
from streams.core.dossier import FINISHED, Dossier, Extra
from streams.core.engine import Engine
from streams.core.events import decode_event
from streams.core.policy import PolicyBook
from streams.core.timers import TimerIndex

TARGET_BYTES = 400
START_DAY = date(2025, 9, 8)  # a Monday under Decree 118/2025
WORKING_DAYS = 15  # three weeks of receipts
SOURCE = "dossierwatch-simulator"

_OFFICERS = {unit: [f"O-{unit}-{n}" for n in range(2, count + 1)] for unit, count in DEFAULT_STAFF}
_FIELDS = tuple(Dossier.__struct_fields__)


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


def _policy_cache_entries(book: PolicyBook) -> int:
    # The core kept a per-policy deadline cache until it proved useless (keyed to the
    # second); measure it where a policy still has one.
    return sum(len(getattr(p, "cache", {})) for p in book.policies)


# -- the breakdown: sys.getsizeof over a sample -------------------------------------------


def breakdown(engine: Engine, sample: int, cache_ints: set[int]) -> dict[str, float]:
    """Bytes per dossier by kind of object, over the first `sample` dossiers.

    Objects are counted once however many dossiers of the sample refer to them, so a
    string every dossier shares (a policy's group name) costs next to nothing, while the
    decoder's per-event copies count in full."""
    seen: set[int] = set()
    sizes: Counter[str] = Counter()

    def walk(obj: object, kind: str | None = None) -> None:
        if obj is None or isinstance(obj, bool) or id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, (Dossier, Extra)):
            sizes[type(obj).__name__ + " struct"] += sys.getsizeof(obj)
            for name in obj.__struct_fields__:
                walk(getattr(obj, name), name)
            return
        if isinstance(obj, tuple):
            sizes[f"tuple ({kind})"] += sys.getsizeof(obj)
            for item in obj:
                walk(item, kind)
            return
        label = {str: "str", int: "int", bytes: "bytes"}.get(type(obj), type(obj).__name__)
        if label == "int" and id(obj) in cache_ints:
            label = "int, also held by the deadline cache"
        sizes[label] += sys.getsizeof(obj)

    picked = 0
    for key, d in engine.dossiers.items():
        if picked == sample:
            break
        walk(key)
        walk(d)
        picked += 1
    n = len(engine.dossiers)
    out = {k: v / picked for k, v in sizes.most_common()}
    # The containers, per dossier: the dict's table and the heap list's slots.
    out["dict entry (table share)"] = sys.getsizeof(engine.dossiers) / n
    heap = engine.index._heap  # no public view of the entries; read-only here
    out["heap: list slot"] = sys.getsizeof(heap) / n
    out["heap: (wake, key) tuple"] = (
        sum(sys.getsizeof(e) for e in heap[:sample]) / min(sample, len(heap)) * len(heap) / n
    )
    return out


# -- measuring with tracemalloc -----------------------------------------------------


def traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def _fresh_atom(obj: Any) -> Any:
    """A new object equal to `obj`, or `obj` itself where the interpreter shares it anyway
    (None, bools, small ints, empty and one-char strings, empty bytes)."""
    kind = type(obj)
    if kind is str:
        return (obj + ".")[:-1] if len(obj) > 1 else obj
    if kind is int:
        # Negation copies digit for digit (`obj + 0` would allocate a spare digit).
        return obj if -5 <= obj <= 256 else operator.neg(operator.neg(obj))
    if kind is bytes:
        return bytes(bytearray(obj)) if obj else obj
    if obj is None or kind is bool:
        return obj
    raise TypeError(f"cannot copy {kind.__name__}")


class Replicator:
    """Fresh copies of one dossier's objects with the original's sharing.

    Immutable atoms are copied too (`copy.deepcopy` would return the originals), since
    the point is to allocate them again under tracemalloc.  Sharing within a dossier
    (its key, `id` and heap entries hold one string; `received_at` and `start` one int)
    is found by a linear scan of what it has copied so far: a memo keyed by id() would
    allocate an int per look-up, and tracemalloc makes every allocation dear.  Objects
    whose id is in `keep` (the deadline cache's ints) are not the dossier's: left as they
    are."""

    def __init__(self, keep: set[int]) -> None:
        self.keep = keep
        self.origs: list[Any] = []
        self.copies: list[Any] = []

    def unit(self) -> None:
        """Start on another dossier: it shares nothing with the one before."""
        self.origs.clear()
        self.copies.clear()

    def copy(self, obj: Any) -> Any:
        # A while loop allocates nothing (range and zip objects would, on every call).
        origs = self.origs
        i, n = 0, len(origs)
        while i < n:
            if origs[i] is obj:
                return self.copies[i]
            i += 1
        kind = type(obj)
        new: Any
        if kind is int and id(obj) in self.keep:
            return obj
        if kind is tuple:
            new = tuple([self.copy(x) for x in obj]) if obj else obj
        elif isinstance(obj, msgspec.Struct):
            new = msgspec.structs.replace(obj)  # then every field but shared singletons
            for name in obj.__struct_fields__:
                value = getattr(obj, name)
                if value is not None and not (type(value) is int and -5 <= value <= 256):
                    setattr(new, name, self.copy(value))
        else:
            new = _fresh_atom(obj)
        origs.append(obj)
        self.copies.append(new)
        return new


def cache_int_ids(book: PolicyBook) -> set[int]:
    """Ids of the ints in the policies' deadline caches (its keys hold start and due)."""
    out: set[int] = set()

    def walk(obj: object) -> None:
        if type(obj) is int:
            out.add(id(obj))
        elif type(obj) is tuple:
            for item in obj:
                walk(item)

    for p in book.policies:
        for key, value in getattr(p, "cache", {}).items():
            walk(key)
            walk(value)
    return out


def cache_bytes(book: PolicyBook) -> int:
    """sys.getsizeof over the deadline caches, every object once."""
    seen: set[int] = set()
    total = 0

    def walk(obj: object) -> None:
        nonlocal total
        if id(obj) in seen or obj is None or isinstance(obj, bool):
            return
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if type(obj) is tuple:
            for item in obj:
                walk(item)

    for p in book.policies:
        total += sys.getsizeof(getattr(p, "cache", {}))
        for key, value in getattr(p, "cache", {}).items():
            walk(key)
            walk(value)
    return total


def measure(engine: Engine, book: PolicyBook, every: int) -> dict[str, float]:
    """Bytes per dossier under tracemalloc: containers in full, objects on a sample."""
    keep = cache_int_ids(book)
    entries: dict[str, list[tuple[int, str]]] = {}
    heap = engine.index._heap  # no public view of the entries; read-only here
    for entry in heap:
        entries.setdefault(entry[1], []).append(entry)
    keys = list(engine.dossiers)
    sample = keys[::every]
    n, live = len(keys), sum(1 for d in engine.dossiers.values() if d.wake is not None)

    tracemalloc.start()
    t0 = traced()
    table: dict[str, None] = {}
    for key in keys:
        table[key] = None
    t1 = traced()
    slots: list[tuple[int, str]] = []
    for entry in heap:
        slots.append(entry)
    t2 = traced()
    # The containers' own bookkeeping lists are allocated up front and subtracted.
    rk: list[str] = [""] * len(sample)
    rd: list[Dossier | None] = [None] * len(sample)
    placeholder = (0, "")
    rh = [placeholder] * sum(len(entries.get(k, ())) for k in sample)
    t3 = traced()
    r = Replicator(keep)
    j = 0
    for i, key in enumerate(sample):
        r.unit()
        rk[i] = r.copy(key)
        rd[i] = r.copy(engine.dossiers[key])
        for entry in entries.get(key, ()):
            rh[j] = r.copy(entry)
            j += 1
    r.unit()
    t4 = traced()
    for j in range(len(rh)):  # drop the heap-entry copies, keep the array
        rh[j] = placeholder
    t5 = traced()
    # The baseline: one dict per sampled dossier holding the same value objects.
    store: list[dict[str, object] | None] = [None] * len(sample)
    store_heap: list[tuple[int, str] | None] = [None] * len(sample)
    t6 = traced()
    for i, d in enumerate(rd):
        assert d is not None
        store[i] = {name: getattr(d, name) for name in _FIELDS}
        if d.wake is not None:
            store_heap[i] = (d.wake, rk[i])
    t7 = traced()
    base_slots: list[tuple[int, str]] = []
    for entry in heap[:live]:
        base_slots.append(entry)
    t8 = traced()
    for i in range(len(rd)):  # the structs go; their values live on in the baseline dicts
        rd[i] = None
    t9 = traced()
    tracemalloc.stop()
    m = len(sample)
    values = (t5 - t3 - (t8 - t9)) / m
    return {
        "dict_table": (t1 - t0) / n,
        "heap_slots": (t2 - t1) / n,
        "structs": (t8 - t9) / m,
        "values": values,
        "heap_entries": (t4 - t5) / m,
        "dossiers": (t1 - t0) / n + (t5 - t3) / m,
        "index": (t2 - t1) / n + (t4 - t5) / m,
        "dict_baseline": (t1 - t0 + t8 - t7) / n + (t7 - t6) / m + values,
        "dict_objects": (t7 - t6) / m,
        "sampled": m,
    }


def check(n: int, every: int) -> dict[str, float]:
    """The method's figure against an engine really built under tracemalloc."""
    book = PolicyBook.builtin()
    tracemalloc.start()
    engine = build(n, book)
    t1 = traced()
    engine.index = TimerIndex()
    t2 = traced()
    engine.dossiers = {}
    t3 = traced()
    tracemalloc.stop()
    book = PolicyBook.builtin()
    figures = measure(build(n, book), book, every)
    return {
        "real": (t1 - t3) / n,
        "real_index": (t1 - t2) / n,
        "method": figures["dossiers"] + figures["index"],
        "method_index": figures["index"],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument(
        "--every", type=int, default=10, help="copy every Nth dossier's objects under tracemalloc"
    )
    parser.add_argument("--sample", type=int, default=20_000, help="dossiers in the breakdown")
    parser.add_argument(
        "--check", type=int, default=20_000, help="dossiers in the method check (0: skip)"
    )
    args = parser.parse_args(argv)
    n = args.dossiers

    book = PolicyBook.builtin()
    build(100, PolicyBook.builtin())  # imports, decoders, calendars: not the dossiers' share
    gc.collect()
    r0 = rss_bytes()
    print(f"building {n:,} open dossiers (receipt, transfer, assignment) …", flush=True)
    started = time.perf_counter()
    engine = build(n, book)
    seconds = time.perf_counter() - started
    gc.collect()
    rss_growth = rss_bytes() - r0
    statuses = Counter(d.status for d in engine.dossiers.values())
    n_open = sum(v for k, v in statuses.items() if k not in FINISHED)
    extras = sum(1 for d in engine.dossiers.values() if d.x is not None)
    heap_entries, live = len(engine.index), engine.index.live
    cache_entries = _policy_cache_entries(book)
    print(
        f"  {n_open:,} of {len(engine.dossiers):,} dossiers open, {extras:,} with Extra;"
        f" heap {heap_entries:,} entries ({live:,} live); built in {seconds:.0f} s"
        f" ({3 * n / seconds:,.0f} events/s)",
        flush=True,
    )
    parts = breakdown(engine, args.sample, cache_int_ids(book))
    cache = cache_bytes(book)

    started = time.perf_counter()
    f = measure(engine, book, args.every)
    print(
        f"  tracemalloc: containers in full, objects of {f['sampled']:,.0f} dossiers,"
        f" in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    del engine
    gc.collect()
    started = time.perf_counter()
    checked = check(args.check, args.every) if args.check else None
    if checked:
        print(f"  method check in {time.perf_counter() - started:.0f} s", flush=True)

    # Figures are per dossier held; every one of them is open here, but say it right.
    scale = n / (n_open or 1)
    engine_total = (f["dossiers"] + f["index"]) * scale
    dict_total = f["dict_baseline"] * scale
    rss_per = rss_growth / (n_open or 1)
    print()
    rows = [
        ("engine.dossiers: dict table share", f["dict_table"]),
        ("engine.dossiers: Dossier structs", f["structs"]),
        ("engine.dossiers: values (str, int, tuple, bytes)", f["values"]),
        ("engine.index: list slots", f["heap_slots"]),
        ("engine.index: (wake, key) entries", f["heap_entries"]),
        ("engine total (tracemalloc)", engine_total / scale),
        ("baseline: dicts + (wake, key) heap, same values", dict_total / scale),
        ("  of which the per-dossier dicts and tuples", f["dict_objects"]),
    ]
    print(
        table(
            ["bytes per open dossier (tracemalloc)", "bytes"],
            [(k, round(v * scale, 1)) for k, v in rows],
        )
    )
    print()
    print(
        table(
            ["bytes per open dossier (RSS)", "bytes"],
            [
                ("RSS growth over the build", round(rss_per, 1)),
                ("  of which the policy deadline cache (getsizeof)", round(cache / n_open, 1)),
            ],
        )
    )
    print()
    print(
        table(
            [f"breakdown (sys.getsizeof, sample of {args.sample:,})", "bytes"],
            [(k, round(v, 1)) for k, v in parts.items()] + [("sum", round(sum(parts.values()), 1))],
        )
    )
    if checked:
        print(
            f"\nmethod check on {args.check:,} dossiers really built under tracemalloc:"
            f" {checked['real']:.1f} bytes real vs {checked['method']:.1f} by this method"
            f" (index {checked['real_index']:.1f} vs {checked['method_index']:.1f})"
        )
    ratio_dict = round(engine_total / dict_total, 3) if dict_total else None
    meets = engine_total <= TARGET_BYTES
    print(
        f"\nengine / dict baseline: {ratio_dict}; target ≤ {TARGET_BYTES} bytes per open dossier:"
        f" {'MET' if meets else 'NOT MET'} ({engine_total:.0f} traced, {rss_per:.0f} RSS)"
    )
    emit(
        {
            "bench": "memory_per_dossier",
            "dossiers": n,
            "open": n_open,
            "bytes_per_open_dossier": round(engine_total, 1),
            "dossiers_bytes_per": round(f["dossiers"] * scale, 1),
            "index_bytes_per": round(f["index"] * scale, 1),
            "rss_bytes_per": round(rss_per, 1),
            "policy_cache_bytes_per": round(cache / (n_open or 1), 1),
            "policy_cache_entries": cache_entries,
            "dict_baseline_bytes_per": round(dict_total, 1),
            "ratio_engine_over_dict": ratio_dict,
            "heap_entries": heap_entries,
            "traced_sample_every": args.every,
            "breakdown": {k: round(v, 1) for k, v in parts.items()},
            "method_check": checked,
            "target_bytes": TARGET_BYTES,
            "meets_target": meets,
            **environment(),
        }
    )


if __name__ == "__main__":
    main()
