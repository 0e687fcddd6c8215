"""The baseline of bench/pipeline_throughput.py: a Faust agent that only decodes events.

Same broker, same topic, same raw-bytes consumption and msgspec decoding as the worker,
and nothing else: no state, no detectors, no output.
"""

import os
from contextlib import suppress

import faust

from streams.contract.events import InvalidEvent, decode_event

app = faust.App(
    os.environ["BENCH_APP_ID"],
    broker=f"kafka://{os.environ['BENCH_BOOTSTRAP']}",
    store="memory://",
    # Faust's default data directory is "<app id>-data" in the working directory: the
    # repository, when a bench runs from its root.
    datadir=f"/tmp/{os.environ['BENCH_APP_ID']}-data",
    topic_disable_leader=True,
    broker_commit_every=1000,
    broker_commit_interval=1.0,
)
events = app.topic(
    os.environ["BENCH_TOPIC"],
    key_type=bytes,
    value_type=bytes,
    key_serializer="raw",
    value_serializer="raw",
)


@app.agent(events)
async def decode_only(stream: faust.StreamT[bytes]) -> None:
    async for value in stream:
        with suppress(InvalidEvent):
            decode_event(value)


if __name__ == "__main__":
    app.main()
