"""The dead-letter topic: every rejected message whole, with why, where it came from, once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from streams.core.boundary import Reject
from streams.worker.settings import WorkerSettings


class DeadLetters:
    """Sends rejects to the dead-letter topic, each once: after a crash, the events since
    the last commit are read again, and a reject already on the topic is not re-sent."""

    def __init__(self, s: WorkerSettings, send: Callable[..., Awaitable[Any]]) -> None:
        self.s = s
        self.send = send
        self._sent_up_to: dict[int, int] = {}  # partition → last source offset on the DLQ

    def forget(self) -> None:
        self._sent_up_to.clear()  # partitions may have moved: ask the topic again

    async def reject(self, message: Any, key: bytes | None, value: bytes, r: Reject) -> Any:
        partition, offset = message.partition, message.offset
        if message.topic != self.s.events_topic:
            pass  # a forged tick: rare, not worth remembering
        elif partition not in self._sent_up_to:
            loop = asyncio.get_event_loop()
            self._sent_up_to[partition] = await loop.run_in_executor(
                None, self._last_on_topic, partition
            )
        if message.topic == self.s.events_topic:
            if offset <= self._sent_up_to[partition]:
                return None  # dead-lettered before the crash
            self._sent_up_to[partition] = offset
        headers = [
            ("reason", r.reason.encode()),
            ("error_class", r.error.encode()),
            ("error", r.message[:1000].encode("utf-8", "replace")),
            ("source_topic", str(message.topic).encode()),
            ("source_partition", str(partition).encode()),
            ("source_offset", str(offset).encode()),
        ]
        return await self.send(self.s.dlq_topic, key, value, headers, partition=partition)

    def _last_on_topic(self, partition: int) -> int:
        """The source offset of the last dead letter in `partition` (-1 if none)."""
        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(
            bootstrap_servers=self.s.bootstrap,
            enable_auto_commit=False,
            consumer_timeout_ms=2000,
            **self.s.kafka_client_config(),
        )
        try:
            tp = TopicPartition(self.s.dlq_topic, partition)
            consumer.assign([tp])
            consumer.seek_to_end(tp)
            end = consumer.position(tp)
            if not end:
                return -1
            consumer.seek(tp, end - 1)
            for message in consumer:
                headers = dict(message.headers or [])
                if headers.get("source_topic", b"").decode() == self.s.events_topic:
                    return int(headers.get("source_offset", b"-1"))
                break
            return -1
        finally:
            consumer.close()
