"""Events as JSON Lines: one compact JSON object per line, UTF-8."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import BinaryIO, TextIO, cast

import msgspec

__all__ = ["write_jsonl"]

_encoder = msgspec.json.Encoder()


def _is_text(out: TextIO | BinaryIO) -> bool:
    # TextIO is only a typing protocol; real text streams derive from TextIOBase or at
    # least carry an encoding (binary buffers have none).
    return isinstance(out, io.TextIOBase) or hasattr(out, "encoding")


def write_jsonl(
    events: Iterable[Mapping[str, object]], out: TextIO | BinaryIO, *, flush: bool = False
) -> int:
    """Write each event as one line to a text or binary stream; return how many.

    `flush=True` flushes after every line, for a paced stream piped into another process.
    """
    text = _is_text(out)
    buf = bytearray()
    count = 0
    for event in events:
        _encoder.encode_into(event, buf)
        buf += b"\n"
        if text:
            cast(TextIO, out).write(buf.decode())
        else:
            cast(BinaryIO, out).write(buf)
        if flush:
            out.flush()
        count += 1
    return count
