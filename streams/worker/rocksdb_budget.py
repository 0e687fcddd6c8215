"""How much memory the worker's RocksDB stores may take: one budget for the whole worker.

Faust opens one RocksDB database per table partition (two tables × every partition the
worker holds, standbys included) and, left to itself, gives each its own 2 GiB block
cache and three 64 MiB memtables: the memory grows with the data until the machine runs
out.  Here a single block cache (index and filter blocks counted inside it) and a single
write-buffer manager (every memtable counted against it) are shared by all of them, so
the worker's RocksDB memory is bounded by `block_cache_mb + memtables_mb` whatever the
number of partitions.  The arithmetic against a 1 GiB worker is in docs/operations.md.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class RocksDBBudget:
    block_cache_mb: int = 16
    """The block cache shared by every table partition: data, index and filter blocks.
    Small on purpose: the agent's reads mostly hit the memtables, and the others come
    from the OS page cache (compressed, reclaimable) for 3.6 µs more a read at 10⁶
    dossiers (bench/rocksdb_bytes.py: 6.7 µs against 3.1 µs with 256 MiB); a big cache
    fills for half an hour with blocks of files since compacted away."""
    memtables_mb: int = 64
    """All memtables together (RocksDB's write-buffer manager): past ~90 % the largest
    is flushed to disk."""
    write_buffer_mb: int = 16
    """One memtable: how much a partition writes before it is flushed to a file."""
    max_write_buffers: int = 2
    """Memtables of one partition at once: the one being written and the one flushing."""
    max_open_files: int = 64
    """Files each partition's database keeps open (-1: all); the rest are reopened when
    read, which costs a read but no memory."""

    def errors(self) -> list[str]:
        """What is wrong with the budget, in the flags' words."""
        errors = []
        for flag, value, least in (
            ("--rocksdb-block-cache", self.block_cache_mb, 1),
            ("--rocksdb-memtables", self.memtables_mb, 1),
            ("--rocksdb-write-buffer", self.write_buffer_mb, 1),
            ("--rocksdb-write-buffers", self.max_write_buffers, 2),
        ):
            if value < least:
                errors.append(f"{flag} must be at least {least}")
        if self.write_buffer_mb > self.memtables_mb:
            errors.append("--rocksdb-write-buffer must not exceed --rocksdb-memtables")
        if self.max_open_files < -1 or self.max_open_files == 0:
            errors.append("--rocksdb-max-open-files must be -1 (no limit) or at least 1")
        return errors
