"""Shared test set-up: the tests folder is importable (tests/helpers)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
