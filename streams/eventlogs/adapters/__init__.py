"""Source adapters: pure functions from a handling system's own payloads to contract
events (streams/contract/events.py), one module per source, named in `ADAPTERS`.

    adapt("dvcqg", body) -> list[DossierEvent]

Whatever cannot be mapped — a missing field, an unknown status code, an impossible date,
a time in the wrong format — raises `InvalidPayload` (field, value, reason), never a
guess.  The HTTP gateway calls `adapt` per request body; `replay`/`publish --format
NAME` call it per line of a JSON Lines file (`read_adapted`).  The mapping of each
source, its decisions and the public sources it follows: docs/adapters.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final

import msgspec

from streams.contract.events import DossierEvent
from streams.eventlogs.adapters import bhxh, dvcqg, opencps
from streams.eventlogs.adapters.common import InvalidPayload
from streams.eventlogs.jsonl import read_lines
from streams.eventlogs.logs import LogFormatError

__all__ = [
    "ADAPTERS",
    "MAX_PAYLOAD_BYTES",
    "Adapter",
    "InvalidPayload",
    "adapt",
    "adapt_bytes",
    "adapted_lines",
    "read_adapted",
]

Adapter = Callable[[object, str], list[DossierEvent]]
"""(decoded JSON payload, CloudEvents source) -> the events it states."""

ADAPTERS: Final[dict[str, Adapter]] = {
    "dvcqg": dvcqg.adapt,
    "opencps": opencps.adapt,
    "bhxh": bhxh.adapt,
}

MAX_PAYLOAD_BYTES: Final = 4 * 1024 * 1024
"""A sync body carries a batch of records with their document lists: far larger than
one event, still bounded."""

_json = msgspec.json.Decoder()


def adapt(name: str, payload: object, *, source: str | None = None) -> list[DossierEvent]:
    """The events one decoded payload of source `name` states, in time order per dossier.

    `source` is the CloudEvents source of the events (default: `name`); with the event
    ids (derived from content) it identifies them, so the same payload sent again gives
    the same events.  Raises `InvalidPayload` for anything that cannot be mapped."""
    adapter = ADAPTERS.get(name)
    if adapter is None:
        raise InvalidPayload(
            "unknown_source", "adapter", name, f"known: {', '.join(sorted(ADAPTERS))}"
        )
    return adapter(payload, source or name)


def adapt_bytes(name: str, raw: bytes, *, source: str | None = None) -> list[DossierEvent]:
    """`adapt` over a raw JSON body (size and JSON checked here)."""
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise InvalidPayload(
            "too_large", "", f"{len(raw)} bytes", f"limit {MAX_PAYLOAD_BYTES} bytes"
        )
    try:
        payload = _json.decode(raw)
    except msgspec.DecodeError as err:
        start = raw[:40].decode("utf-8", "replace")
        raise InvalidPayload("not_json", "", start, str(err)) from None
    return adapt(name, payload, source=source)


def adapted_lines(
    path: str, name: str, *, source: str | None = None
) -> Iterator[tuple[int, list[DossierEvent] | InvalidPayload]]:
    """Per non-blank line of a JSON Lines file (one request body a line, in the order
    sent): its number and its events, or the `InvalidPayload` it raised."""
    for number, line in read_lines(path):
        try:
            yield number, adapt_bytes(name, line, source=source)
        except InvalidPayload as err:
            yield number, err


def read_adapted(path: str, name: str, *, source: str | None = None) -> Iterator[DossierEvent]:
    """Every event of the file in line order; a bad line is a LogFormatError naming the
    line, the field and the value."""
    for number, got in adapted_lines(path, name, source=source):
        if isinstance(got, InvalidPayload):
            raise LogFormatError(str(got), path=path, line=number)
        yield from got
