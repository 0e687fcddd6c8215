"""Fixtures of the alerting tests: the integration tests' Kafka broker and fresh topics,
and Alertmanager rendered from deploy/alertmanager with local endpoints.

The broker fixtures live in tests/integration/conftest.py, which these tests reuse without
editing: that file is loaded by path under another module name (pytest owns the name
`conftest`) and its fixtures are re-exported from here, so pytest sees them in this
directory too.  tests/integration also goes on sys.path for its `services` (Alertmanager,
webhook and SMTP servers) and `workers` (produce) modules; `workers` imports `Topics`
from whichever module is `conftest`, hence the re-export of `Topics` as well.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

INTEGRATION = Path(__file__).resolve().parents[1] / "integration"
sys.path.insert(0, str(INTEGRATION))


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_integration = _load("integration_conftest", INTEGRATION / "conftest.py")
Topics = _integration.Topics
kafka_bootstrap = _integration.kafka_bootstrap
topics = _integration.topics

from alerting_support import render_config  # noqa: E402
from services import AlertmanagerServer, SmtpServer, WebhookReceiver  # noqa: E402


@pytest.fixture
def hooks() -> Iterator[WebhookReceiver]:
    """Stands in for every generic webhook of the config (ops-hooks:8080)."""
    w = WebhookReceiver()
    yield w
    w.stop()


@pytest.fixture
def zalo_sink() -> Iterator[WebhookReceiver]:
    """Stands in for the Zalo adapter where a test does not run it."""
    w = WebhookReceiver()
    yield w
    w.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    s = SmtpServer()
    yield s
    s.stop()


@pytest.fixture
def alertmanager(
    tmp_path: Path, hooks: WebhookReceiver, zalo_sink: WebhookReceiver, smtp: SmtpServer
) -> Iterator[AlertmanagerServer]:
    """A real Alertmanager on the rendered config: webhooks → `hooks`, Zalo → `zalo_sink`,
    mail → `smtp`, group waits of a second."""
    config = render_config(tmp_path / "config", hooks.url, zalo_sink.url, smtp.port)
    am = AlertmanagerServer(config, tmp_path / "am")
    yield am
    am.stop()
