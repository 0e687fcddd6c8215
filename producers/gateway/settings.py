"""What one gateway process is told: where to listen, where to produce, what to allow."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from streams.core.policy import Bounds

DEFAULT_PORT: Final = 8088
DEFAULT_MAX_BODY: Final = 2 * 1024 * 1024
"""Bytes of one request body; more is a 413, refused before the body is read."""
MAX_BATCH: Final = 1000
"""Events in one batch request; more is a 413."""


@dataclass(frozen=True)
class GatewaySettings:
    token_file: str
    """Hashed tokens, each bound to one CloudEvents source (`dossierwatch ingest token`)."""
    bootstrap: str = "127.0.0.1:9092"
    topic: str = "dossier-events"
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    max_body: int = DEFAULT_MAX_BODY
    max_batch: int = MAX_BATCH
    produce_timeout: float = 10.0
    """Seconds the broker has to acknowledge every event of a request; then 503."""
    connect_timeout: float = 5.0
    """Seconds to reach the broker when (re)connecting; a request waits at most this."""
    retry_after: int = 5
    """Seconds a client is told to wait after a 503 (the `Retry-After` header)."""
    public_metrics: bool = False
    shutdown_timeout: float = 30.0
    """Seconds in-flight requests get to finish on SIGTERM/SIGINT."""
    bounds: Bounds = field(default_factory=Bounds)
    """The policy's bounds: the worker's boundary admits exactly what the gateway admits."""
    kafka_client_config: Mapping[str, Any] = field(default_factory=dict, repr=False)
    """kafka-python security keywords (`KafkaSecurity.kafka_kwargs()`)."""
