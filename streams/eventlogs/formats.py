"""Which reader a log file needs: by the name it has, or the format the user gives."""

from __future__ import annotations

from streams.eventlogs.logs import LogFormatError

FORMATS = ("jsonl", "xes", "csv")


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
        "cannot tell the format from the name; give --format jsonl|xes|csv", path=path
    )
