"""How long a fetch waits at the broker for events that are not there yet.

Faust builds its aiokafka consumer with `fetch_max_wait_ms=1500` (not a setting).  The
broker answers one request of a connection at a time, so whatever the worker asks the
partition leader while a fetch waits — the offsets of the seek after a rebalance, the
first fetch of a partition resumed after it — waits behind that fetch.  Measured on a
worker's start: the seek took 1.5 s, the first event came 1.5 s after the flow resumed,
and a deadline due 6 s after its receipt fired 3 to 4 s late (the stream clock of a
partition starts when its first event is read).  With 200 ms the same deadline fired
0.5 to 1.8 s late (the test's own rounding of the receipt's time to the second is up to
1 s of that), and an idle worker used the same CPU, 2.6 % of a core over 30 s, as with
1.5 s: its own 0.2 s timer costs more than the empty fetches.  A busy worker is answered
as soon as events are there, whatever the wait.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka

FETCH_MAX_WAIT_MS = 200


class ShortPollThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's consumer thread, whose consumer's fetches wait at most FETCH_MAX_WAIT_MS."""

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka 0.14 (pinned exactly) keeps the setting here until start() builds its
        # fetcher with it; a version that does not must fail loudly, not wait 1.5 s.
        if not hasattr(consumer, "_fetch_max_wait_ms"):
            raise RuntimeError("aiokafka has no _fetch_max_wait_ms: review polling.py")
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer
