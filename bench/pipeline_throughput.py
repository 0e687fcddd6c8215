"""End-to-end events/s through the real broker: one worker with every detector, against
a bare Faust agent that only decodes the same events (same broker, same run).

    .venv/bin/python bench/pipeline_throughput.py [--events 100000]

Events are pre-loaded into a fresh topic; each consumer group then reads all of them
and the time from its first to its last offset commit is measured (start-up excluded).
Target from the issue: worker / bare agent ≥ 0.6.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

from kafka_bench import (
    delete_topics,
    ensure_broker,
    fresh_topics,
    produce_all,
    start_bare_agent,
    start_worker,
    stop,
    time_consumption,
)

from producers.simulator import simulate
from streams.contract.events import encode_event, event_from_dict


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    ensure_broker()
    prefix, topics = fresh_topics("throughput")
    logs = Path(tempfile.mkdtemp(prefix="dw-bench-"))
    try:
        items = []
        for raw in simulate(
            seed=3, start=datetime(2025, 9, 1, 1, tzinfo=UTC), per_working_day=2000
        ):
            e = event_from_dict(raw)
            items.append((e.subject.encode(), encode_event(e)))
            if len(items) >= args.events:
                break
        total = produce_all(topics["events"], items)
        results = {}
        for name in ("bare_agent", "worker"):
            group = f"bench-{name}-{uuid.uuid4().hex[:6]}"
            if name == "worker":
                proc = start_worker(prefix, group, logs / f"{name}.log")
            else:
                proc = start_bare_agent(topics["events"], group, logs / f"{name}.log")
            try:
                seconds, base = time_consumption(group, topics["events"], total, proc)
            finally:
                stop(proc)
            results[name] = (total - base) / seconds
        ratio = results["worker"] / results["bare_agent"]
        print(f"{'consumer':<28}{'events/s':>12}")
        print(f"{'bare Faust agent (decode)':<28}{results['bare_agent']:>12,.0f}")
        print(f"{'worker, all detectors':<28}{results['worker']:>12,.0f}")
        print(
            f"ratio worker / bare agent: {ratio:.2f} (target ≥ 0.6); {total:,} events; logs {logs}"
        )
        print(
            json.dumps(
                {
                    "bench": "pipeline_throughput",
                    "events": total,
                    "bare_agent_eps": round(results["bare_agent"]),
                    "worker_eps": round(results["worker"]),
                    "ratio": round(ratio, 3),
                }
            )
        )
    finally:
        delete_topics(topics.values())


if __name__ == "__main__":
    main()
