"""Memory per open dossier in the engine, deadline index included, with 1,000,000 open.

    .venv/bin/python bench/memory_per_dossier.py

Each dossier gets the usual opening of its story as wire bytes, decoded by
`decode_event` and applied by `Engine.apply` (the real path, so every string a dossier
keeps is the decoder's own copy, as in production): receipt at the One-Stop Unit,
transfer to the handling department within the hour, assignment to an officer there.
Receipts are spread over three weeks of office hours and the clock is not advanced, so
every dossier is open and none is evicted.

* RSS: the growth of the resident set (/proc/self/statm) over the build.  It also holds
  allocator slack and the policy's deadline cache.
* tracemalloc: building 1M dossiers under tracemalloc would take several minutes (it
  traces every transient allocation of the decode/apply path too), so the engine is
  built untraced and its `dossiers` and `index` are then replicated under tracemalloc
  object by object, with exactly the original's sharing (a memo by object id: a string
  the dict key, `Dossier.id` and the heap entry share is copied once).  The bytes
  attributable to each are what tracemalloc sees freed when it is dropped.  The method
  is checked at the end against an engine really built under tracemalloc (--check N
  dossiers).
* baseline: every replicated dossier copied into a plain dict holding the same fields
  (the same value objects), plus a heap of (wake, key) tuples; measured the same way.
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
    return sum(len(p.cache) for p in book.policies)


# -- the breakdown: sys.getsizeof over a sample -------------------------------------------


def breakdown(engine: Engine, sample: int) -> dict[str, float]:
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


# -- the replica --------------------------------------------------------------------


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
    raise TypeError(f"cannot replicate {kind.__name__}")


class Replicator:
    """Fresh copies with the original's sharing, cheap to run under tracemalloc.

    Immutable atoms are copied too (`copy.deepcopy` would return the originals), since
    the point is to allocate everything again under tracemalloc.  Sharing is found by
    identity: within one unit (a dossier with its heap entries, or one cache entry) by a
    linear scan of what the unit has copied so far (a memo keyed by id() would allocate
    an int per look-up, and tracemalloc makes every allocation dear); across units only
    for the atoms of the deadline cache (its entries share strings, and dossiers share its
    ints; dossiers share nothing else).
    """

    def __init__(self) -> None:
        self.origs: list[Any] = []
        self.copies: list[Any] = []
        self.cache_atoms: dict[int, Any] = {}  # id(original) → copy, for the cache's atoms
        self.collecting = False  # True while the cache is copied

    def unit(self) -> None:
        """Start a new unit: nothing copied so far is shared with it, but cache ints."""
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
        if kind is int:
            if -5 <= obj <= 256:
                return obj
            new = self.cache_atoms.get(id(obj))
            if new is None:
                new = _fresh_atom(obj)
                if self.collecting:
                    self.cache_atoms[id(obj)] = new
        elif kind is tuple:
            new = tuple([self.copy(x) for x in obj]) if obj else obj
        elif kind is dict:
            new = {self.copy(k): self.copy(v) for k, v in obj.items()}
        elif isinstance(obj, msgspec.Struct):
            new = msgspec.structs.replace(obj)  # then every field but shared singletons
            for name in obj.__struct_fields__:
                value = getattr(obj, name)
                if value is not None and not (type(value) is int and -5 <= value <= 256):
                    setattr(new, name, self.copy(value))
        elif self.collecting:  # the cache's strings: one "wd" serves every entry
            new = self.cache_atoms.get(id(obj))
            if new is None:
                new = self.cache_atoms[id(obj)] = _fresh_atom(obj)
        else:
            new = _fresh_atom(obj)
        origs.append(obj)
        self.copies.append(new)
        return new


Caches = list[dict[Any, Any]]
Entries = dict[str, list[tuple[int, str]]]


def heap_by_key(engine: Engine) -> Entries:
    """The heap's entries grouped by dossier (made before tracing starts)."""
    out: Entries = {}
    for entry in engine.index._heap:  # no public view of the entries; read-only here
        out.setdefault(entry[1], []).append(entry)
    return out


def replicate_engine(
    engine: Engine, book: PolicyBook, entries: Entries
) -> tuple[dict[str, Dossier], list[tuple[int, str]], Caches]:
    """The dossiers, the heap and the policies' deadline caches, sharing what the
    originals share (the cache's keys are (start, due, kind): ints the dossiers hold too).

    Dossiers go in in the original order and the heap gets as many appends as the
    original, so the dict's table and the list's spare capacity grow as the engine's did.
    """
    r = Replicator()
    r.collecting = True
    caches: Caches = []
    for p in book.policies:
        cache: dict[Any, Any] = {}
        for key, value in p.cache.items():
            r.unit()
            cache[r.copy(key)] = r.copy(value)
        caches.append(cache)
    r.collecting = False
    dossiers: dict[str, Dossier] = {}
    heap: list[tuple[int, str]] = []
    for key, d in engine.dossiers.items():
        r.unit()
        dossiers[r.copy(key)] = r.copy(d)
        for entry in entries.get(key, ()):
            heap.append(r.copy(entry))
    for key, stale in entries.items():
        if key not in engine.dossiers:  # entries of evicted dossiers, not yet popped
            r.unit()
            heap.extend(r.copy(entry) for entry in stale)
    r.cache_atoms.clear()
    return dossiers, heap, caches


def traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def measure(
    dossiers: dict[str, Dossier], heap: list[tuple[int, str]], caches: Caches
) -> dict[str, int]:
    """Bytes freed by dropping the heap, then the dossiers, then the policy caches; and the
    dict baseline, built from the dossiers' own value objects.

    Empties all three.  Values the dossiers share with the deadline cache count with the
    cache (they outlive the dossiers until the cache is cleared)."""
    t1 = traced()
    heap.clear()
    t2 = traced()
    # The baseline shares the value objects, so its containers are measured on their own
    # first and the values once everything that holds them is gone.
    store: dict[str, dict[str, object]] = {}
    store_heap: list[tuple[int, str]] = []
    for key, d in dossiers.items():
        store[key] = {name: getattr(d, name) for name in _FIELDS}
        if d.wake is not None:
            store_heap.append((d.wake, key))
    store_heap.sort()
    t3 = traced()
    dossiers.clear()
    t4 = traced()
    store.clear()
    store_heap.clear()
    t5 = traced()
    for cache in caches:
        cache.clear()
    t6 = traced()
    return {
        "index": t1 - t2,
        "dossiers_bytes": t2 - t5,
        "dict_containers": t3 - t2,
        "dict_baseline": t4 - t5,
        "policy_cache": t5 - t6,
    }


def check(n: int) -> dict[str, float]:
    """The replica's figures against an engine really built under tracemalloc."""
    book = PolicyBook.builtin()
    tracemalloc.start()
    engine = build(n, book)
    dossiers, heap = engine.dossiers, engine.index._heap
    engine.dossiers, engine.index = {}, TimerIndex()
    real = measure(dossiers, heap, [p.cache for p in book.policies])
    tracemalloc.stop()
    book = PolicyBook.builtin()
    engine = build(n, book)  # built again, untraced; then replicated
    entries = heap_by_key(engine)
    tracemalloc.start()
    copy = measure(*replicate_engine(engine, book, entries))
    tracemalloc.stop()
    per = max(n, 1)
    return {
        "real": (real["index"] + real["dossiers_bytes"]) / per,
        "replica": (copy["index"] + copy["dossiers_bytes"]) / per,
        "real_dict": real["dict_baseline"] / per,
        "replica_dict": copy["dict_baseline"] / per,
        "real_cache": real["policy_cache"] / per,
        "replica_cache": copy["policy_cache"] / per,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20_000, help="dossiers in the breakdown")
    parser.add_argument(
        "--check", type=int, default=20_000, help="dossiers in the replica check (0: skip)"
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
    parts = breakdown(engine, args.sample)

    print("replicating under tracemalloc …", flush=True)
    started = time.perf_counter()
    entries = heap_by_key(engine)
    tracemalloc.start()
    figures = measure(*replicate_engine(engine, book, entries))
    tracemalloc.stop()
    del entries
    print(f"  replicated and measured in {time.perf_counter() - started:.0f} s", flush=True)
    cache_bytes = figures["policy_cache"]
    del engine
    gc.collect()
    started = time.perf_counter()
    checked = check(args.check) if args.check else None
    if checked:
        print(f"  replica check in {time.perf_counter() - started:.0f} s", flush=True)

    per = n_open or 1
    engine_total = (figures["index"] + figures["dossiers_bytes"]) / per
    dict_total = figures["dict_baseline"] / per
    rss_per = rss_growth / per
    print()
    rows = [
        ("engine.dossiers (dict + structs + their values)", figures["dossiers_bytes"] / per),
        ("engine.index (heap)", figures["index"] / per),
        ("engine total (tracemalloc)", engine_total),
        ("engine total (RSS growth over the build)", rss_per),
        ("policy deadline cache (tracemalloc; in RSS too)", cache_bytes / per),
        ("baseline: dict per dossier + (wake, key) heap", dict_total),
        ("  of which dict and heap containers alone", figures["dict_containers"] / per),
    ]
    print(table(["bytes per open dossier", "bytes"], [(k, round(v, 1)) for k, v in rows]))
    print()
    print(
        table(
            [f"breakdown (sys.getsizeof, sample of {args.sample:,})", "bytes"],
            [(k, round(v, 1)) for k, v in parts.items()] + [("sum", round(sum(parts.values()), 1))],
        )
    )
    if checked:
        print(
            f"\nreplica check on {args.check:,} dossiers built under tracemalloc: engine"
            f" {checked['real']:.1f} real vs {checked['replica']:.1f} replica bytes;"
            f" dict baseline {checked['real_dict']:.1f} vs {checked['replica_dict']:.1f};"
            f" policy cache {checked['real_cache']:.1f} vs {checked['replica_cache']:.1f}"
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
            "dossiers_bytes_per": round(figures["dossiers_bytes"] / per, 1),
            "index_bytes_per": round(figures["index"] / per, 1),
            "rss_bytes_per": round(rss_per, 1),
            "policy_cache_bytes_per": round(cache_bytes / per, 1),
            "policy_cache_entries": cache_entries,
            "dict_baseline_bytes_per": round(dict_total, 1),
            "ratio_engine_over_dict": ratio_dict,
            "heap_entries": heap_entries,
            "breakdown": {k: round(v, 1) for k, v in parts.items()},
            "replica_check": checked,
            "target_bytes": TARGET_BYTES,
            "meets_target": meets,
            **environment(),
        }
    )


if __name__ == "__main__":
    main()
