"""The consumer's delivery race (streams/worker/delivering.py): inline when nothing waits,
raced as mode races it when the delivery must wait."""

from __future__ import annotations

import asyncio
import gc
import warnings
from typing import Any

import pytest

from streams.worker.delivering import EagerFirst


class Deliverer(EagerFirst):
    """The smallest service with the consumer's `wait_first`."""


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def tasks_made_by(action: Any) -> tuple[Any, int]:
    """What `action()` returns, and how many tasks were created meanwhile."""
    loop = asyncio.get_running_loop()
    made = 0
    factory = loop.get_task_factory()

    def counting(loop: asyncio.AbstractEventLoop, coro: Any, **kw: Any) -> asyncio.Task[Any]:
        nonlocal made
        made += 1
        return asyncio.Task(coro, loop=loop, **kw)

    loop.set_task_factory(counting)
    try:
        return await action(), made
    finally:
        loop.set_task_factory(factory)


def test_a_delivery_that_does_not_wait_makes_no_task_and_gives_its_result() -> None:
    async def scenario() -> tuple[Any, int]:
        service = Deliverer()
        flow = asyncio.Event()

        async def deliver() -> str:
            return "put"

        return await tasks_made_by(lambda: service.wait_first(deliver(), flow.wait()))

    raced, made = run(scenario())
    assert (raced.results, raced.stopped, made) == (["put"], False, 0)


def test_the_coroutines_it_did_not_need_are_closed_without_a_never_awaited_warning() -> None:
    async def scenario() -> None:
        service = Deliverer()
        flow = asyncio.Event()

        async def deliver() -> None:
            return None

        await service.wait_first(deliver(), flow.wait())

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run(scenario())
        gc.collect()
    assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == []


def test_a_delivery_that_must_wait_goes_on_as_a_task_and_finishes_with_its_value() -> None:
    async def scenario() -> tuple[Any, list[str]]:
        service = Deliverer()
        flow = asyncio.Event()
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1)
        queue.put_nowait("full")
        steps: list[str] = []

        async def deliver() -> str:
            steps.append("before")
            await queue.put("record")  # waits: the queue is full
            steps.append("after")
            return "put"

        async def drain_soon() -> None:
            await asyncio.sleep(0.01)
            steps.append(queue.get_nowait())

        drainer = asyncio.ensure_future(drain_soon())
        raced = await service.wait_first(deliver(), flow.wait())
        await drainer
        return raced, [*steps, queue.get_nowait()]

    raced, steps = run(scenario())
    assert raced.results == ["put"]
    assert steps == ["before", "full", "after", "record"]


def test_a_waiting_delivery_is_cancelled_where_it_waits_when_the_flow_stops_first() -> None:
    async def scenario() -> tuple[Any, list[str], int]:
        service = Deliverer()
        suspended = asyncio.Event()
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1)
        queue.put_nowait("full")
        seen: list[str] = []

        async def deliver() -> None:
            try:
                await queue.put("record")
            except asyncio.CancelledError:
                seen.append("cancelled while waiting")
                raise

        async def suspend_soon() -> None:
            await asyncio.sleep(0.01)
            suspended.set()

        suspender = asyncio.ensure_future(suspend_soon())
        raced = await service.wait_first(deliver(), suspended.wait())
        await suspender
        await asyncio.sleep(0)  # the cancelled delivery's last step
        return raced, seen, queue.qsize()

    raced, seen, size = run(scenario())
    assert raced.results == [True]  # the suspension's Event.wait() won
    assert (seen, size) == (["cancelled while waiting"], 1)


@pytest.mark.parametrize("waits", [False, True], ids=["at once", "after waiting"])
def test_a_delivery_that_fails_raises_its_error(waits: bool) -> None:
    """At once (inline) or after waiting (as the resumed task), the error reaches the caller."""

    async def scenario() -> None:
        service = Deliverer()
        flow = asyncio.Event()

        async def deliver() -> None:
            if waits:
                await asyncio.sleep(0)
            raise LookupError("no callback for this partition")

        await service.wait_first(deliver(), flow.wait())

    with pytest.raises(LookupError, match="no callback"):
        run(scenario())


def test_a_stopped_service_races_as_mode_does_and_reports_stopped() -> None:
    async def scenario() -> Any:
        service = Deliverer()
        service._stopped.set()
        flow = asyncio.Event()

        async def deliver() -> str:
            return "put"

        return await service.wait_first(deliver(), flow.wait())

    assert run(scenario()).stopped is True
