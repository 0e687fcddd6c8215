"""A worker restoring its table from the changelog says so: /health 503 "recovering" with
how far (not ready), /health/live 200 (alive: no restart for restoring), a progress line in
its log, then "ok" with every dossier known."""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest import Topics, create_topics, delete_topics
from workers import WorkerProcess, produce

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from recovery import changelog, template_states

from streams.worker.topics import COMPACTED, TABLES, changelog_topic

pytestmark = pytest.mark.kafka

DOSSIERS = 40_000
"""About two seconds of restore on this machine (1,000,000 take 46 s, bench/recovery.py):
long enough for /health to be seen saying it more than once."""


def test_health_says_recovering_with_progress_while_the_changelog_is_restored(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    app_id = f"recovery-{uuid.uuid4().hex[:8]}"
    changelogs = [changelog_topic(app_id, t) for t in TABLES]
    create_topics(
        kafka_bootstrap,
        changelogs,
        topics.partitions,
        {name: COMPACTED for name in changelogs},
    )
    worker = None
    try:
        produce(kafka_bootstrap, changelogs[0], list(changelog(DOSSIERS, template_states(200))))
        worker = WorkerProcess(
            kafka_bootstrap,
            topics,
            tmp_path / "data",
            app_id=app_id,
            log=tmp_path / "worker.log",
            store="rocksdb://",
        )
        recovering, live, ready = [], [], None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and ready is None:
            h = worker.health() or {}
            if h.get("status") == "recovering":
                recovering.append(h)
                live.append(worker.health("/health/live") or {})
            elif h.get("status") == "ok" and h.get("dossiers_waiting_for_a_deadline") == DOSSIERS:
                ready = h
            time.sleep(0.1)
        assert ready is not None, worker.tail()
        assert recovering and all(h["http_status"] == 503 for h in recovering), recovering
        # Alive all along: a liveness probe must not restart a worker for restoring.
        assert all("http_status" not in h for h in live), live
        assert any(h.get("status") == "recovering" for h in live), live
        assert worker.health("/health/live") == {"status": "ok"}
        progress = [h["recovery"] for h in recovering if "recovery" in h]
        # The total is what was left at the watch's first look: what Faust read before it
        # is not counted (a sixth of this restore once, on a loaded machine).
        assert progress and 0 < progress[-1]["records_total"] <= DOSSIERS, progress
        assert progress[-1]["records_done"] > progress[0]["records_done"], progress
        log = worker.log.read_text()
        assert "recovering: " in log and "recovered: " in log, worker.tail()
    finally:
        if worker is not None:
            worker.stop()
        delete_topics(kafka_bootstrap, changelogs)
