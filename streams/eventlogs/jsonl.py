"""Read JSON Lines (plain or gzip): each non-blank line's bytes with its line number.

Decoding and validation are the core's boundary's (streams/core/boundary.py), so a line
is judged exactly as the worker judges a message.
"""

from __future__ import annotations

from collections.abc import Iterator

from streams.contract.events import DossierEvent, InvalidEvent, decode_event
from streams.eventlogs.logs import LogFormatError, open_log


def read_lines(path: str) -> Iterator[tuple[int, bytes]]:
    """Yield (line number, raw line) for every non-blank line."""
    with open_log(path) as stream:
        try:
            for number, line in enumerate(stream, start=1):
                if line.strip():
                    yield number, line
        except (OSError, EOFError) as err:  # truncated or corrupt gzip
            raise LogFormatError(f"cannot read: {err}", path=path) from None


def read_jsonl(path: str) -> Iterator[DossierEvent]:
    """Yield each line's event; a bad line is a LogFormatError naming the line and reason
    (what the publisher needs: it sends only events the contract accepts)."""
    for number, line in read_lines(path):
        try:
            yield decode_event(line)
        except InvalidEvent as err:
            raise LogFormatError(f"{err.reason}: {err.message}", path=path, line=number) from None
