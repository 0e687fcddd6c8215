"""The integration tests' broker and topics, for the dashboard tests.

tests/integration/conftest.py is loaded by path under another module name (two modules
named `conftest` would collide), and its fixtures and `Topics` are re-exported: the
integration helpers (`workers.py`) import `Topics` from whichever `conftest` is loaded.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

INTEGRATION = Path(__file__).parents[1] / "integration"
sys.path.insert(0, str(INTEGRATION))

_spec = importlib.util.spec_from_file_location(
    "dossierwatch_integration_conftest", INTEGRATION / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_integration = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _integration
_spec.loader.exec_module(_integration)

Topics = _integration.Topics
kafka_bootstrap = _integration.kafka_bootstrap
topics = _integration.topics


@pytest.fixture
def signed_in_worker(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Any]:
    """A worker with no token file, for the browser tests: the sign-in link it prints at
    start signs the browser in, as a newcomer's first run does."""
    from workers import WorkerProcess  # imports this conftest's Topics: not at load time

    w = WorkerProcess(
        kafka_bootstrap,
        topics,
        tmp_path / "w",
        app_id=f"{request.module.__name__}-{topics.prefix}",
        log=tmp_path / "w.log",
        token_file=False,
    )
    try:
        yield w
    finally:
        w.stop()
