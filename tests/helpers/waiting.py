"""Waiting on a live process (a worker, the demo, a browser) for a condition to hold."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def eventually(check: Callable[[], Any], timeout: float = 60.0, every: float = 0.3) -> Any:
    """`check()`'s first truthy answer, asked every `every` seconds for up to `timeout`;
    an AssertionError with the last answer if none came."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"not true within {timeout}s: {last!r}")
