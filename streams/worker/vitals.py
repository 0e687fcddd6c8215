"""Whether the worker is alive, said truthfully: the first part that dies (the agent, the
timer, the recovery) turns /health to 503 with the reason and stops the process with a
non-zero exit, so that a supervisor (systemd, Kubernetes, compose) restarts it."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger("dossierwatch.worker")

EXIT_AFTER = 3.0
"""Seconds a dead worker keeps answering /health 503 before it stops (a supervisor, or a
person, can read why); then it exits non-zero."""
EXIT_SOFTWARE = 70


class Vitals:
    """Whether the worker is alive; the first fatal error stops the process."""

    def __init__(self) -> None:
        self.fatal: str | None = None
        self.cause: BaseException | None = None
        """The error behind `fatal`: some say all the user needs in one line."""

    def die(self, part: str, err: BaseException) -> None:
        if self.fatal is not None:
            return
        self.cause = err
        self.fatal = f"{part} died: {type(err).__name__}: {err}"[:2000]
        log.critical("worker dead: stopping so that a supervisor restarts it", reason=self.fatal)
        loop = asyncio.get_event_loop()
        loop.call_later(EXIT_AFTER, os.kill, os.getpid(), signal.SIGTERM)
        # Should the graceful stop hang, the process still ends.  A daemon: once the
        # stop has ended the process, the timer must not hold it open for 20 s more.
        backstop = threading.Timer(EXIT_AFTER + 20, os._exit, (EXIT_SOFTWARE,))
        backstop.daemon = True
        backstop.start()

    def guard(
        self, part: str, body: Callable[[], Awaitable[None]]
    ) -> Callable[[], Awaitable[None]]:
        async def guarded() -> None:
            try:
                await body()
            except asyncio.CancelledError:
                raise  # a rebalance or a stop: Faust restarts or ends the task itself
            except Exception as err:
                self.die(part, err)
                raise

        return guarded
