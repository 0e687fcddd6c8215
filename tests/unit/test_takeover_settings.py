"""The worker's takeover timings and RocksDB budget: flags, checks, and the options every
table's RocksDB database is really opened with."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import pytest

from streams.cli.worker import register, settings_from
from streams.worker.rocksdb_budget import MIB, RocksDBBudget
from streams.worker.settings import WorkerSettings


def parsed(*argv: str) -> WorkerSettings:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return settings_from(parser.parse_args(["worker", *argv]))


def test_defaults_give_a_standby_and_a_six_second_session() -> None:
    s = parsed()
    assert (s.standby_replicas, s.session_timeout, s.heartbeat_interval) == (1, 6.0, 1.5)
    assert s.group_instance_id is None and s.membership_errors() == []


def test_flags_set_the_timings_the_membership_and_the_budget() -> None:
    s = parsed(
        "--standby-replicas=0",
        "--session-timeout=10",
        "--heartbeat-interval=2",
        "--group-instance-id=worker-0",
        "--rocksdb-block-cache=64",
        "--rocksdb-max-open-files=-1",
    )
    assert (s.standby_replicas, s.session_timeout, s.heartbeat_interval) == (0, 10.0, 2.0)
    assert s.group_instance_id == "worker-0"
    assert s.rocksdb == replace(RocksDBBudget(), block_cache_mb=64, max_open_files=-1)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"session_timeout": 4.0}, "three heartbeat intervals"),
        ({"session_timeout": 120.0, "rebalance_timeout": 120.0}, "at most 90"),
        ({"rebalance_timeout": 3.0}, "--rebalance-timeout"),
        ({"group_instance_id": " "}, "--group-instance-id"),
        ({"rocksdb": RocksDBBudget(write_buffer_mb=256)}, "--rocksdb-write-buffer"),
        ({"rocksdb": RocksDBBudget(max_write_buffers=1)}, "--rocksdb-write-buffers"),
    ],
)
def test_inconsistent_timings_or_budgets_are_named(change: dict[str, object], says: str) -> None:
    errors = replace(WorkerSettings(), **change).membership_errors()  # type: ignore[arg-type]
    assert any(says in e for e in errors), errors


def test_every_database_shares_one_cache_and_one_write_buffer_manager(tmp_path: Path) -> None:
    from streams.worker.rocksdb_store import BudgetOptions

    options = BudgetOptions(RocksDBBudget(block_cache_mb=32, memtables_mb=16, write_buffer_mb=4))
    first, second = (options.open(tmp_path / name) for name in ("p0", "p1"))
    try:
        for db in (first, second):
            assert db.property_int_value("rocksdb.block-cache-capacity") == 32 * MIB
        first.put(b"k" * 16, b"v" * 4096)
        assert options.write_buffers.get_usage() > 0  # the first one's memtable, counted
        first.flush()
        first.get(b"k" * 16)  # from its file now: blocks go into the cache
        # One cache: what the first database read in, the second sees used.
        used = [db.property_int_value("rocksdb.block-cache-usage") for db in (first, second)]
        assert used[0] > 0 and used[0] == used[1]
        assert options.write_buffers.get_buffer_size() == 16 * MIB
    finally:
        first.close()
        second.close()


def test_a_rocksdb_worker_gives_both_tables_the_budgeted_options(tmp_path: Path) -> None:
    from streams.web.auth import Guard
    from streams.worker import topology
    from streams.worker.rocksdb_store import BudgetOptions

    s = WorkerSettings(store="rocksdb://", data_dir=str(tmp_path), app_id="budget-test")
    t = topology.build(s, Guard.single("x" * 32))
    options = [t.dossiers.data.rocksdb_options, t.clocks.data.rocksdb_options]
    assert isinstance(options[0], BudgetOptions) and options[0] is options[1]
    assert options[0].budget == s.rocksdb


def test_metrics_show_what_the_cache_and_memtables_hold_against_the_budget(
    tmp_path: Path,
) -> None:
    from prometheus_client import CollectorRegistry

    from streams.worker.rocksdb_store import BudgetOptions, RocksDBMemory

    options = BudgetOptions(RocksDBBudget(block_cache_mb=32, memtables_mb=16, write_buffer_mb=4))
    registry = CollectorRegistry()
    registry.register(RocksDBMemory(options))

    def gauge(name: str, part: str) -> float | None:
        return registry.get_sample_value(f"dossierwatch_rocksdb_{name}", {"part": part})

    assert gauge("memory_bytes", "memtables") == 0
    db = options.open(tmp_path / "p0")
    try:
        db.put(b"k" * 16, b"v" * 4096)
        in_memtable = gauge("memory_bytes", "memtables")
        assert in_memtable is not None and in_memtable > 4096
        db.flush()
        db.get(b"k" * 16)
        cached = gauge("memory_bytes", "block_cache")
        assert cached is not None and cached > 4096
    finally:
        db.close()
    assert gauge("memory_budget_bytes", "block_cache") == 32 * MIB
    assert gauge("memory_budget_bytes", "memtables") == 16 * MIB
