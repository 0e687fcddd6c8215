"""What a live worker should say, computed with the same core: the model for the Kafka tests.

A worker judges each partition on its own stream clock (the latest event time read from a
source, plus the wall time since).  To know what it will have fired, a test gives every
partition an event at one instant (`pulses`): every clock then stands there, and the
core run over the same events and brought up to that instant gives the expected alerts.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from kafka.partitioner.default import murmur2

from streams.contract.alerts import Alert
from streams.contract.events import DossierEvent, encode_event, event_from_dict
from streams.core.engine import Engine
from streams.policy import builtin_book


def partition_of(key: str, partitions: int) -> int:
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def pulses(when: datetime, partitions: int, source: str = "test") -> list[DossierEvent]:
    """One receipt per partition at `when`, from `source`: every partition's clock of that
    source reaches `when` once they are read (a quiet dossier each, due months later)."""
    keys: dict[int, str] = {}
    i = 0
    while len(keys) < partitions:
        key = f"PULSE-{i}"
        keys.setdefault(partition_of(key, partitions), key)
        i += 1
    return [
        event_from_dict(
            {
                "specversion": "1.0",
                "id": f"{key}-{when.isoformat()}",
                "source": source,
                "type": "dossier.received",
                "time": when.isoformat(),
                "subject": key,
                "data": {"procedure": "P", "unit": "PULSE", "time_limit": "60wd"},
            }
        )
        for key in sorted(keys.values())
    ]


def judged(events: list[DossierEvent], until: int) -> list[Alert]:
    """The core's alerts for these events once stream time has reached `until`."""
    engine = Engine(builtin_book())
    alerts = engine.drain(events)
    return alerts + engine.advance(until)


def keyed(events: list[DossierEvent]) -> list[tuple[bytes | None, bytes]]:
    return [(e.subject.encode(), encode_event(e)) for e in events]


def alert_ids(messages: list[Any], status: str = "firing") -> list[str]:
    return [json.loads(m.value)["id"] for m in messages if json.loads(m.value)["status"] == status]


def firing(alerts: list[Alert]) -> set[str]:
    return {a.id for a in alerts if a.status == "firing"}
