"""What an adapter has already sent, so that a retried notification reaches nobody twice.

Alertmanager retries a notification its receiver answered 502 (or did not answer in
time), and the retry carries the same alerts: each adapter names a message by the
notification and the recipient (`alerts.notification.notification_key`) and skips the
names it has sent.  A name is remembered for `ttl` seconds: longer than Alertmanager keeps
retrying one notification (until the group's next flush: group_interval, at most 30
minutes in deploy/alertmanager/alertmanager.yml) and shorter than the shortest
repeat_interval (1 hour), whose deliberate re-send of a standing breach must go out.

Given a path, the names also go to a file, one line "<expiry> <name>" appended and
fsynced after each send, and are read back at start: a restarted adapter remembers them.
Expired lines are dropped when the file is rewritten (write, then rename), which happens
when it holds twice as many lines as live names; `max_names` bounds memory and file
whatever the traffic, forgetting the names closest to expiry first.  A torn last line (a
crash mid-write) is skipped.

Two requests with the same name at once (Alertmanager gave up waiting and retried while
the first is still sending) take turns: `claim` holds the second until the first is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from enum import Enum
from pathlib import Path
from typing import TypeVar

import structlog

log = structlog.get_logger("dossierwatch.sent")

DEFAULT_TTL = 3000.0
"""50 minutes: over the 30-minute retry span, under the 1-hour repeat interval."""
MAX_NAMES = 100_000
"""About 10 MB of file at most (a name is a 64-character digest)."""
_COMPACT_FROM = 1000
"""Lines in the file before it is worth rewriting at all."""


class SentLog:
    def __init__(
        self,
        path: Path | None = None,
        *,
        ttl: float = DEFAULT_TTL,
        max_names: int = MAX_NAMES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if ttl <= 0 or max_names < 1:
            raise ValueError("the sent log needs a positive ttl and room for one name")
        self.path = path
        self.ttl = ttl
        self.max_names = max_names
        # Wall-clock time: an expiry written before a restart is read after it.
        self.clock = clock
        self._until: dict[str, float] = {}
        self._lines = 0
        self._claims: dict[str, tuple[asyncio.Lock, int]] = {}
        if path is not None:
            self._load(path)

    def __contains__(self, name: str) -> bool:
        until = self._until.get(name)
        return until is not None and until > self.clock()

    def __len__(self) -> int:
        now = self.clock()
        return sum(1 for until in self._until.values() if until > now)

    def add(self, name: str) -> None:
        """Remember `name` as sent (on disk before this returns, given a path)."""
        until = self.clock() + self.ttl
        self._until[name] = until
        self._bound()
        if self.path is None:
            return
        with open(self.path, "a", encoding="ascii") as out:
            out.write(f"{until:.0f} {name}\n")
            out.flush()
            os.fsync(out.fileno())
        self._lines += 1
        if self._lines >= _COMPACT_FROM and self._lines > 2 * len(self._until):
            self._rewrite()

    @contextlib.asynccontextmanager
    async def claim(self, name: str) -> AsyncIterator[bool]:
        """Hold `name` while sending it; yields False when it was sent already (then send
        nothing).  The caller calls `add(name)` once the message is out."""
        lock, users = self._claims.get(name) or (asyncio.Lock(), 0)
        self._claims[name] = (lock, users + 1)
        try:
            async with lock:
                yield name not in self
        finally:
            lock, users = self._claims[name]
            if users == 1:
                del self._claims[name]
            else:
                self._claims[name] = (lock, users - 1)

    def _bound(self) -> None:
        now = self.clock()
        if len(self._until) <= self.max_names:
            return
        self._until = {k: u for k, u in self._until.items() if u > now}
        if len(self._until) > self.max_names:
            keep = sorted(self._until.items(), key=lambda kv: kv[1])[-self.max_names :]
            log.warning("sent_log_full", forgotten=len(self._until) - len(keep))
            self._until = dict(keep)

    def _load(self, path: Path) -> None:
        try:
            text = path.read_text(encoding="ascii", errors="replace")
        except FileNotFoundError:
            return
        now = self.clock()
        for line in text.splitlines():
            until, _, name = line.partition(" ")
            try:
                expiry = float(until)
            except ValueError:
                continue  # a torn line
            if name and expiry > now:
                self._until[name] = max(expiry, self._until.get(name, 0.0))
        self._bound()
        self._rewrite()
        log.info("sent_log_loaded", path=str(path), names=len(self._until))

    def _rewrite(self) -> None:
        assert self.path is not None
        now = self.clock()
        self._until = {k: u for k, u in self._until.items() if u > now}
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="ascii") as out:
            out.writelines(f"{u:.0f} {k}\n" for k, u in self._until.items())
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)
        self._lines = len(self._until)


class Outcome(Enum):
    """How sending one notification to one person ended."""

    DONE = "done"
    """Sent (or held, or nothing to send): a retry sends nothing."""
    FAILED = "failed"
    """Cannot succeed by trying again (logged and counted); Alertmanager gets 200."""
    RETRY = "retry"
    """May succeed later: Alertmanager gets 502 and retries."""


NAME_CHARS = 24
"""Hex characters of a message's name after "dw-": 27 in all, within the 30-odd
characters SMS gateways commonly allow a client reference."""

P = TypeVar("P")


def message_name(notification: str, recipient: str) -> str:
    """One notification to one person: the sent log's name (and an SMS's {message_id})."""
    digest = hashlib.sha256(f"{notification}\x1f{recipient}".encode()).hexdigest()
    return "dw-" + digest[:NAME_CHARS]


async def send_each_once(
    sent: SentLog,
    notification: str,
    people: Iterable[tuple[str, P]],
    send: Callable[[P, str], Awaitable[Outcome]],
    on_duplicate: Callable[[], None],
) -> bool:
    """`send(person, name)` for each (key, person) that has not had this notification yet,
    remembering those done; False when a send may succeed on a retry."""
    retry = False
    for key, person in people:
        name = message_name(notification, key)
        async with sent.claim(name) as due:
            if not due:
                on_duplicate()
                continue
            outcome = await send(person, name)
            if outcome is Outcome.DONE:
                sent.add(name)
            retry = retry or outcome is Outcome.RETRY
    return not retry
