"""The gateway's Prometheus metrics, in a registry of its own (bounded labels only)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from streams.core.boundary import BAD_TICK, REASONS

REQUEST_REASONS = frozenset(
    {
        "unauthorized",
        "forbidden",
        "forbidden_source",
        "unsupported_media_type",
        "too_large",
        "too_many_events",
        "not_a_batch",
        "empty_batch",
        "invalid_events",
        "unavailable",
    }
)
"""Why a whole request was refused (the `reason` label of requests_rejected_total)."""


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "dossierwatch_ingest_requests",
            "Ingest HTTP requests answered, by status code",
            ["status"],
            registry=r,
        )
        self.requests_rejected = Counter(
            "dossierwatch_ingest_requests_rejected",
            "Ingest requests refused as a whole, by reason",
            ["reason"],
            registry=r,
        )
        self.events_accepted = Counter(
            "dossierwatch_ingest_events_accepted",
            "Events acknowledged by Kafka and answered 202",
            registry=r,
        )
        self.events_rejected = Counter(
            "dossierwatch_ingest_events_rejected",
            "Events the boundary refused (their request answered 400), by reason",
            ["reason"],
            registry=r,
        )
        self.produce_seconds = Histogram(
            "dossierwatch_ingest_produce_seconds",
            "From handing a request's events to the producer to the last acknowledgement",
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=r,
        )

        # Every label value present from the start, at 0, so that rates begin at once.
        for reason in REQUEST_REASONS:
            self.requests_rejected.labels(reason)
        for reason in REASONS - {BAD_TICK}:
            self.events_rejected.labels(reason)

    def render(self) -> bytes:
        return generate_latest(self.registry)
