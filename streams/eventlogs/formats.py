"""Which reader a log file needs: by the name it has, or the format the user gives.

Besides the three log formats, every source adapter (streams/eventlogs/adapters) is a
format: a JSON Lines file of that source's payloads, one request body a line.  Those are
never guessed from a name (a `.jsonl` is CloudEvents): they are asked for by name.
"""

from __future__ import annotations

from streams.eventlogs.adapters import ADAPTERS
from streams.eventlogs.logs import LogFormatError

LOG_FORMATS = ("jsonl", "xes", "csv")
FORMATS = (*LOG_FORMATS, *ADAPTERS)


def guess_format(path: str) -> str:
    name = path.lower().removesuffix(".gz")
    for ext, fmt in (
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
        (".json", "jsonl"),
        (".xes", "xes"),
        (".csv", "csv"),
    ):
        if name.endswith(ext):
            return fmt
    raise LogFormatError(
        f"cannot tell the format from the name; give --format {'|'.join(FORMATS)}", path=path
    )
