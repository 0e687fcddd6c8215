"""The monitoring tests reuse tests/integration's broker fixtures and helpers.

tests/integration keeps its fixtures (`kafka_bootstrap`, `topics`) in its conftest.py,
and its workers.py does `from conftest import Topics`.  Without __init__.py files pytest
imports every conftest.py as the one module "conftest", each replacing the previous, so
here the name "conftest" means this file, not that one.  Instead:

* tests/ is on sys.path (tests/conftest.py), so tests/integration is the namespace
  package `integration`: its conftest.py is imported as `integration.conftest`, an
  ordinary module of its own name that pytest does not treat as a conftest;
* `integration.workers` is imported while "conftest" names that module, so its
  `from conftest import Topics` finds the real thing; test modules then import
  `integration.workers` and `integration.services` as already loaded;
* the fixtures are re-exported below, which makes pytest register them for this folder.

Nothing in tests/integration is copied or changed.
"""

from __future__ import annotations

import sys

import integration.conftest as broker

_this_conftest = sys.modules.get("conftest")
sys.modules["conftest"] = broker
try:
    import integration.workers  # noqa: F401  (imported for its `from conftest import Topics`)
finally:
    if _this_conftest is None:
        del sys.modules["conftest"]
    else:
        sys.modules["conftest"] = _this_conftest

kafka_bootstrap = broker.kafka_bootstrap
topics = broker.topics
