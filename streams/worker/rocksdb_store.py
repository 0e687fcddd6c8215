"""The worker's RocksDB budget applied to Faust's stores (faust/stores/rocksdb.py).

Faust builds each table's store with its own `RocksDBOptions`, whose `as_options` makes a
new block cache for every database it opens.  Every store of the worker is given one
`BudgetOptions` instead, which hands each database the same cache and the same
write-buffer manager (streams/worker/rocksdb_budget.py says why)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import rocksdict
from faust.stores.rocksdb import RocksDBOptions
from faust.stores.rocksdb import Store as RocksDBStore
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from streams.worker.rocksdb_budget import MIB, RocksDBBudget


class BudgetOptions(RocksDBOptions):
    """Faust's RocksDB options with one cache and one write-buffer manager for all."""

    def __init__(self, budget: RocksDBBudget) -> None:
        super().__init__(
            max_open_files=budget.max_open_files,
            write_buffer_size=budget.write_buffer_mb * MIB,
            max_write_buffer_number=budget.max_write_buffers,
            block_cache_size=budget.block_cache_mb * MIB,
            use_rocksdict=True,
        )
        self.budget = budget
        self.cache = rocksdict.Cache(budget.block_cache_mb * MIB)
        # No stall: a write past the limit forces a flush rather than waiting for one.
        self.write_buffers = rocksdict.WriteBufferManager(budget.memtables_mb * MIB, False)

    def as_options(self) -> Any:
        options = rocksdict.Options(raw_mode=True)
        options.create_if_missing(True)
        options.set_max_open_files(self.budget.max_open_files)
        options.set_write_buffer_size(self.write_buffer_size)
        options.set_target_file_size_base(self.target_file_size_base)
        options.set_max_write_buffer_number(self.max_write_buffer_number)
        options.set_write_buffer_manager(self.write_buffers)
        table = rocksdict.BlockBasedOptions()
        table.set_bloom_filter(self.bloom_filter_size, True)
        table.set_block_cache(self.cache)
        # Index and filter blocks live in the cache too, so that they count against it
        # instead of growing with the data outside any limit; level-0 ones stay pinned
        # there, since every read consults them.
        table.set_cache_index_and_filter_blocks(True)
        table.set_pin_l0_filter_and_index_blocks_in_cache(True)
        table.set_index_type(rocksdict.BlockBasedIndexType.binary_search())
        options.set_block_based_table_factory(table)
        return options


def apply_budget(tables: list[Any], budget: RocksDBBudget) -> BudgetOptions | None:
    """Give every RocksDB-backed table the worker's shared options (before any database
    is opened: Faust opens them on assignment).  None when no table is on RocksDB."""
    options: BudgetOptions | None = None
    for table in tables:
        store = table.data
        if isinstance(store, RocksDBStore):
            options = options or BudgetOptions(budget)
            store.rocksdb_options = options
    return options


class RocksDBMemory(Collector):
    """The worker's RocksDB memory against its budget, read at scrape time: what the
    shared block cache and the memtables hold (RocksDB's own counts, not RSS)."""

    def __init__(self, options: BudgetOptions) -> None:
        self.options = options

    def collect(self) -> Iterator[GaugeMetricFamily]:
        o = self.options
        parts: dict[str, tuple[Any, int]] = {
            "block_cache": (o.cache, o.budget.block_cache_mb),
            "memtables": (o.write_buffers, o.budget.memtables_mb),
        }
        used = GaugeMetricFamily(
            "dossierwatch_rocksdb_memory_bytes",
            "Bytes RocksDB holds in memory, by part: the shared block cache (data, index"
            " and filter blocks) and every table partition's memtables",
            labels=["part"],
        )
        budget = GaugeMetricFamily(
            "dossierwatch_rocksdb_memory_budget_bytes",
            "The worker's RocksDB budget by part (--rocksdb-block-cache, --rocksdb-memtables)",
            labels=["part"],
        )
        for part, (holder, mib) in parts.items():
            used.add_metric([part], holder.get_usage())
            budget.add_metric([part], mib * MIB)
        yield used
        yield budget
