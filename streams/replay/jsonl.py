"""Read CloudEvents from JSON Lines (plain or gzip), one validated event per line."""

from __future__ import annotations

from collections.abc import Iterator

from streams.core.events import DossierEvent, InvalidEvent, decode_event
from streams.replay.logs import LogFormatError, open_log


def read_jsonl(
    path: str, *, skip_invalid: bool = False, rejected: list[tuple[int, InvalidEvent]] | None = None
) -> Iterator[DossierEvent]:
    """Yield each line's event; a bad line is a LogFormatError naming the line and reason.

    With `skip_invalid`, bad lines are appended to `rejected` (line, error) instead.
    """
    with open_log(path) as stream:
        try:
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                try:
                    yield decode_event(line)
                except InvalidEvent as err:
                    if not skip_invalid:
                        raise LogFormatError(
                            f"{err.reason}: {err.message}", path=path, line=number
                        ) from None
                    if rejected is not None:
                        rejected.append((number, err))
        except (OSError, EOFError) as err:  # truncated or corrupt gzip
            raise LogFormatError(f"cannot read: {err}", path=path) from None
