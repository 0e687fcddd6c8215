"""Serving the gateway: connect, listen, and on SIGTERM/SIGINT shut down in order.

aiohttp's `run_app` does the order: the listening socket closes first (no new
requests), in-flight requests get `shutdown_timeout` seconds to finish (each waits for
its own acknowledgements), then the application's cleanup flushes and closes the
producer.
"""

from __future__ import annotations

import structlog
from aiohttp import web

from producers.gateway.app import create_app
from producers.gateway.auth import SourceTokens
from producers.gateway.settings import GatewaySettings
from producers.gateway.sink import KafkaSink, Unavailable

log = structlog.get_logger("dossierwatch.ingest")


def serve(settings: GatewaySettings, tokens: SourceTokens) -> None:
    """Serve until SIGTERM or SIGINT.  Raises KafkaSecurityError (the credentials) and
    TopicMissing before listening; a broker that does not answer yet is not fatal: the
    gateway answers 503 until it does."""
    sink = KafkaSink(settings)
    try:
        sink.connect()
    except Unavailable as err:
        log.warning("ingest_kafka_unavailable", error=str(err), hint="answering 503 until it is")
    app = create_app(settings, tokens, sink)
    log.info(
        "ingest_started",
        host=settings.host,
        port=settings.port,
        topic=settings.topic,
        bootstrap=settings.bootstrap,
        tokens=len(tokens),
        public_metrics=settings.public_metrics,
    )
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        shutdown_timeout=settings.shutdown_timeout,
        handle_signals=True,
        print=None,
        access_log=None,
    )
    log.info("ingest_stopped")
