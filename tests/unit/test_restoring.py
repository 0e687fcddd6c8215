"""The worker's Faust app restores its tables through `Restore` and delivers records with
`EagerFirst` (streams/worker/restoring.py, streams/worker/delivering.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from streams.web.auth import Guard
from streams.worker import topology
from streams.worker.delivering import EagerFirst
from streams.worker.restoring import Restore
from streams.worker.settings import WorkerSettings


def built(tmp_path: Path) -> Any:
    s = WorkerSettings(store="rocksdb://", data_dir=str(tmp_path), app_id="restore-test")
    return topology.build(s, Guard.single("x" * 32)).app


def holding_one_record(tmp_path: Path) -> tuple[Any, Any]:
    """The worker's app, and its changelog queue with one record not yet taken."""
    app = built(tmp_path)
    queue = app.tables.changelog_queue
    queue.put_nowait("a changelog record")
    return app, queue


def test_the_worker_restores_its_tables_through_restore(tmp_path: Path) -> None:
    assert type(built(tmp_path).tables.recovery) is Restore


def test_the_worker_consumer_delivers_records_eagerly(tmp_path: Path) -> None:
    assert issubclass(built(tmp_path).transport.Consumer, EagerFirst)


def test_a_table_with_a_changelog_callback_is_refused_since_restore_would_skip_it(
    tmp_path: Path,
) -> None:
    async def on_changelog_event(event: Any) -> None:
        return None

    with pytest.raises(ValueError, match="on_changelog_event"):
        built(tmp_path).Table("extra", on_changelog_event=on_changelog_event)


def test_a_changelog_record_queued_when_the_flow_resumes_stays_to_be_taken(
    tmp_path: Path,
) -> None:
    app, queue = holding_one_record(tmp_path)
    app.flow_control.suspend()
    app.flow_control.resume()  # what Faust does once the stream partitions are sought
    assert queue.qsize() == 1


def test_a_revocation_empties_the_changelog_queue_for_the_next_recovery_to_read_again(
    tmp_path: Path,
) -> None:
    app, queue = holding_one_record(tmp_path)
    app.tables.on_partitions_revoked(set())
    assert queue.qsize() == 0
