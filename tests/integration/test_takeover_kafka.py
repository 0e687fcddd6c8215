"""Takeover after a kill -9 on the real broker, through bench/takeover.py's scenario: two
RocksDB workers, one killed while its dossiers' deadlines are about to fall due."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import takeover

pytestmark = pytest.mark.kafka

CI_BOUND_S = 20.0
"""Well under the 60 s of Faust's defaults, with room for a busy CI machine (the bench's
target is 10 s)."""


def test_the_survivor_of_a_kill_takes_over_within_seconds_losing_and_inventing_no_alert(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    outcome = takeover.run(
        partitions=6,
        dossiers=300,
        lead=1.0,
        window=6.0,
        settle=4.0,
        trickle_rate=10.0,
        workdir=tmp_path,
        grace=15.0,
    )
    assert outcome.killed_partitions, outcome  # the victim held partitions to take over
    assert outcome.ready_s is not None and outcome.ready_s <= CI_BOUND_S, outcome
    assert outcome.first_alert_s is not None and outcome.first_alert_s <= CI_BOUND_S, outcome
    assert outcome.expected == 300 and outcome.lost == 0, outcome
    # No false alarm either: the survivor reads the victim's unacknowledged ticks before
    # the events it re-reads, and must not fire them on states lacking those events.
    assert outcome.unexpected == 0, outcome
