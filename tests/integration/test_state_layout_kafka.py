"""A worker whose changelog holds state of a newer layout refuses to run, in one line."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from conftest import Topics, create_topics, delete_topics
from workers import WorkerProcess, produce

from streams.core.dossier import Dossier
from streams.core.layouts import LAYOUT
from streams.core.store import pack
from streams.worker.topics import changelog_topic


def test_a_changelog_of_a_newer_layout_stops_the_worker_with_one_line(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    """The dossiers changelog has a value of layout LAYOUT+1: the worker recovers it,
    exits non-zero and its last line on stderr says which table, which layouts, what to do."""
    app_id = f"dw-layout-{uuid.uuid4().hex[:8]}"
    changelogs = [changelog_topic(app_id, t) for t in ("dossiers", "clocks")]
    create_topics(
        kafka_bootstrap,
        changelogs,
        topics.partitions,
        {name: {"cleanup.policy": "compact"} for name in changelogs},
    )
    newer = bytes((LAYOUT + 1,)) + pack(Dossier(id="HS-1", wake=1_757_293_200))[1:]
    produce(kafka_bootstrap, changelogs[0], [(b"HS-1", newer)])
    worker = WorkerProcess(
        kafka_bootstrap, topics, tmp_path / "w1", app_id=app_id, log=tmp_path / "w1.log"
    )
    try:
        started = time.monotonic()
        code = worker.proc.wait(60)
        took = time.monotonic() - started
    finally:
        worker.stop()
        delete_topics(kafka_bootstrap, changelogs)
    assert code == 70, worker.tail()
    assert worker.tail(1) == (
        f"dossierwatch worker: stored state of table dossiers has layout {LAYOUT + 1}, this"
        f" version reads up to {LAYOUT}: upgrade the worker or restore from a changelog"
        " written by it"
    )
    assert took < 20, took  # the one line comes at once, not after a 20 s backstop
