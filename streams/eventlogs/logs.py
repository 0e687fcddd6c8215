"""Format-neutral records shared by the event-log readers (XES, CSV).

A reader turns a file into `LogTrace` records, one case at a time, so a replay never
needs the whole log in memory.  Every problem with the input file is a
`LogFormatError` whose text is one line that says where the problem is, because
these files run to millions of lines and "invalid file" alone is useless.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from typing import BinaryIO, cast

from streams.contract.errors import EventLogError

GZIP_MAGIC = b"\x1f\x8b"


class LogFormatError(EventLogError):
    """A bad input file; `str()` is one line naming the position.

    The form is `path:line: message` (or `path:line:column: message` when the column
    is known, or `path: message` when no line applies), the convention editors and
    terminals already recognise.  `offset` is the 1-based column on that line.
    """

    def __init__(
        self, message: str, *, path: str, line: int | None = None, offset: int | None = None
    ) -> None:
        # Values quoted from the file may hold newlines; the one-line promise matters
        # more than reproducing them exactly.
        self.message = " ".join(message.split())
        self.path = path
        self.line = line
        self.offset = offset
        super().__init__(self._render())

    def _render(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.message}"
        if self.offset is None:
            return f"{self.path}:{self.line}: {self.message}"
        return f"{self.path}:{self.line}:{self.offset}: {self.message}"


@dataclass(frozen=True, slots=True)
class LogTrace:
    """One case of an event log: its attributes and its events in file order."""

    case_id: str
    attributes: dict[str, object]
    """Trace-level attributes, typed: str, int, float, bool or timezone-aware datetime."""
    events: list[dict[str, object]]
    """The events in file order, each a dict of typed attributes keyed as in the file."""
    line: int
    """The file line where the trace starts, for error messages downstream."""


def open_log(path: str) -> BinaryIO:
    """Open `path` for binary reading, transparently decompressing gzip.

    Gzip is recognised by its magic bytes rather than the name: logs get renamed,
    and a `.xes` that is really gzip (or the reverse) should still read.
    """
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == GZIP_MAGIC:
        # GzipFile is a BufferedIOBase, which typeshed does not declare as BinaryIO,
        # although it offers every method a reader here uses.
        return cast(BinaryIO, gzip.open(path, "rb"))
    return open(path, "rb")
