"""The restore's progress line and /health's word for it (streams/worker/recovering.py)."""

from __future__ import annotations

from streams.worker.recovering import RecoveryProgress, health


def test_a_restore_logs_records_done_of_the_total_with_the_share() -> None:
    progress = RecoveryProgress(every=3.0)
    assert progress.observe(True, 1_000_000, now=10.0) == (
        "recovering: 0 of 1,000,000 records (0 %)"
    )
    assert progress.observe(True, 588_000, now=13.0) == (
        "recovering: 412,000 of 1,000,000 records (41 %)"
    )


def test_progress_lines_come_at_most_once_per_interval() -> None:
    progress = RecoveryProgress(every=3.0)
    lines = [progress.observe(True, 1000 - i, now=i * 0.25) for i in range(24)]
    assert [line is not None for line in lines].count(True) == 2  # at 0 s and at 3 s


def test_the_end_of_a_restore_says_how_many_records_in_how_long() -> None:
    progress = RecoveryProgress()
    progress.observe(True, 5000, now=100.0)
    assert progress.observe(False, 0, now=142.5) == "recovered: 5,000 records in 42.5 s"
    assert not progress.active and progress.observe(False, 0, now=150.0) is None


def test_a_total_first_seen_late_grows_to_the_most_ever_left() -> None:
    progress = RecoveryProgress()
    progress.observe(True, 10, now=0.0)  # highwaters not yet built: a stale count
    progress.observe(True, 900, now=0.25)
    assert progress.as_json() == {"records_done": 0, "records_total": 900}


def test_a_rebalance_with_nothing_to_read_is_no_restore() -> None:
    progress = RecoveryProgress()
    assert progress.observe(True, 0, now=1.0) is None
    assert progress.observe(False, 0, now=2.0) is None


def test_health_says_recovering_with_503_while_tables_are_restored() -> None:
    assert health(None, True) == ("recovering", 503)


def test_health_says_dead_before_recovering_and_ok_otherwise() -> None:
    assert health("agent died: boom", True) == ("dead", 503)
    assert health(None, False) == ("ok", 200)
