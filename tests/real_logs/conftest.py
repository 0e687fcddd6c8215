"""Locating the public event logs, which live outside the repository.

The logs are never copied here (licences, size): tests look in $DOSSIERWATCH_DATA,
else <repo>/../shared/data, and skip, saying where they looked, when a file is absent.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

EXPECTED_FIGURES = Path(__file__).with_name("expected_figures.json")


def data_dir() -> Path:
    env = os.environ.get("DOSSIERWATCH_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


def data_path(name: str) -> str:
    """The path of the public log `name`, or skip the calling test if it is absent."""
    path = data_dir() / name
    if not path.is_file():
        message = f"public log {name} not found in {path.parent} (set DOSSIERWATCH_DATA)"
        if os.environ.get("DOSSIERWATCH_REQUIRE_DATA"):
            pytest.fail(message + "; CI requires the public logs", pytrace=False)
        pytest.skip(message)
    return str(path)


@pytest.fixture(name="data_path")
def data_path_fixture() -> Callable[[str], str]:
    """`data_path(name)` for tests, so they need not import this conftest."""
    return data_path


@pytest.fixture(scope="session")
def expected_figures() -> dict[str, object]:
    """The figures computed by figures.py, independently of the production readers."""
    figures: dict[str, object] = json.loads(EXPECTED_FIGURES.read_text(encoding="utf-8"))
    return figures
