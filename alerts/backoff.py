"""Exponential back-off delays, shared by the bridge and the Zalo adapter."""

from __future__ import annotations

import random
from collections.abc import Iterator


def backoff(
    initial: float, maximum: float, factor: float = 2.0, jitter: float = 0.2
) -> Iterator[float]:
    """initial, initial·factor, … capped at `maximum`, each within ±jitter so that clients
    restarted together do not retry in step."""
    delay = initial
    while True:
        yield min(maximum, delay * random.uniform(1 - jitter, 1 + jitter))
        delay = min(delay * factor, maximum)
