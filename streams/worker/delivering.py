"""Handing a fetched record to its stream or changelog queue without four tasks per record.

Faust's consumer delivers every record it fetched with
`await self.wait_first(callback(message), self.suspend_flow.wait())`: the delivery races
a rebalance's suspension, so that a delivery stuck on a full queue is given up when the
flow stops.  mode's `wait_first` makes a task of each coroutine plus two for the service's
stopped and crashed events, waits for the first and cancels the other three — per record.
Profiled on a worker restoring 400,000 dossiers from the changelog, that race took 26 % of
the event loop, more than the restore itself (20 %).

Almost every delivery finishes without waiting (the queue has room, its lock is free), so
`EagerFirst` runs the first coroutine's first step inline, as the first of Faust's tasks
would have run first anyway; if it finished there is nothing to race and no task is made.
Only a delivery that must wait is raced as before, resumed as a task from where it
stopped.  The result is the one Faust's `wait_first` gives the same coroutine."""

from __future__ import annotations

import types
from collections.abc import Coroutine, Generator
from typing import Any

from mode import Service
from mode.services import WaitResults

_STARTED = object()


class Resumed(Coroutine[Any, Any, Any]):
    """A coroutine already run up to `pending` (what it awaits), to go on as a task.

    The task's first step gets `pending` back, so it waits on what the coroutine waits
    on; every later step goes to the coroutine itself."""

    def __init__(self, coro: Coroutine[Any, Any, Any], pending: Any) -> None:
        self._coro = coro
        self._pending = pending

    def send(self, value: Any) -> Any:
        pending, self._pending = self._pending, _STARTED
        if pending is not _STARTED:
            return pending
        return self._coro.send(value)

    def throw(self, *args: Any) -> Any:
        self._pending = _STARTED
        return self._coro.throw(*args)

    def close(self) -> None:
        self._coro.close()

    def __await__(self) -> Generator[Any, None, Any]:
        return (yield from self._coro.__await__())  # pragma: no cover - tasks send


class EagerFirst(Service):
    """A mode service whose `wait_first` runs a leading coroutine inline until it waits."""

    async def wait_first(self, *coros: Any, timeout: Any = None) -> WaitResults:
        first = coros[0] if coros else None
        if (
            timeout is not None
            or not isinstance(first, types.CoroutineType)
            or self._stopped.is_set()
            or self._crashed.is_set()
        ):
            return await super().wait_first(*coros, timeout=timeout)
        try:
            pending = first.send(None)
        except StopIteration as finished:
            _close_unstarted(coros[1:])
            return WaitResults([first], [finished.value], False)
        except BaseException:
            _close_unstarted(coros[1:])
            raise
        resumed = Resumed(first, pending)
        raced = await super().wait_first(resumed, *coros[1:])
        winners = [first if winner is resumed else winner for winner in raced.done]
        return WaitResults(winners, raced.results, raced.stopped)


def _close_unstarted(coros: tuple[Any, ...]) -> None:
    """Close the race's other coroutines, never started: closing one says it was not
    forgotten (no "never awaited" warning)."""
    for coro in coros:
        if isinstance(coro, types.CoroutineType):
            coro.close()
