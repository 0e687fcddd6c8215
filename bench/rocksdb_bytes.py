"""Bytes per open dossier in the worker's RocksDB store, at 1,000,000 open dossiers.

    .venv/bin/python bench/rocksdb_bytes.py [--dossiers 1000000] [--partitions 6]

The packed states of real stories (bench/recovery.py's `template_states`: receipt,
transfer, assignment, as the worker's `TableStates` writes them) are written under
1,000,000 dossier ids into one database per partition, opened with the worker's own
options (streams/worker/rocksdb_store.py: the default budget, one shared cache and
write-buffer manager), in write batches as a restore writes them.  Then flushed and
compacted: bytes on disk (every file of the databases) per dossier, against the
baseline of the raw key and value bytes themselves; and this process's RSS growth over
the writes (the budget bounds it: cache + memtables), with the block cache and
memtable usage RocksDB reports.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from benchlib import emit, environment, rss_bytes, table
from kafka.partitioner.default import murmur2
from recovery import template_states
from rocksdict import WriteBatch

from streams.worker.rocksdb_budget import MIB, RocksDBBudget
from streams.worker.rocksdb_store import BudgetOptions

BATCH = 1000  # Faust's recovery buffer: one write batch per thousand changelog records


def disk_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--templates", type=int, default=20_000)
    parser.add_argument(
        "--block-cache", type=int, help="MiB of block cache (default: the worker's budget)"
    )
    parser.add_argument("--reads", type=int, default=200_000, help="timed random point reads")
    args = parser.parse_args()
    templates = template_states(args.templates)
    folder = Path(tempfile.mkdtemp(prefix="dw-rocksdb-bytes-"))
    budget = RocksDBBudget()
    if args.block_cache is not None:
        budget = replace(budget, block_cache_mb=args.block_cache)
    options = BudgetOptions(budget)
    rss_before = rss_bytes()
    dbs = [options.open(folder / f"dossiers-{p}.db") for p in range(args.partitions)]
    batches = [WriteBatch(raw_mode=True) for _ in dbs]
    payload = 0
    n = args.dossiers
    started = time.perf_counter()
    for i in range(args.dossiers):
        key = f"REC-{i:07d}".encode()
        value = templates[i % len(templates)]
        payload += len(key) + len(value)
        p = (murmur2(key) & 0x7FFFFFFF) % args.partitions
        batches[p].put(key, value)
        if len(batches[p]) >= BATCH:
            dbs[p].write(batches[p])
            batches[p] = WriteBatch(raw_mode=True)
    for db, batch in zip(dbs, batches, strict=True):
        db.write(batch)
    written_s = time.perf_counter() - started
    rss_written = rss_bytes()
    memtables = options.write_buffers.get_usage()
    for db in dbs:
        db.flush()
        db.compact_range(None, None)
    # Point reads as the agent makes them (one dossier's state per event), uniform over
    # every dossier: one pass to warm the cache, one timed.
    rng = random.Random(7)
    picks = [rng.randrange(n) for _ in range(2 * args.reads)]
    keys = [f"REC-{i:07d}".encode() for i in picks]
    parts = [(murmur2(k) & 0x7FFFFFFF) % args.partitions for k in keys]
    for k, p in zip(keys[: args.reads], parts[: args.reads], strict=True):
        dbs[p].get(k)
    started = time.perf_counter()
    for k, p in zip(keys[args.reads :], parts[args.reads :], strict=True):
        dbs[p].get(k)
    read_us = (time.perf_counter() - started) / args.reads * 1e6
    cache = dbs[0].property_int_value("rocksdb.block-cache-usage") or 0
    on_disk = disk_bytes(folder)
    for db in dbs:
        db.close()
    shutil.rmtree(folder)
    print(
        f"{n:,} dossiers in {args.partitions} databases, worker options (cache"
        f" {budget.block_cache_mb} MiB, memtables {budget.memtables_mb} MiB), written in"
        f" {written_s:.1f} s"
    )
    print(
        table(
            ["", "bytes per dossier", "total MiB"],
            [
                ["raw key + value (baseline)", payload / n, payload / MIB],
                ["on disk after flush + compaction", on_disk / n, on_disk / MIB],
                [
                    "RSS growth over the writes",
                    (rss_written - rss_before) / n,
                    (rss_written - rss_before) / MIB,
                ],
            ],
        )
    )
    print(
        f"on disk / raw: {on_disk / payload:.2f}; RocksDB says memtables {memtables / MIB:.1f} MiB,"
        f" block cache {cache / MIB:.1f} MiB (bounds {budget.memtables_mb} and"
        f" {budget.block_cache_mb} MiB)"
    )
    print(
        f"random point reads over all {n:,} dossiers after a warm-up pass: {read_us:.1f} µs"
        f" each (block cache {budget.block_cache_mb} MiB; the rest from the OS page cache)"
    )
    emit(
        {
            "bench": "rocksdb_bytes",
            "dossiers": n,
            "raw_bytes_per_dossier": round(payload / n, 1),
            "disk_bytes_per_dossier": round(on_disk / n, 1),
            "rss_growth_mib": round((rss_written - rss_before) / MIB, 1),
            "memtables_mib": round(memtables / MIB, 1),
            "block_cache_mib": round(cache / MIB, 1),
            "block_cache_budget_mib": budget.block_cache_mb,
            "read_us": round(read_us, 2),
            **environment(),
        }
    )


if __name__ == "__main__":
    main()
